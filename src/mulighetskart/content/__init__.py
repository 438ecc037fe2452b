"""Content: the declarative model, safe loading with positions, and one-pass validation."""

from .model import Content
from .validate import Loaded, load_content

__all__ = ["Content", "Loaded", "load_content"]
