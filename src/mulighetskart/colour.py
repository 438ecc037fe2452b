"""Colour arithmetic every target shares: the WCAG 2.1 contrast ratio, and picking the text
colour that reads best on a fill."""

from __future__ import annotations


def luminance(colour: str) -> float:
    """Relative luminance of a #rrggbb colour (WCAG 2.1)."""
    channels = (int(colour[k : k + 2], 16) / 255 for k in (1, 3, 5))
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two #rrggbb colours, from 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def best_text(fill: str, *candidates: str) -> str:
    """The candidate text colour with the highest contrast on `fill`."""
    return max(candidates, key=lambda text: contrast(text, fill))
