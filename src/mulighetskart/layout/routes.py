"""Metro-style routes over the map layout: pure geometry, no drawing.

A persona's route visits the boxes of its offers in journey order (phase by phase; inside
a phase, in the order that makes the line shortest) as numbered stops. Given the map's
corridors (plan_routes with `corridors`), the line between two stops leaves a box from the
middle of the side facing the next stop and runs orthogonally through the gutters between
boxes (the connectors' router), never through a box it does not stop at nor over a text.
Without corridors it runs octilinear: straight, one 45° diagonal, straight again.

Where several routes share a stretch of track they run side by side, offset by a fixed gap,
and the side-by-side order of every stretch is chosen to keep crossings few (the
line-ordering step of transit-map renderers such as LOOM: round each station, two lines
passing it cross where one's two places separate the other's; orders are improved stretch by
stretch, each exactly). On corridor routes each leg is laid around the others (costs per
shared gutter, crossing and meeting point, corridors.share/crossing/meeting), then laid again
once around all of them: lines sharing gutters back and forth would cross where they meet and
part, so the lines of the map of all journeys keep apart where they can. Last, a few legs near
the drawn crossings are tried by other sides, each kept only if the drawn map crosses less.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from typing import Annotated, Literal

from ..content.fields import Doc, Loc, located
from ..theme import Colour
from .connectors import SHARED_COST, Grid, _port, _side, simplify
from .geometry import Rect
from .map import PT
from .text import TextMeasure

Point = tuple[float, float]
EXHAUSTIVE_LIMIT = 6  # up to this many new stops per phase, try every order
REROUTE_ROUNDS = 2  # after laying every leg, lay each again around all the others: fewer crossings; a third round finds no more
POLISH_TRIES = 6  # legs laid by other sides on trial, kept only if the map of all journeys then crosses less
POLISH_LEGS = 100  # ... on maps of up to this many legs: each try draws the whole map (shipped: 62 legs, a second in all; 10× content: 640, minutes)
RELAY_REACH = 10.0  # mm around its path that a leg laid again is searched
EXACT_LIMIT = 10  # up to this many lines on a stretch, find its best order exactly (2^n steps)
MAX_PASSES = 20  # local search rounds; it settles after two or three on real journeys
PRECISION = 2  # decimals kept in coordinates: stable output, no float noise
SIDES = ("right", "bottom", "top", "left")
BACK = {"right": "left", "left": "right", "top": "bottom", "bottom": "top"}


@dataclass(frozen=True)
class RouteStyle:
    """targets.journeys.route in theme.yaml: lengths in mm on the map sheet, type sizes in pt."""

    line_width: float
    line_gap: Annotated[float, Doc("space between parallel lines on a shared stretch")]
    corridor: Annotated[float, Doc("width of the gutters between boxes on route maps: room for parallel lines")]
    share: Annotated[float, Doc("cost per mm of a gutter another line runs in: under 1 bundles lines, over 1 keeps them apart")]
    crossing: Annotated[float, Doc("mm of detour worth taking not to cross another line")]
    meeting: Annotated[float, Doc("mm of detour worth taking not to meet another line at a point of the gutters, where they may cross")]
    reach: Annotated[float, Doc("mm beyond the outermost boxes that lines may run")]
    snap: Annotated[float, Doc("mm: gutter lines closer together are one track, and lines may come that much closer to a box")]
    titles_only: Annotated[bool, Doc("route maps show offer titles only, so the map and its key fit one sheet of the map's paper")]
    map: Annotated[dict[str, float], Doc("targets.map lengths (mm) used instead on route maps, e.g. narrower boxes for titles only")]
    casing: Colour
    casing_width: float
    stop_radius: float
    number_size: Annotated[float, Doc("pt")]
    station_fill: Colour
    station_stroke: Colour
    fade_opacity: Annotated[float, Doc("opacity of the veil over offers that are not on the route")]
    key_width: float
    key_size: Annotated[float, Doc("pt")]
    key_title_size: Annotated[float, Doc("pt")]
    key_line: float
    margin: float
    loc: Loc = located()


@dataclass(frozen=True)
class Station:
    """Where an offer stands on the map: its box and the point the line passes through."""

    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self) -> Point:
        return (self.x + self.w / 2, self.y + self.h / 2)


@dataclass(frozen=True)
class Journey:
    """What a route needs from a persona: its id and the offers of each phase, in order."""

    persona: str
    phases: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Stop:
    offer: str
    number: int  # 1, 2, … in journey order
    phase: int  # the first phase (1-based) in which the offer is taken
    at: Point  # where the line passes: the centre of the offer's box


@dataclass(frozen=True)
class Route:
    persona: str
    stops: tuple[Stop, ...]
    path: tuple[Point, ...]  # the drawn line, offset where it shares a stretch


@dataclass(frozen=True)
class Stretch:
    """A piece of line between two stations and the routes on it, in slot order (see offset_path)."""

    ends: tuple[str, str]
    lines: tuple[str, ...]
    path: tuple[Point, ...]  # the centre line, from ends[0] to ends[1]


@dataclass(frozen=True)
class RoutePlan:
    routes: tuple[Route, ...]
    stretches: tuple[Stretch, ...]
    crossings: int  # line crossings at stations that no order of the lines could avoid
    gap: float  # between the centres of parallel lines: the one asked for, or less to fit `room`


@dataclass(frozen=True)
class Corridors:
    """Where lines may run on the map: what they keep `clearance` away from, on which sheet."""

    boxes: Mapping[str, tuple[Rect, ...]]  # station id -> what is drawn for it (a programme: its frame segments)
    texts: tuple[Rect, ...]  # labels outside the boxes: lines never run over them
    sheet: Rect
    clearance: float
    share: float = 1.0  # cost per mm of a gutter another line already runs in: under 1 draws lines into bundles, over 1 apart
    crossing: float = 0.0  # mm of detour worth taking to avoid crossing another line straight
    meeting: float = 0.0  # mm of detour worth taking to avoid each grid point another line passes (lines meeting may cross)
    reach: float = math.inf  # how far beyond the outermost boxes lines may run (mm)
    snap: float = 0.0  # gutter lines closer than this (mm) are one: no hairbreadth steps between them
    kept: dict = field(default_factory=dict, compare=False, repr=False)  # what routing worked out about these corridors (_gutters)


Legs = Mapping[tuple[str, str], Sequence[Point]]  # (a, b) with a < b -> the track from a's centre to b's


def plan_routes(journeys: Sequence[Journey], stations: Mapping[str, Station], gap: float, corridors: Corridors | None = None,
                room: float | None = None) -> RoutePlan:
    """Every journey as a route over the stations; shared stretches as parallel lines `gap` apart,
    or closer where the widest bundle would not fit in `room`."""
    stops = {j.persona: journey_stops(j, stations) for j in journeys}
    order = [j.persona for j in journeys]
    if corridors is None:
        network = Network.build(order, stops, stations)
        tracks = {p: [s.offer for s in stops[p]] for p in order}
    else:
        hidden = {_node(s.at) for p in order for s in stops[p]}  # the stop boxes are drawn over the lines: crossings there are not seen
        judged: list[tuple[Legs, RoutePlan]] = []  # the plans drawn to count crossings: the one kept is the plan

        def seen(legs: Legs) -> list[Point]:
            judged.append((legs, _planned(order, stops, *Network.of_tracks(order, corridor_tracks(order, stops, legs), hidden), gap, room)))
            return _seen_crossings(judged[-1][1], corridors)

        legs = corridor_legs(order, stops, stations, corridors, seen)
        kept = next((plan for drawn, plan in reversed(judged) if drawn is legs), None)
        return kept or _planned(order, stops, *Network.of_tracks(order, corridor_tracks(order, stops, legs), hidden), gap, room)
    return _planned(order, stops, network, tracks, gap, room)


def _planned(order: Sequence[str], stops: Mapping[str, Sequence[Stop]], network: Network, tracks: Mapping[str, Sequence[str]], gap: float,
             room: float | None) -> RoutePlan:
    """The routes over the network: lines ordered on every stretch, `gap` apart or closer to fit `room`."""
    orders = network.order_lines()
    widest = max((len(v) for v in orders.values()), default=1)
    if room is not None and widest * gap > room:
        gap = room / widest
    routes = tuple(Route(p, stops[p], _route_path(network, orders, p, tracks[p], stops[p][0].at if stops[p] else (0.0, 0.0), gap))
                   for p in order)
    stretches = tuple(Stretch(e, tuple(orders[e]), _rounded(network.paths[e])) for e in sorted(network.lines))
    return RoutePlan(routes, stretches, network.crossings(orders), gap)


def corridor_legs(order: Sequence[str], stops: Mapping[str, Sequence[Stop]], stations: Mapping[str, Station], corridors: Corridors,
                  judge: Callable[[Legs], list[Point]] | None = None) -> Legs:
    """The track between each two consecutive stops: stop centre, out by the middle of the side
    facing the other stop (lines from one box leave together), along the grid of gutter lines,
    in by the side facing back, centre. Each leg avoids the gutters (corridors.share), the
    crossings (corridors.crossing) and the meeting points (corridors.meeting) of the others:
    most crossings of a transit map drawn this way are where lines meet and part. With a
    `judge` (legs -> the crossings a reader sees), legs near those crossings are tried by
    other sides, and kept where the drawn map crosses less."""
    rects = {sid: Rect(st.x, st.y, st.w, st.h) for sid, st in stations.items()}
    riders: dict[tuple[str, str], int] = defaultdict(int)  # a leg's weight: the lines on it
    for p in order:
        for pair in {_edge(a.offer, b.offer) for a, b in itertools.pairwise(stops[p])}:
            riders[pair] += 1
    ports, grid = _gutters(corridors, rects)
    # one line never crosses itself: its legs only keep a little apart, as a map's connectors do
    costs = (corridors.share - 1, corridors.crossing, corridors.meeting) if len(order) > 1 else (SHARED_COST, 0.0, 0.0)
    grid = grid.fresh(*costs)
    busiest = sorted(riders, key=lambda pair: (-riders[pair], pair))
    found = {pair: _lay(grid, pair, riders[pair], rects, ports) for pair in busiest}
    for _ in range(REROUTE_ROUNDS if len(order) > 1 else 0):  # each leg laid again around all the others
        for pair in busiest:
            found[pair] = _relay(grid, pair, riders[pair], ports, *found[pair])
    legs = _legs(found, ports, rects)
    if judge is not None and len(order) > 1 and len(found) <= POLISH_LEGS:
        legs = _fewer_crossings(grid, found, dict(riders), ports, rects, legs, judge, corridors.clearance)
    return legs


def _legs(found: Mapping[tuple[str, str], tuple[str, str, list[Point] | None]], ports: Mapping, rects: Mapping[str, Rect]) -> dict:
    """Each leg's track: centre, port, the path between the stubs, port, centre."""
    legs = {}
    for (a, b), (side_a, side_b, path) in found.items():
        (port_a, stub_a), (port_b, stub_b) = ports[(a, side_a)], ports[(b, side_b)]
        middle = path if path else list(metro_path(stub_a, stub_b))  # no gutter leads there: the map is too crowded
        legs[(a, b)] = _dedupe([_round_point(p) for p in [(rects[a].cx, rects[a].cy), port_a, *middle, port_b, (rects[b].cx, rects[b].cy)]])
    return legs


def _fewer_crossings(grid: Grid, found: dict, riders: Mapping[tuple[str, str], int], ports: Mapping, rects: Mapping[str, Rect], legs: dict,
                     judge: Callable[[Legs], list[Point]], reach: float) -> dict:
    """Legs by the sides that are cheapest around all the others, where the drawn map then crosses
    less. The legs leave by the sides facing each other first; that is often not the best way
    (a tall programme box: out of its middle, along all the lines beside it). Tried leg by leg,
    those nearest the most crossings first, at most POLISH_TRIES times: each try draws the map."""
    seen = judge(legs)
    tried: set[tuple[str, str]] = set()
    nearest = _near_crossings(seen, legs, reach)
    for _ in range(POLISH_TRIES):
        pair = next((p for p in nearest if p not in tried and found[p][2]), None)
        if pair is None:
            break
        tried.add(pair)
        target, weight = f"{pair[0]}>{pair[1]}", riders[pair]
        side_a, side_b, path = found[pair]
        grid.unroute(path, target, weight)
        best = (grid.cost(path, target), side_a, side_b, path)
        ends = (rects[pair[0]], rects[pair[1]])
        around = _bounds([*path, *((r.x, r.y) for r in ends), *((r.right, r.bottom) for r in ends)]).grow(RELAY_REACH)  # near where it ran
        facing = _side(rects[pair[0]], rects[pair[1]])
        for sa, sb in itertools.product(*([s for s in SIDES if s != BACK[f]] for f in facing)):  # not out of the back: a long way round
            if (sa, sb) != (side_a, side_b) and (other := grid.search(ports[(pair[0], sa)][1], ports[(pair[1], sb)][1], target, weight, around)):
                grid.unroute(other, target, weight)
                best = min(best, (grid.cost(other, target), sa, sb, other))
        if best[3] is not path:
            trial = {**found, pair: best[1:]}
            trial_legs = _legs(trial, ports, rects)
            if len(crossings := judge(trial_legs)) < len(seen):
                found, legs, seen = trial, trial_legs, crossings
                nearest = _near_crossings(seen, legs, reach)
        grid.lay(found[pair][2], target, weight)
    return legs


def _near_crossings(points: Sequence[Point], legs: Mapping[tuple[str, str], Sequence[Point]], reach: float) -> list[tuple[str, str]]:
    """The legs with crossings within `reach` of their track, most first."""
    count: dict[tuple[str, str], int] = defaultdict(int)
    for pair, track in legs.items():
        box = _bounds(track).grow(reach)
        for p in points:
            if box.x <= p[0] <= box.right and box.y <= p[1] <= box.bottom and any(_distance(p, a, b) <= reach for a, b in itertools.pairwise(track)):
                count[pair] += 1
    return sorted(count, key=lambda pair: (-count[pair], pair))


def _bounds(points: Sequence[Point]) -> Rect:
    xs, ys = [x for x, _ in points], [y for _, y in points]
    return Rect(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def _distance(p: Point, a: Point, b: Point) -> float:
    """From p to the segment a–b."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def _gutters(corridors: Corridors, rects: Mapping[str, Rect]) -> tuple[dict, Grid]:
    """The ports of every station's sides and the grid of gutter lines through their stubs:
    worked out once for all the maps drawn over these corridors (corridors.kept)."""
    key = ("gutters", tuple(sorted(rects.items())))
    if key not in corridors.kept:
        c = corridors.clearance
        ports = {(sid, side): _port(rect, side, 0.5, c) for sid, rect in sorted(rects.items()) for side in SIDES}
        obstacles = [r for rs in corridors.boxes.values() for r in rs] + list(corridors.texts)
        corridors.kept[key] = ports, Grid.around(obstacles, c, _around_boxes(corridors), [stub for _, stub in ports.values()], snap=corridors.snap)
    return corridors.kept[key]


def _lay(grid: Grid, pair: tuple[str, str], weight: int, rects: Mapping[str, Rect], ports: Mapping) -> tuple[str, str, list[Point] | None]:
    """(side of a, side of b, path between their stubs): by the sides facing each other, else
    by any two sides a gutter joins (a label beside a stub); no path if none does."""
    a, b = pair
    for side_a, side_b in [_side(rects[a], rects[b]), *itertools.product(SIDES, SIDES)]:
        if path := grid.search(ports[(a, side_a)][1], ports[(b, side_b)][1], f"{a}>{b}", weight):
            return side_a, side_b, path
    return (*_side(rects[a], rects[b]), None)


def _relay(grid: Grid, pair: tuple[str, str], weight: int, ports: Mapping, side_a: str, side_b: str,
           path: list[Point] | None) -> tuple[str, str, list[Point] | None]:
    """A leg laid again by the same sides around all the other legs, near where it ran (a
    search of the whole sheet costs more than it finds)."""
    if path:
        target = f"{pair[0]}>{pair[1]}"
        grid.unroute(path, target, weight)
        around = _bounds(path).grow(RELAY_REACH)  # the old path is one way there
        path = grid.search(ports[(pair[0], side_a)][1], ports[(pair[1], side_b)][1], target, weight, around)
    return side_a, side_b, path


def _around_boxes(corridors: Corridors) -> Rect:
    """Where lines may run: the gutters between the boxes and `reach` round them all, not over
    the title or round the sheet's margins (long detours)."""
    rects = [r for rs in corridors.boxes.values() for r in rs]
    if not rects:
        return corridors.sheet
    reach, sheet = corridors.reach + corridors.clearance, corridors.sheet
    x0, y0 = max(sheet.x, min(r.x for r in rects) - reach), max(sheet.y, min(r.y for r in rects) - reach)
    x1, y1 = min(sheet.right, max(r.right for r in rects) + reach), min(sheet.bottom, max(r.bottom for r in rects) + reach)
    return Rect(x0, y0, x1 - x0, y1 - y0)


def corridor_tracks(order: Sequence[str], stops: Mapping[str, Sequence[Stop]], legs: Legs) -> dict[str, list[Point]]:
    """Each persona's centre line: its legs one after the other."""
    tracks = {}
    for persona in order:
        points: list[Point] = [stops[persona][0].at] if stops[persona] else []
        for a, b in itertools.pairwise(s.offer for s in stops[persona]):
            leg = legs[_edge(a, b)]
            points.extend(leg if (a, b) == _edge(a, b) else reversed(leg))
        tracks[persona] = _dedupe(points)
    return tracks


def journey_stops(journey: Journey, stations: Mapping[str, Station]) -> tuple[Stop, ...]:
    """Each offer once, at its first phase, numbered in journey order.

    A phase's offers are taken in parallel, so their order is free: the line visits them in
    the order that is shortest, from the previous stop (at the start: from the left, where
    the map begins) to the nearest offer of the next phase.
    """
    seen: list[str] = []
    stops: list[Stop] = []
    new_per_phase = _new_offers(journey.phases)
    for phase_no, (new, following) in enumerate(zip(new_per_phase, [*new_per_phase[1:], []], strict=True), 1):
        start = stations[seen[-1]].centre if seen else _left_of(new, stations)
        for offer in _shortest_order(new, start, [stations[o].centre for o in following], stations):
            seen.append(offer)
            stops.append(Stop(offer, len(seen), phase_no, _round_point(stations[offer].centre)))
    return tuple(stops)


def _new_offers(phases: Sequence[Sequence[str]]) -> list[list[str]]:
    """The offers each phase adds, in content order (an offer already taken is not a new stop)."""
    seen: set[str] = set()
    out = []
    for offers in phases:
        new = [o for o in dict.fromkeys(offers) if o not in seen]
        seen.update(new)
        out.append(new)
    return out


def _left_of(offers: Sequence[str], stations: Mapping[str, Station]) -> Point | None:
    if not offers:
        return None
    first = min(offers, key=lambda o: (stations[o].x, stations[o].centre[1]))
    return (stations[first].x, stations[first].centre[1])


def _shortest_order(offers: list[str], start: Point | None, ahead: list[Point], stations: Mapping[str, Station]) -> list[str]:
    """The order of one phase's offers with the shortest line (ties: content order)."""
    if len(offers) <= 1:
        return offers
    if len(offers) > EXHAUSTIVE_LIMIT:
        return _nearest_first(offers, start, stations)

    def length(seq: Sequence[str]) -> float:
        points = [start] if start else []
        points += [stations[o].centre for o in seq]
        onward = min((_metro_length(points[-1], p) for p in ahead), default=0.0)
        return sum(_metro_length(a, b) for a, b in itertools.pairwise(points)) + onward

    return list(min(itertools.permutations(offers), key=length))


def _nearest_first(offers: list[str], start: Point | None, stations: Mapping[str, Station]) -> list[str]:
    left, out, here = list(offers), [], start
    while left:
        nxt = left[0] if here is None else min(left, key=lambda o: _metro_length(here, stations[o].centre))
        out.append(nxt)
        left.remove(nxt)
        here = stations[nxt].centre
    return out


def _metro_length(a: Point, b: Point) -> float:
    return sum(math.dist(p, q) for p, q in itertools.pairwise(metro_path(a, b)))


# --- Paths ----------------------------------------------------------------------------------


def metro_path(a: Point, b: Point) -> tuple[Point, ...]:
    """Octilinear path from a to b: straight, one 45° diagonal in the middle, straight again.

    Symmetric: the path from b to a is this one reversed, so lines sharing a stretch in
    opposite directions lie on the same track.
    """
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    if abs(dx) < 1e-9 or abs(dy) < 1e-9 or math.isclose(abs(dx), abs(dy)):
        return (a, b)
    sx, sy = math.copysign(1, dx), math.copysign(1, dy)
    if abs(dx) > abs(dy):  # horizontal run, diagonal in the middle
        run = (abs(dx) - abs(dy)) / 2
        p1, p2 = (ax + sx * run, ay), (bx - sx * run, by)
    else:  # vertical run
        run = (abs(dy) - abs(dx)) / 2
        p1, p2 = (ax, ay + sy * run), (bx, by - sy * run)
    return (a, p1, p2, b)


def offset_path(points: Sequence[Point], d: float) -> tuple[Point, ...]:
    """The polyline moved `d` along its normal, corners mitred so each piece stays parallel.

    The normal is the direction of travel turned from +x towards +y (on screen, y down: to
    the right). Line ordering counts slots along the same normal.
    """
    if d == 0:
        return tuple(points)
    normals = [_normal(p, q) for p, q in itertools.pairwise(points)]
    out = [_add(points[0], normals[0], d)]
    for corner, n1, n2 in zip(points[1:-1], normals, normals[1:], strict=False):
        k = d / (1 + n1[0] * n2[0] + n1[1] * n2[1])
        out.append((corner[0] + k * (n1[0] + n2[0]), corner[1] + k * (n1[1] + n2[1])))
    out.append(_add(points[-1], normals[-1], d))
    return tuple(out)


def _normal(p: Point, q: Point) -> Point:
    dx, dy = q[0] - p[0], q[1] - p[1]
    length = math.hypot(dx, dy)
    return (-dy / length, dx / length)


def _add(p: Point, n: Point, d: float) -> Point:
    return (p[0] + n[0] * d, p[1] + n[1] * d)


def _route_path(network: Network, orders: Mapping[tuple[str, str], list[str]], persona: str, track: Sequence[str],
                first: Point, gap: float) -> tuple[Point, ...]:
    """The route's line: each stretch at its lane among the parallel lines, joined at the stations
    (`track`: the station ids it passes, its stops or the points of its corridor track)."""
    points: list[Point] = [first] if len(track) == 1 else []
    for a, b in itertools.pairwise(track):
        edge = _edge(a, b)
        line_order = orders[edge]
        piece = offset_path(network.paths[edge], gap * (line_order.index(persona) - (len(line_order) - 1) / 2))
        _join(points, list(piece if edge == (a, b) else reversed(piece)))
    return _rounded(simplify(_dedupe(points)))


def _join(points: list[Point], piece: list[Point]) -> None:
    """Append the next stretch's piece. Where the line turns a right angle between stretches, the
    two pieces meet at the corner of their offset lines (nested corners, as within a stretch); a
    line straight on keeps a short step where it changes lanes."""
    if len(points) >= 2 and len(piece) >= 2:
        (ax, ay), (bx, by), (cx, cy), (dx, dy) = points[-2], points[-1], piece[0], piece[1]
        u, v = (bx - ax, by - ay), (dx - cx, dy - cy)
        cross = u[0] * v[1] - u[1] * v[0]
        if abs(u[0] * v[0] + u[1] * v[1]) < 1e-9 and abs(cross) > 1e-9:
            t = ((cx - ax) * v[1] - (cy - ay) * v[0]) / cross
            points[-1] = (ax + t * u[0], ay + t * u[1])
            piece = piece[1:]
    points.extend(piece)


def _chains(order: Sequence[str], ids: Mapping[str, list[str]], junctions: set[str]) -> tuple[dict[str, list[list[str]]], str | None]:
    """Each persona's track cut at the junctions; or a point to make a junction when two
    different runs join the same two junctions."""
    chains: dict[str, list[list[str]]] = {}
    seen: dict[tuple[str, str], list[str]] = {}
    for p in order:
        runs, run = [], [ids[p][0]]
        for node in ids[p][1:]:
            run.append(node)
            if node in junctions:
                runs.append(run)
                run = [node]
        for chain in runs:
            edge = _edge(chain[0], chain[-1])
            canonical = chain if edge[0] == chain[0] else chain[::-1]
            if seen.setdefault(edge, canonical) != canonical or (chain[0] == chain[-1] and len(chain) > 1):
                inner = [n for n in (*chain[1:-1], *seen[edge][1:-1]) if n not in junctions]  # this run's, or the other's
                if not inner:  # nothing left to split at: a planning bug, not the content's
                    raise ValueError(f"route tracks cannot be split into stretches at {chain[0]}")
                return {}, inner[len(inner) // 2]
        chains[p] = runs
    return chains, None


def _node(p: Point) -> str:
    """A corridor track's point as a station id: every grid point where lines meet or part."""
    return f"{p[0]:.2f},{p[1]:.2f}"


def _passes(ways: Mapping[str, Sequence[str]]) -> dict[str, tuple[Pass, ...]]:
    """Station -> each time a line passes it: the stretches it comes by and leaves by (a line
    turning back under a stop box passes nothing there)."""
    out: dict[str, list[Pass]] = defaultdict(list)
    for line, way in ways.items():
        for a, b, c in zip(way, way[1:], way[2:], strict=False):
            if a != c:
                out[b].append((line, _edge(a, b), _edge(b, c)))
    return {station: tuple(ps) for station, ps in out.items()}


def _pair_cost(pairs: Mapping[tuple[str, str], Sequence[int]]):
    """An order's crossings from each pair's crossings with the first of them before the other, or after."""
    def cost(line_order: Sequence[str]) -> int:
        at = _slots(line_order)
        return sum(before if at[p] < at[q] else after for (p, q), (before, after) in pairs.items())
    return cost


def _best_order(lines: Sequence[str], pairs: Mapping[tuple[str, str], Sequence[int]]) -> list[str]:
    """The order with the fewest crossings (ties: the first in the order tried): every order up
    to EXACT_LIMIT lines (dynamic programming over which lines come first: the cost only sums
    pairs), else the best of moving one line anywhere."""
    n = len(lines)
    at = _slots(lines)
    before = [[0] * n for _ in range(n)]  # before[a][b]: the crossings of lines a and b with a first
    for (p, q), (first, second) in pairs.items():
        before[at[p]][at[q]] += first
        before[at[q]][at[p]] += second
    if not any(map(any, before)):
        return list(lines)  # no order crosses less
    if n > EXACT_LIMIT:
        return _best_move(lines, before)
    # after[mask][b]: the crossings of b placed after the lines in mask, summed once per mask
    # (from the mask without its lowest line) instead of once per step
    after: list[list[int]] = [[0] * n]
    for mask in range(1, 1 << n):
        low = mask & -mask
        row, prev = before[low.bit_length() - 1], after[mask ^ low]
        after.append([prev[b] + row[b] for b in range(n)])
    full = (1 << n) - 1
    rest = [0] * (1 << n)  # rest[mask]: the fewest crossings of the lines not in mask, placed after it
    for mask in range(full - 1, -1, -1):
        adds = after[mask]
        rest[mask] = min(adds[b] + rest[mask | 1 << b] for b in range(n) if not mask & 1 << b)
    order, mask = [], 0
    while mask != full:  # the lowest line that keeps the fewest at each place: the first best order
        adds = after[mask]
        b = next(b for b in range(n) if not mask & 1 << b and adds[b] + rest[mask | 1 << b] == rest[mask])
        order.append(lines[b])
        mask |= 1 << b
    return order


def _best_move(lines: Sequence[str], before: list[list[int]]) -> list[str]:
    """The best order made by moving one line (i) to any place (k) among the others, tried i by
    i and k by k (ties: the first). A move changes only the moved line's pairs, so each place's
    cost is one step from the one before."""
    n = len(lines)
    total = sum(before[a][b] for a in range(n) for b in range(a + 1, n))
    best, best_cost = list(lines), math.inf
    for i in range(n):
        rest = [a for a in range(n) if a != i]
        cost = total - sum(before[a][i] for a in range(i)) - sum(before[i][b] for b in range(i + 1, n)) + sum(before[i][a] for a in rest)
        for k in range(n):
            if cost < best_cost:
                best, best_cost = [lines[a] for a in rest[:k]] + [lines[i]] + [lines[a] for a in rest[k:]], cost
            if k < n - 1:
                cost += before[rest[k]][i] - before[i][rest[k]]
    return best


def _slots(line_order: Sequence[str]) -> dict[str, int]:
    return {line: i for i, line in enumerate(line_order)}


def _edge(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _dedupe(points: Sequence[Point]) -> list[Point]:
    out: list[Point] = []
    for p in points:
        if not out or math.dist(out[-1], p) > 1e-6:
            out.append(p)
    return out


def _round_point(p: Point) -> Point:
    return (round(p[0], PRECISION) + 0.0, round(p[1], PRECISION) + 0.0)  # + 0.0: no "-0.0"


def _rounded(points: Sequence[Point]) -> tuple[Point, ...]:
    return tuple(_round_point(p) for p in points)


# --- Line ordering on shared stretches --------------------------------------------------------


Pass = tuple[str, tuple[str, str], tuple[str, str]]  # a line through a station: the line, the stretch it comes by, the one it leaves by


@dataclass(frozen=True)
class Meeting:
    """Two lines passing one station (`p` by the stretches `p_ends`, `q` by `q_ends`); `ranks`:
    where each of those four stretches leaves the station, counted round it."""

    station: str
    p: str
    q: str
    p_ends: tuple[tuple[str, str], tuple[str, str]]
    q_ends: tuple[tuple[str, str], tuple[str, str]]
    ranks: tuple[int, int, int, int]

    def crosses(self, slots: Mapping[tuple[str, str], Mapping[str, int]]) -> bool:
        """Whether the two cross, given each stretch's slot of each line on it: round the
        station, each line joins two places (stretch, then slot along it); they cross where
        one line's two places separate the other's."""
        p1, p2 = self._at(slots, 0, self.p, self.p_ends[0]), self._at(slots, 1, self.p, self.p_ends[1])
        q1, q2 = self._at(slots, 2, self.q, self.q_ends[0]), self._at(slots, 3, self.q, self.q_ends[1])
        lo, hi = min(p1, p2), max(p1, p2)
        return (lo < q1 < hi) != (lo < q2 < hi)

    def _at(self, slots: Mapping[tuple[str, str], Mapping[str, int]], k: int, line: str, edge: tuple[str, str]) -> tuple[int, int]:
        """A line's place round the station: its stretch's rank, then its slot counted clockwise
        (slots run along the normal of a stretch's direction, from its first end)."""
        slot = slots[edge][line]
        return (self.ranks[k], slot if edge[0] == self.station else -slot)

    def edges(self) -> set[tuple[str, str]]:
        """The stretches whose order can change whether the two cross: those both lines use here."""
        return set(self.p_ends) & set(self.q_ends)


@dataclass(frozen=True)
class Network:
    """Stations joined by stretches; which lines use each stretch and how they pass each station."""

    rank: Mapping[str, int]  # persona -> position in content order (the starting order)
    lines: Mapping[tuple[str, str], tuple[str, ...]]  # stretch -> personas on it
    paths: Mapping[tuple[str, str], tuple[Point, ...]]  # stretch -> centre line from its first end
    visits: Mapping[str, Mapping[str, tuple[tuple[str, str], ...]]]  # station -> persona -> stretches at it
    hidden: Set[str] = frozenset()  # stations under a drawn box: lines may cross there unseen
    passes: Mapping[str, tuple[Pass, ...]] = field(default_factory=dict)  # station -> the lines passing it (not ending there)

    @classmethod
    def of_tracks(cls, order: Sequence[str], tracks: Mapping[str, Sequence[Point]], hidden: Set[str] = frozenset()) -> tuple[Network, dict[str, list[str]]]:
        """The network of corridor tracks, and each persona's way through it as station ids.

        Its stations are the grid points where lines meet, part, end or could swap; a stretch
        is a run of grid steps carrying the same lines (LOOM's graph, contracted), so orders
        are chosen once per run, not once per step."""
        ids = {p: [_node(pt) for pt in tracks[p]] for p in order}
        pos = {i: pt for p in order for i, pt in zip(ids[p], tracks[p], strict=True)}
        ids = {p: [n for i, n in enumerate(way) if i == 0 or n != way[i - 1]] for p, way in ids.items()}  # no step of length 0
        steps: dict[tuple[str, str], set[str]] = defaultdict(set)
        near: dict[str, set[str]] = defaultdict(set)
        for p in order:
            for a, b in itertools.pairwise(ids[p]):
                steps[_edge(a, b)].add(p)
                near[a].add(b)
                near[b].add(a)
        junctions = {n for n, nb in near.items() if len(nb) != 2 or len({frozenset(steps[_edge(n, m)]) for m in nb}) > 1}
        junctions |= {i for p in order for i in ids[p][:1] + ids[p][-1:]}
        while True:
            chains, clash = _chains(order, ids, junctions)
            if clash is None:
                break
            junctions.add(clash)  # two runs between the same stations: split one of them
        lines: dict[tuple[str, str], list[str]] = defaultdict(list)
        visits: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
        ways = {}
        for p in order:
            way = [ids[p][0]]
            for chain in chains[p]:
                edge = _edge(chain[0], chain[-1])
                if p not in lines[edge]:
                    lines[edge].append(p)
                for end in (chain[0], chain[-1]):  # a line back along its own track is one line there
                    if edge not in visits[end][p]:
                        visits[end][p].append(edge)
                way.append(chain[-1])
            ways[p] = way
        paths = {}
        for p in order:
            for chain in chains[p]:
                edge = _edge(chain[0], chain[-1])
                paths.setdefault(edge, tuple(pos[i] for i in (chain if edge[0] == chain[0] else reversed(chain))))
        network = cls({p: i for i, p in enumerate(order)}, {e: tuple(v) for e, v in lines.items()}, paths,
                      {s: {p: tuple(es) for p, es in v.items()} for s, v in visits.items()}, frozenset(hidden), _passes(ways))
        return network, ways

    @classmethod
    def build(cls, order: Sequence[str], stops: Mapping[str, Sequence[Stop]], stations: Mapping[str, Station]) -> Network:
        lines: dict[tuple[str, str], list[str]] = defaultdict(list)
        visits: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
        for persona in order:
            for a, b in itertools.pairwise(s.offer for s in stops[persona]):
                edge = _edge(a, b)
                lines[edge].append(persona)
                visits[a][persona].append(edge)
                visits[b][persona].append(edge)
        paths = {e: metro_path(stations[e[0]].centre, stations[e[1]].centre) for e in lines}
        return cls({p: i for i, p in enumerate(order)}, {e: tuple(v) for e, v in lines.items()}, paths,
                   {s: {p: tuple(es) for p, es in v.items()} for s, v in visits.items()},
                   passes=_passes({p: [s.offer for s in stops[p]] for p in order}))

    def order_lines(self) -> dict[tuple[str, str], list[str]]:
        """Side-by-side order of the lines on every stretch, with few crossings at the stations."""
        orders = {e: sorted(ls, key=self.rank.__getitem__) for e, ls in self.lines.items()}
        slots = {e: _slots(o) for e, o in orders.items()}
        by_edge: dict[tuple[str, str], list[Meeting]] = defaultdict(list)
        for meeting in self.meetings:
            for edge in meeting.edges():
                by_edge[edge].append(meeting)
        # A stretch's best order depends only on its own order and those of the stretches its
        # meetings pass by: it is worked out again only when one of them changed (the same
        # orders as working out every stretch each round, without the rounds that change nothing).
        readers: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
        for edge, meetings in by_edge.items():
            for m in meetings:
                for other in (*m.p_ends, *m.q_ends):
                    readers[other].add(edge)
        dirty = set(orders)
        for _ in range(MAX_PASSES):
            changed = False
            for edge in sorted(orders):
                if edge not in dirty:
                    continue
                dirty.discard(edge)
                if len(orders[edge]) > 1 and by_edge[edge] and self._improve(orders, slots, edge, by_edge[edge]):
                    changed = True
                    dirty |= readers[edge] | {edge}
            if not changed:
                break
        return orders

    def _improve(self, orders: dict[tuple[str, str], list[str]], slots: dict[tuple[str, str], dict[str, int]], edge: tuple[str, str],
                 meetings: Sequence[Meeting]) -> bool:
        """Best order of one stretch with the others fixed; True if it got strictly better. Only
        the meetings of two lines that both use the stretch change with its order, and each
        only with which of the two comes first: so an order costs one lookup per pair."""
        pairs: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])  # (p, q) -> crossings with p before q, after q
        for m in meetings:
            for k, slot in enumerate(({m.p: 0, m.q: 1}, {m.p: 1, m.q: 0})):
                slots[edge] = slot
                pairs[(m.p, m.q)][k] += m.crosses(slots)
        current = orders[edge]
        cost = _pair_cost(pairs)
        best = _best_order(current, pairs)
        if cost(best) < cost(current):
            orders[edge], slots[edge] = best, _slots(best)
            return True
        slots[edge] = _slots(current)
        return False

    def crossings(self, orders: Mapping[tuple[str, str], list[str]]) -> int:
        slots = {e: _slots(o) for e, o in orders.items()}
        return sum(m.crosses(slots) for m in self.meetings)

    @functools.cached_property  # ordering and counting both read them
    def meetings(self) -> tuple[Meeting, ...]:
        """Every two lines passing the same station where they could cross: not under a stop box
        (it hides the crossing), not two passes of one line."""
        out = []
        for station in sorted(set(self.passes) - self.hidden):
            here = self.passes[station]
            rank = self._ranks(station)
            for (p, *p_ends), (q, *q_ends) in itertools.combinations(here, 2):
                if p != q:
                    out.append(Meeting(station, p, q, tuple(p_ends), tuple(q_ends), tuple(rank[e] for e in (*p_ends, *q_ends))))
        return tuple(out)

    def _ranks(self, station: str) -> dict[tuple[str, str], int]:
        """Where each stretch leaves the station, counted clockwise on the page (y grows down)."""
        around = sorted({e for _, *ends in self.passes[station] for e in ends}, key=lambda e: self._bearing(station, e))
        return {e: k for k, e in enumerate(around)}

    def _bearing(self, station: str, edge: tuple[str, str]) -> tuple[float, float]:
        return tuple(self._heading(station, edge, k) % (2 * math.pi) for k in (1, -1))

    def _turn(self, station: str, into: tuple[str, str], out: tuple[str, str]) -> tuple[float, float]:
        """Angle from the stretch a line arrives on to the one it leaves by (first piece, then chord)."""
        return tuple((self._heading(station, out, k) - self._heading(station, into, k)) % (2 * math.pi) for k in (1, -1))

    def _heading(self, station: str, edge: tuple[str, str], k: int) -> float:
        path = self.paths[edge] if edge[0] == station else tuple(reversed(self.paths[edge]))
        (x0, y0), (x1, y1) = path[0], path[k]
        return math.atan2(y1 - y0, x1 - x0)


# --- The key beside the map: stop list or legend ------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """A stop badge (numbered circle) or a line swatch, as it stands in the key."""

    kind: Literal["stop", "line"]
    colour: str
    label: str = ""  # the stop number
    dash: str = ""
    at: Point = (0.0, 0.0)  # centre, filled in by layout_key


@dataclass(frozen=True)
class KeyEntry:
    mark: Mark
    heading: str  # offer title or persona name
    detail: str  # phase and span, or the persona in a few words


@dataclass(frozen=True)
class TextLine:
    text: str
    x: float
    y: float  # baseline
    size: float
    font: str  # a style of the theme's font set: regular, bold, italic


@dataclass(frozen=True)
class Key:
    lines: tuple[TextLine, ...]
    marks: tuple[Mark, ...]
    bottom: float


def layout_key(title: str, intro: str, entries: Sequence[KeyEntry], origin: Point, style: RouteStyle, measure: TextMeasure) -> Key:
    """The key's text and marks from `origin` down, wrapped to the key's width with the shipped fonts."""
    x, y = origin
    width, size, step, title_size = style.key_width, style.key_size * PT, style.key_line, style.key_title_size * PT
    lines: list[TextLine] = []
    marks: list[Mark] = []
    y = _paragraph(lines, title, x, y, width, title_size, title_size * 1.25, "bold", measure)
    y = _paragraph(lines, intro, x, y + step * 0.4, width, size, step, "regular", measure) + step * 0.6
    indent = 2 * style.stop_radius + size * 0.6
    for entry in entries:
        first_baseline = y + measure.ascent(size, "bold")
        centre_y = first_baseline - (measure.ascent(size, "bold") - measure.descent(size, "bold")) / 2
        marks.append(replace(entry.mark, at=_round_point((x + style.stop_radius, centre_y))))
        y = _paragraph(lines, entry.heading, x + indent, y, width - indent, size, step, "bold", measure)
        y = _paragraph(lines, entry.detail, x + indent, y, width - indent, size * 0.9, step * 0.9, "regular", measure) + step * 0.5
    return Key(tuple(lines), tuple(marks), round(y, PRECISION))


def _paragraph(out: list[TextLine], text: str, x: float, top: float, width: float, size: float, step: float, font: str, measure: TextMeasure) -> float:
    """Append the wrapped lines of `text` below `top`; return the new top."""
    if not text.strip():
        return top
    wrapped = measure.wrap(" ".join(text.split()), width, size, font)
    baseline = top + measure.ascent(size, font)
    for i, line in enumerate(wrapped):
        out.append(TextLine(line, round(x, PRECISION), round(baseline + i * step, PRECISION), size, font))
    return top + (len(wrapped) - 1) * step + measure.ascent(size, font) + measure.descent(size, font)


# --- What a reader would notice: lines through boxes, over text, crossing each other ----------------


@dataclass(frozen=True)
class RouteCheck:
    through_boxes: int  # line segments through the inside of a box that is not one of that persona's stops
    over_text: int  # line segments over a label
    crossings: int  # places where the lines of two personas cross


def check_routes(plan: RoutePlan, corridors: Corridors, tol: float = 0.05) -> RouteCheck:
    """Count what makes a transit map hard to read; `tol` mm of touching does not count."""
    through = over = 0
    boxes = _Buckets([(sid, r.grow(-tol)) for sid, rs in corridors.boxes.items() for r in rs])
    texts = _Buckets([("", r.grow(-tol)) for r in corridors.texts])
    for route in plan.routes:
        stops = {s.offer for s in route.stops}
        for a, b in itertools.pairwise(route.path):
            through += any(sid not in stops and segment_enters(r, a, b) for sid, r in boxes.near(a, b))
            over += any(segment_enters(r, a, b) for _, r in texts.near(a, b))
    return RouteCheck(through, over, len(_seen_crossings(plan, corridors, tol)))


def _seen_crossings(plan: RoutePlan, corridors: Corridors, tol: float = 0.05) -> list[Point]:
    """Where the lines of two personas cross, outside the stop boxes (drawn over the lines)."""
    stops = {s.offer for route in plan.routes for s in route.stops}
    hidden = _Buckets([(sid, r.grow(-tol)) for sid in sorted(stops) for r in corridors.boxes.get(sid, ())])
    return [p for p in crossing_points([r.path for r in plan.routes]) if not any(r.x < p[0] < r.right and r.y < p[1] < r.bottom for _, r in hidden.near(p, p))]


class _Buckets:
    """Things with their rectangles, by the cells of a coarse grid the rectangles cover: a
    segment is tried against those standing near it only (a big map has thousands)."""

    CELL = 20.0  # mm

    def __init__(self, entries: Sequence[tuple[Hashable, Rect]]):
        self.cells: dict[tuple[int, int], list[tuple[Hashable, Rect]]] = defaultdict(list)
        for entry in entries:
            for cell in self._cells(entry[1].x, entry[1].y, entry[1].right, entry[1].bottom):
                self.cells[cell].append(entry)

    def _cells(self, x0: float, y0: float, x1: float, y1: float) -> Iterator[tuple[int, int]]:
        c = self.CELL
        return itertools.product(range(math.floor(x0 / c), math.floor(x1 / c) + 1), range(math.floor(y0 / c), math.floor(y1 / c) + 1))

    def near(self, a: Point, b: Point) -> list[tuple[Hashable, Rect]]:
        """The entries in the cells of the segment a-b's bounding box, each once."""
        found = (entry for cell in self._cells(min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])) for entry in self.cells.get(cell, ()))
        return list(dict.fromkeys(found))


def segment_enters(r: Rect, a: Point, b: Point) -> bool:
    """Whether the segment a–b reaches the inside of r (Liang–Barsky clipping)."""
    if r.w <= 0 or r.h <= 0 or max(a[0], b[0]) <= r.x or min(a[0], b[0]) >= r.right or max(a[1], b[1]) <= r.y or min(a[1], b[1]) >= r.bottom:
        return False  # not even the segment's bounding box reaches inside: most boxes, decided at once
    t0, t1 = 0.0, 1.0
    dx, dy = b[0] - a[0], b[1] - a[1]
    for p, q in ((-dx, a[0] - r.x), (dx, r.right - a[0]), (-dy, a[1] - r.y), (dy, r.bottom - a[1])):
        if abs(p) < 1e-12:
            if q <= 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 >= t1:
            return False
    return True


def crossing_points(paths: Sequence[Sequence[Point]]) -> list[Point]:
    """Where segments of different paths cross properly (touching and overlapping do not count).
    The stop boxes are drawn over the lines: a caller leaves out the crossings they hide.

    Lines run in the gutters, so most segments are level or upright: a level one is tried
    against the upright ones standing near it only; any other segment against all."""
    level, upright, slanted = [], [], []
    for i, path in enumerate(paths):
        for a, b in itertools.pairwise(path):
            if abs(a[1] - b[1]) < 1e-9:
                level.append((a[1], min(a[0], b[0]), max(a[0], b[0]), i, a, b))
            elif abs(a[0] - b[0]) < 1e-9:
                upright.append((a[0], min(a[1], b[1]), max(a[1], b[1]), i, a, b))
            else:
                slanted.append((i, a, b))
    standing = _Buckets([((k, u), Rect(u[0], u[1], 0.0, u[2] - u[1])) for k, u in enumerate(upright)])  # k: a line back over its own track is two
    points = []
    for y, x0, x1, i, a, b in level:
        for (_, (x, y0, y1, j, c, d)), _ in standing.near(a, b):
            if i != j and x0 < x < x1 and y0 < y < y1 and _cross(a, b, c, d):
                points.append(_meet(a, b, c, d))
    others = [(i, a, b) for _, _, _, i, a, b in (*level, *upright)]
    for k, (i, a, b) in enumerate(slanted):
        points.extend(_meet(a, b, c, d) for j, c, d in [*others, *slanted[k + 1:]] if i != j and _cross(a, b, c, d))
    return points


def _meet(a: Point, b: Point, c: Point, d: Point) -> Point:
    den = (a[0] - b[0]) * (c[1] - d[1]) - (a[1] - b[1]) * (c[0] - d[0])
    t = ((a[0] - c[0]) * (c[1] - d[1]) - (a[1] - c[1]) * (c[0] - d[0])) / den
    return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))


def _cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    def side(p: Point, q: Point, r: Point) -> int:
        v = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
        return 0 if abs(v) < 1e-9 else (1 if v > 0 else -1)

    return side(a, b, c) * side(a, b, d) < 0 and side(c, d, a) * side(c, d, b) < 0
