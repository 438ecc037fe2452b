"""Axis-parallel rectangles in millimetres: what the map's layout and its router measure with."""

from __future__ import annotations

from dataclasses import dataclass

EPS = 1e-6


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def shift(self, dx: float, dy: float) -> Rect:
        return Rect(self.x + dx, self.y + dy, self.w, self.h)

    def grow(self, d: float) -> Rect:
        return Rect(self.x - d, self.y - d, self.w + 2 * d, self.h + 2 * d)

    def overlaps(self, other: Rect, tol: float = EPS) -> bool:
        """True when the interiors intersect (touching edges do not count)."""
        return self.x < other.right - tol and other.x < self.right - tol and self.y < other.bottom - tol and other.y < self.bottom - tol

    def contains(self, other: Rect, tol: float = EPS) -> bool:
        return other.x >= self.x - tol and other.y >= self.y - tol and other.right <= self.right + tol and other.bottom <= self.bottom + tol

    def crossed_by(self, a: tuple[float, float], b: tuple[float, float], tol: float = EPS) -> bool:
        """True when the axis-parallel segment a–b runs through the interior (not just along an edge)."""
        (x1, y1), (x2, y2) = a, b
        lo_x, hi_x, lo_y, hi_y = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
        inside_x = self.x + tol < hi_x and lo_x < self.right - tol if hi_x > lo_x else self.x + tol < lo_x < self.right - tol
        inside_y = self.y + tol < hi_y and lo_y < self.bottom - tol if hi_y > lo_y else self.y + tol < lo_y < self.bottom - tol
        return inside_x and inside_y
