"""Orthogonal routing of the map's connectors through the gutters between boxes: pure
geometry on rectangles and points (layout/map.py decides which connectors to draw)."""

from __future__ import annotations

import copy
import functools
import heapq
import itertools
import math
from bisect import bisect_left, bisect_right
from collections.abc import Mapping

from .geometry import Rect


def transitive_reduction(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop a→c when c can be reached from a through other drawn connectors."""
    succ: dict[str, set[str]] = {}
    for a, b in pairs:
        succ.setdefault(a, set()).add(b)

    def reaches(start: str, goal: str, skip: tuple[str, str]) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            for nxt in sorted(succ.get(node, ())):
                if (node, nxt) == skip or nxt in seen:
                    continue
                if nxt == goal:
                    return True
                seen.add(nxt)
                todo.append(nxt)
        return False

    return [pair for pair in pairs if not reaches(pair[0], pair[1], pair)]


def _side(a: Rect, b: Rect) -> tuple[str, str]:
    """Leave a on the side facing b, enter b on the side facing back: rightwards along the
    reading direction when b lies ahead, else down (or up) into b's row."""
    if b.x >= a.right:
        return "right", "left"
    if b.y >= a.bottom:
        return "bottom", "top"
    if b.bottom <= a.y:
        return "top", "bottom"
    return "left", "right"


def ports(pairs: list[tuple[str, str]], rects: Mapping[str, Rect], c: float) -> dict:
    """(port, stub) at both ends of each connector.

    Connectors leaving by the same side of a box are spread along it, ordered by where they
    go, so each can be followed from its start; connectors arriving by the same side share
    one arrowhead. The stub lies `c` outside the box, on the grid of gutter lines the router
    follows.
    """
    uses: dict[tuple[str, str], list] = {}
    for pair in pairs:
        ra, rb = rects[pair[0]], rects[pair[1]]
        sa, sb = _side(ra, rb)
        uses.setdefault((pair[0], sa), []).append((_along(sa, rb), pair, 0))
        uses.setdefault((pair[1], sb), []).append((_along(sb, ra), pair, 1))
    ends: dict[tuple[tuple[str, str], int], tuple] = {}
    for (bid, side), items in uses.items():
        leaving = sorted(i for i in items if i[2] == 0)
        for k, (_, pair, end) in enumerate(leaving):
            ends[(pair, end)] = _port(rects[bid], side, (k + 1) / (len(leaving) + 1), c)
        for _, pair, end in items:
            if end == 1:  # arrivals share one arrowhead per side: the lines merge into it
                ends[(pair, end)] = _port(rects[bid], side, 0.5, c)
    return {pair: (ends[(pair, 0)], ends[(pair, 1)]) for pair in pairs}


def _along(side: str, other: Rect) -> float:
    return other.cy if side in ("left", "right") else other.cx


def _port(r: Rect, side: str, t: float, c: float):
    t = 0.25 + 0.5 * t  # keep ports off the rounded corners
    if side == "right":
        y = r.y + r.h * t
        return (r.right, y), (r.right + c, y)
    if side == "left":
        y = r.y + r.h * t
        return (r.x, y), (r.x - c, y)
    x = r.x + r.w * t
    return ((x, r.bottom), (x, r.bottom + c)) if side == "bottom" else ((x, r.y), (x, r.y - c))


def _dedupe(values: set[float]) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > 1e-6:
            out.append(v)
    return out


def _snapped(lines: set[float], kept: set[float], snap: float) -> list[float]:
    """The grid lines, each run of lines less than `snap` apart made one: the `kept` lines
    among them (stubs: routes start there), else the middle of the run."""
    if snap <= 0:
        return _dedupe(lines | kept)
    out: list[float] = []
    run: list[float] = []
    for v in [*sorted(lines | kept), math.inf]:
        if run and v - run[0] >= snap:
            stubs = [x for x in run if x in kept]
            out += stubs or [(run[0] + run[-1]) / 2]
            run = []
        run.append(v)
    return _dedupe(set(out))


SHARED_COST = 0.5  # extra cost per mm of running along another route (to another target)


class Grid:
    """Orthogonal routing along the gutters: A* over the lines that keep `clearance` from every
    obstacle (box, frame, label), with a penalty per bend so routes stay simple."""

    BEND = 6.0  # mm of detour a bend is worth
    WINDOW = 40.0  # mm around the two ends searched first (routes are local; big sheets stay fast)

    def __init__(self, xs: list[float], ys: list[float], blocks: list[Rect], shared: float = SHARED_COST, crossing: float = 0.0,
                 meeting: float = 0.0):
        self.xs, self.ys = xs, ys
        self.shared, self.crossing, self.meeting = shared, crossing, meeting
        self._forget()
        self.h_blocked = self._blocked(ys, [(r.y, r.bottom, r.x, r.right) for r in blocks])
        self.v_blocked = self._blocked(xs, [(r.x, r.right, r.y, r.bottom) for r in blocks])

    def _forget(self) -> None:
        """No routes laid yet."""
        self.used: list[set[str] | None] = [None] * (len(self.xs) * len(self.ys) * 2)  # grid step (see _step) -> the targets of the routes along it
        self.touched = [0.0] * (len(self.xs) * len(self.ys))  # grid point (i * ny + j) -> weight of the routes through it
        self.through = ([0.0] * len(self.touched), [0.0] * len(self.touched))  # grid point -> weight of the routes passing straight along x, along y

    def fresh(self, shared: float, crossing: float, meeting: float) -> Grid:
        """The same grid with no routes laid and these costs: what it worked out about its gutters is kept."""
        self._links, self._parts  # noqa: B018 - worked out here, so every fresh copy shares them
        grid = copy.copy(self)
        grid.shared, grid.crossing, grid.meeting = shared, crossing, meeting
        grid._forget()
        return grid

    @classmethod
    def around(cls, obstacles: list[Rect], clearance: float, bounds: Rect, stubs: list[tuple[float, float]], shared: float = SHARED_COST,
               crossing: float = 0.0, meeting: float = 0.0, snap: float = 0.0) -> Grid:
        """The grid of lines `clearance` from the obstacles and through the stubs. With `snap`,
        lines closer than that together are one (a stub's, else the middle one), and lines may
        come that much closer to an obstacle: routes do not step across hairbreadth gaps."""
        xs = {bounds.x + clearance, bounds.right - clearance}
        ys = {bounds.y + clearance, bounds.bottom - clearance}
        for r in obstacles:
            xs.update((r.x - clearance, r.right + clearance))
            ys.update((r.y - clearance, r.bottom + clearance))
        # grown a hair less than the clearance, so lines exactly `clearance` away stay open
        blocks = [r.grow(clearance - snap - 1e-4) for r in obstacles]
        inside = bounds.grow(-clearance + 1e-6)  # routes stay within the bounds, whatever lies beyond
        xs = _snapped({x for x in xs if inside.x <= x <= inside.right}, {x for x, _ in stubs if inside.x <= x <= inside.right}, snap)
        ys = _snapped({y for y in ys if inside.y <= y <= inside.bottom}, {y for _, y in stubs if inside.y <= y <= inside.bottom}, snap)
        return cls(xs, ys, blocks, shared, crossing, meeting)

    @staticmethod
    def _blocked(lines: list[float], spans: list[tuple[float, float, float, float]]) -> list[tuple[list[float], list[float]]]:
        """Per grid line, the merged intervals along it that obstacles cover: (starts, ends)."""
        per_line: list[list[tuple[float, float]]] = [[] for _ in lines]
        for across_lo, across_hi, lo, hi in spans:
            for k in range(bisect_right(lines, across_lo), bisect_left(lines, across_hi)):
                per_line[k].append((lo, hi))
        merged = []
        for intervals in per_line:
            starts: list[float] = []
            ends: list[float] = []
            for lo, hi in sorted(intervals):
                if ends and lo <= ends[-1]:
                    ends[-1] = max(ends[-1], hi)
                else:
                    starts.append(lo)
                    ends.append(hi)
            merged.append((starts, ends))
        return merged

    def search(self, start: tuple[float, float], goal: tuple[float, float], target: str = "", weight: float = 1.0,
               within: Rect | None = None) -> list[tuple[float, float]] | None:
        """A route from start to goal; stretches used by routes to other targets cost extra, so
        lines only share a gutter where they must (routes to one target may merge). With a
        `crossing` cost, passing straight across a route costs that times the route's `weight`;
        with a `meeting` cost, so does each grid point it shares with one. `within`: search there
        only (else near the two ends first, then everywhere)."""
        lo_x, hi_x = sorted((start[0], goal[0]))
        lo_y, hi_y = sorted((start[1], goal[1]))
        near = Rect(lo_x, lo_y, hi_x - lo_x, hi_y - lo_y).grow(self.WINDOW)
        ends = [(_index(self.xs, x), _index(self.ys, y)) for x, y in (start, goal)]
        if any(i is None or j is None for i, j in ends) or len({self._parts[i * len(self.ys) + j] for i, j in ends}) > 1:
            return None  # no gutter joins them: no search need learn that by visiting every point it can reach
        path = self._search(start, goal, within, target) if within else self._search(start, goal, near, target) or self._search(start, goal, None, target)
        if path:
            self._mark(path, target, weight)
        return path

    def cost(self, path: list[tuple[float, float]], target: str = "") -> float:
        """What `search` counts for a path it found (lengths, bends, shared gutters, crossings,
        meeting points): to compare ways between different ends."""
        ny = len(self.ys)
        nodes = [(_index(self.xs, x), _index(self.ys, y)) for x, y in path]
        total, d = 0.0, -1
        for (i0, j0), (i1, j1) in itertools.pairwise(nodes):
            nd = (0 if i1 > i0 else 1) if j0 == j1 else (2 if j1 > j0 else 3)
            length = abs(self.xs[i1] - self.xs[i0]) + abs(self.ys[j1] - self.ys[j0])
            shared = self.used[_step(min(i0, i1), min(j0, j1), ny, i0 == i1)]
            if shared and (len(shared) > 1 or target not in shared):
                length *= 1 + self.shared
            total += length + self.meeting * self.touched[i1 * ny + j1] + (self.BEND if d not in (-1, nd) else 0.0)
            if d == nd and self.crossing:
                total += self.crossing * self.through[1 if nd < 2 else 0][i0 * ny + j0]
            d = nd
        return total

    def lay(self, path: list[tuple[float, float]], target: str = "", weight: float = 1.0) -> None:
        """Lay a route `search` found and `unroute` took up again (search lays what it finds)."""
        self._mark(path, target, weight)

    def unroute(self, path: list[tuple[float, float]], target: str = "", weight: float = 1.0) -> None:
        """Forget a route `search` found, so it can be laid again around the others."""
        self._mark(path, target, -weight)

    def _mark(self, path: list[tuple[float, float]], target: str, weight: float) -> None:
        """Remember every grid step of the path as used by a route to `target`, the grid points
        it passes and those it passes straight through (path holds every grid point it passes);
        a negative weight forgets them."""
        ny = len(self.ys)
        nodes = [(_index(self.xs, x), _index(self.ys, y)) for x, y in path]
        for step in dict.fromkeys(_step(min(i0, i1), min(j0, j1), ny, i0 == i1) for (i0, j0), (i1, j1) in itertools.pairwise(nodes)):
            if weight > 0:
                self.used[step] = {*(self.used[step] or ()), target}
            else:
                self.used[step] = (self.used[step] or set()) - {target} or None
        for i, j in dict.fromkeys(nodes):
            self.touched[i * ny + j] += weight
        for (i0, j0), (i, j), (i1, j1) in zip(nodes, nodes[1:], nodes[2:], strict=False):
            if j0 == j == j1 or i0 == i == i1:
                self.through[0 if j0 == j else 1][i * ny + j] += weight

    @functools.cached_property
    def _open(self) -> list[bool]:
        """Per grid step (numbered as _step does, along x then along y): whether no obstacle covers it."""
        xs, ys, ny = self.xs, self.ys, len(self.ys)
        steps = [False] * (len(xs) * ny * 2)
        for vertical, across, blocked in ((False, xs, self.h_blocked), (True, ys, self.v_blocked)):
            for k, (starts, ends) in enumerate(blocked):
                for a in range(len(across) - 1):
                    lo, hi = across[a], across[a + 1]
                    c = bisect_left(starts, hi) - 1  # the last covered stretch starting before this step ends
                    if c < 0 or ends[c] <= lo:
                        steps[_step(k, a, ny, True) if vertical else _step(a, k, ny, False)] = True
        return steps

    @functools.cached_property
    def _links(self) -> list[tuple[tuple[int, int, int, int, int, float], ...]]:
        """Per grid point (i * ny + j): its open steps as (direction, i, j and number of the
        point it leads to, step number, length), in the order the search tries them."""
        xs, ys, ny, is_open = self.xs, self.ys, len(self.ys), self._open
        links = []
        for i in range(len(xs)):
            for j in range(ny):
                out = []
                for nd, ni, nj in ((0, i + 1, j), (1, i - 1, j), (2, i, j + 1), (3, i, j - 1)):
                    if not (0 <= ni < len(xs) and 0 <= nj < ny):
                        continue
                    if nd < 2:
                        a = min(i, ni)
                        step, length = (a * ny + j) * 2, xs[a + 1] - xs[a]
                    else:
                        a = min(j, nj)
                        step, length = (i * ny + a) * 2 + 1, ys[a + 1] - ys[a]
                    if is_open[step]:
                        out.append((nd, ni, nj, ni * ny + nj, step, length))
                links.append(tuple(out))
        return links

    @functools.cached_property
    def _parts(self) -> list[int]:
        """Per grid point (i * ny + j), which of the parts that open steps join it belongs to."""
        ny, nx, is_open = len(self.ys), len(self.xs), self._open
        part = [-1] * (nx * ny)
        for seed in range(nx * ny):
            if part[seed] < 0:
                part[seed], todo = seed, [seed]
                while todo:
                    i, j = divmod(todo.pop(), ny)
                    for step, other in (((i * ny + j) * 2, (i + 1) * ny + j), (((i - 1) * ny + j) * 2, (i - 1) * ny + j),
                                        ((i * ny + j) * 2 + 1, i * ny + j + 1), ((i * ny + j - 1) * 2 + 1, i * ny + j - 1)):
                        inside = 0 <= other < nx * ny and (step % 2 == 0 or other // ny == i)
                        if inside and 0 <= step < len(is_open) and is_open[step] and part[other] < 0:
                            part[other] = seed
                            todo.append(other)
        return part

    def _search(self, start, goal, window: Rect | None, target: str) -> list[tuple[float, float]] | None:
        """A* over (grid point, direction of arrival); keys are ints, (i * ny + j) * 5 + d + 1, so
        ties break as on the tuples (i, j, d)."""
        xs, ys, ny = self.xs, self.ys, len(self.ys)
        si, sj, gi, gj = _index(xs, start[0]), _index(ys, start[1]), _index(xs, goal[0]), _index(ys, goal[1])
        if None in (si, sj, gi, gj):
            return None
        i_lo, i_hi, j_lo, j_hi = self._bounds(window)
        links, used, bend, extra, inf = self._links, self.used, self.BEND, 1 + self.shared, math.inf
        crossing, (along_x, along_y) = self.crossing, self.through
        meeting, touched = self.meeting, self.touched
        gx, gy = xs[gi], ys[gj]
        hx = [abs(x - gx) for x in xs]
        hy = [abs(y - gy) for y in ys]

        def h(i: int, j: int) -> float:  # never more than what is left: distance, and a bend unless aligned
            dx, dy = hx[i], hy[j]
            return dx + dy + (bend if dx > 1e-9 and dy > 1e-9 else 0.0)

        start_key, goal_node = (si * ny + sj) * 5, gi * ny + gj
        frontier = [(h(si, sj), -0.0, start_key)]
        # by key, for the points reached only: the grid of a big sheet has millions (a list of
        # them all, made anew for each search, cost more than most searches)
        best = {start_key: 0.0}
        came: dict[int, int] = {}
        while frontier:
            _, neg_cost, key = heapq.heappop(frontier)
            cost = -neg_cost
            node, d = divmod(key, 5)
            d -= 1
            if node == goal_node:
                return self._path(came, key)
            if cost > best[key]:
                continue
            turn = cost + bend
            for nd, ni, nj, nnode, step, length in links[node]:
                if ni < i_lo or ni > i_hi or nj < j_lo or nj > j_hi:
                    continue
                shared = used[step]
                if shared and (target not in shared or len(shared) > 1):
                    length *= extra
                if d == nd:
                    new = cost + length + meeting * touched[nnode]
                    if crossing:  # straight on: across the routes passing straight the other way
                        new += crossing * (along_y if nd < 2 else along_x)[node]
                else:
                    new = (turn if d != -1 else cost) + length + meeting * touched[nnode]  # onto a point other routes pass: lines meeting may cross
                nkey = nnode * 5 + nd + 1
                if new < best.get(nkey, inf) - 1e-9:
                    best[nkey] = new
                    came[nkey] = key
                    dx, dy = hx[ni], hy[nj]  # h(ni, nj), inline: this line runs a million times a build
                    heapq.heappush(frontier, (new + dx + dy + (bend if dx > 1e-9 and dy > 1e-9 else 0.0), -new, nkey))  # ties: the deeper first
        return None

    def _bounds(self, window: Rect | None) -> tuple[int, int, int, int]:
        """Index ranges of the grid lines inside the window (all of them without one)."""
        if window is None:
            return 0, len(self.xs) - 1, 0, len(self.ys) - 1
        return (bisect_left(self.xs, window.x), bisect_right(self.xs, window.right) - 1,
                bisect_left(self.ys, window.y), bisect_right(self.ys, window.bottom) - 1)

    def _path(self, came: dict[int, int], key: int) -> list[tuple[float, float]]:
        ny = len(self.ys)
        points = [(self.xs[key // 5 // ny], self.ys[key // 5 % ny])]
        while key in came:
            key = came[key]
            points.append((self.xs[key // 5 // ny], self.ys[key // 5 % ny]))
        return points[::-1]


def _step(i: int, j: int, ny: int, vertical: bool) -> int:
    """The grid step from point (i, j) to (i + 1, j), or to (i, j + 1) when `vertical`, as an int."""
    return (i * ny + j) * 2 + vertical


def _index(coords: list[float], value: float) -> int | None:
    i = bisect_left(coords, value - 1e-6)
    return i if i < len(coords) and abs(coords[i] - value) <= 1e-6 else None


def simplify(points: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Drop repeated points and the middle of straight runs."""
    out: list[tuple[float, float]] = []
    for p in points:
        if out and _same(p, out[-1]):
            continue
        if len(out) >= 2 and (_same_x(out[-2], out[-1], p) or _same_y(out[-2], out[-1], p)):
            out[-1] = p
            continue
        out.append(p)
    return tuple(out)


def _same(a, b) -> bool:
    return abs(a[0] - b[0]) < 1e-9 and abs(a[1] - b[1]) < 1e-9


def _same_x(*pts) -> bool:
    return max(p[0] for p in pts) - min(p[0] for p in pts) < 1e-9


def _same_y(*pts) -> bool:
    return max(p[1] for p in pts) - min(p[1] for p in pts) < 1e-9
