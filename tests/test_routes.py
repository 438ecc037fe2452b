"""Route geometry over the map: metro lines, numbered stops, parallel shared stretches, few crossings."""

from __future__ import annotations

import itertools
import math

import pytest

from mulighetskart.layout.routes import (
    Journey,
    KeyEntry,
    Mark,
    Station,
    journey_stops,
    layout_key,
    metro_path,
    offset_path,
    plan_routes,
)


def at(x: float, y: float) -> Station:
    """A 20 × 10 box centred on (x, y)."""
    return Station(x - 10, y - 5, 20, 10)


def heading(p, q) -> float:
    return math.degrees(math.atan2(q[1] - p[1], q[0] - p[0])) % 360


def distance_to_line(p, a, b) -> float:
    (x, y), (x1, y1), (x2, y2) = p, a, b
    return abs((x2 - x1) * (y1 - y) - (x1 - x) * (y2 - y1)) / math.dist(a, b)


ENDS = [((0, 0), (100, 30)), ((0, 0), (30, 100)), ((50, 50), (0, 0)), ((0, 0), (80, 0)), ((0, 0), (0, -60)), ((10, 10), (60, 60)), ((0, 0), (-70, 20))]


@pytest.mark.parametrize(("a", "b"), ENDS)
def test_metro_lines_run_straight_or_at_45_degrees(a, b):
    path = metro_path(a, b)
    assert path[0] == a and path[-1] == b
    assert all(round(heading(p, q), 6) % 45 == 0 for p, q in itertools.pairwise(path))
    assert len(path) <= 4  # at most one diagonal between two straight runs


@pytest.mark.parametrize(("a", "b"), ENDS)
def test_a_stretch_is_the_same_track_in_both_directions(a, b):
    """Routes using a stretch in opposite directions must lie on one track to run parallel."""
    assert metro_path(b, a) == tuple(reversed(metro_path(a, b)))


def test_offset_lines_stay_parallel_at_the_gap():
    path = metro_path((0, 0), (100, 30))
    moved = offset_path(path, 4)
    for (p, q), (r, s) in zip(itertools.pairwise(path), itertools.pairwise(moved), strict=True):
        assert heading(p, q) == pytest.approx(heading(r, s))
        assert distance_to_line(r, p, q) == pytest.approx(4)
        assert distance_to_line(s, p, q) == pytest.approx(4)


def test_stops_are_numbered_in_journey_order_each_offer_once():
    stations = {k: at(x, 0) for k, x in {"a": 0, "b": 100, "c": 200, "d": 300}.items()}
    stops = journey_stops(Journey("p", (("a", "b"), ("b", "c"), ("a", "d"))), stations)
    assert [s.offer for s in stops] == ["a", "b", "c", "d"]
    assert [s.number for s in stops] == [1, 2, 3, 4]
    assert [s.phase for s in stops] == [1, 1, 2, 3]
    assert stops[0].at == stations["a"].centre


def test_a_phase_is_visited_in_the_order_with_the_shortest_line():
    """Offers in one phase are parallel: the line visits them without zigzagging."""
    stations = {"start": at(0, 0), "far": at(300, 0), "near": at(100, 0), "mid": at(200, 0)}
    stops = journey_stops(Journey("p", (("start",), ("far", "near", "mid"))), stations)
    assert [s.offer for s in stops] == ["start", "near", "mid", "far"]
    assert {s.phase for s in stops[1:]} == {2}


def test_a_journey_starts_at_the_left_where_the_map_begins():
    stations = {"right": at(300, 0), "left": at(0, 0), "mid": at(150, 0)}
    stops = journey_stops(Journey("p", (("right", "left", "mid"),)), stations)
    assert [s.offer for s in stops] == ["left", "mid", "right"]


def test_a_phase_ends_near_where_the_next_one_goes():
    """Without looking ahead the line would double back over itself into the next phase."""
    stations = {"start": at(0, 0), "up": at(100, -100), "down": at(100, 100), "next": at(200, 100)}
    stops = journey_stops(Journey("p", (("start",), ("down", "up"), ("next",))), stations)
    assert [s.offer for s in stops] == ["start", "up", "down", "next"]


def test_routes_sharing_a_stretch_run_side_by_side():
    stations = {"a": at(0, 0), "b": at(100, 0), "c": at(200, -50), "d": at(200, 50)}
    plan = plan_routes([Journey("p", (("a",), ("b",), ("c",))), Journey("q", (("a",), ("b",), ("d",)))], stations, gap=6)
    shared = next(s for s in plan.stretches if s.ends == ("a", "b"))
    assert set(shared.lines) == {"p", "q"}
    ys = {r.persona: r.path[1][1] for r in plan.routes}  # the a–b piece is horizontal
    assert abs(ys["p"] - ys["q"]) == pytest.approx(6)
    alone = next(s for s in plan.stretches if s.ends == ("b", "c"))
    assert alone.lines == ("p",)


def crossing_case(first: str, second: str):
    """Two lines share a–b; p leaves upwards at b, q downwards; they arrive from `first`/`second` of e, f."""
    stations = {"e": at(0, -100), "f": at(0, 100), "a": at(100, 0), "b": at(200, 0), "c": at(300, -100), "d": at(300, 100)}
    journeys = [Journey("p", ((first,), ("a",), ("b",), ("c",))), Journey("q", ((second,), ("a",), ("b",), ("d",)))]
    return plan_routes(journeys, stations, gap=6)


def shared_heights(plan) -> dict[str, float]:
    """The height of each line on the horizontal shared stretch a(100, 0)–b(200, 0)."""
    return {r.persona: next(y for x, y in r.path if 100 <= x <= 200 and y != 0) for r in plan.routes}


def test_line_order_avoids_a_crossing_that_can_be_avoided():
    """p comes from above and leaves upwards: on the shared stretch it must run on the upper side."""
    plan = crossing_case("e", "f")
    p, q = plan.routes
    assert plan.crossings == 0
    y_shared = shared_heights(plan)
    assert y_shared["p"] < y_shared["q"]  # y grows downwards
    assert p.path[0][1] < 0 < q.path[0][1]


def test_line_order_is_the_same_whatever_the_content_order():
    """A persona listed first must not win the upper slot when it belongs below."""
    plan = plan_routes(
        [Journey("q", (("f",), ("a",), ("b",), ("d",))), Journey("p", (("e",), ("a",), ("b",), ("c",)))],
        {"e": at(0, -100), "f": at(0, 100), "a": at(100, 0), "b": at(200, 0), "c": at(300, -100), "d": at(300, 100)},
        gap=6,
    )
    y_shared = shared_heights(plan)
    assert y_shared["p"] < y_shared["q"] and plan.crossings == 0


def test_a_crossing_no_order_can_avoid_is_counted_once():
    """p comes from above and leaves downwards, q the other way round: they must cross once."""
    plan = crossing_case("f", "e")
    assert plan.crossings == 1


def test_lines_continuing_together_keep_their_sides():
    """Three stretches in a row shared by three lines: no crossings at the stations between."""
    stations = {k: at(100 * i, 0) for i, k in enumerate("abcd")}
    journeys = [Journey(p, (("a",), ("b",), ("c",), ("d",))) for p in ("p", "q", "r")]
    plan = plan_routes(journeys, stations, gap=6)
    assert plan.crossings == 0
    for stretch in plan.stretches:
        assert stretch.lines == plan.stretches[0].lines


def test_a_single_route_has_no_offsets():
    stations = {"a": at(0, 0), "b": at(100, 40)}
    plan = plan_routes([Journey("p", (("a",), ("b",)))], stations, gap=6)
    assert plan.routes[0].path == metro_path(stations["a"].centre, stations["b"].centre)


def test_key_text_stays_inside_the_key(theme):
    from mulighetskart.layout.text import TextMeasure

    style = theme.section("journeys").route
    measure = TextMeasure.from_theme(theme)
    entries = [KeyEntry(Mark("stop", "#1f5fa8", str(i)), f"Tilbud nummer {i} med en ganske lang tittel som må brytes", "Fase 1 · 0–3 mnd")
               for i in range(1, 4)]
    key = layout_key("Rute gjennom mulighetskartet: Amal", "Tilbudene er nummerert.", entries, (0.0, 0.0), style, measure)
    assert all(line.x + measure.width(line.text, line.size, line.font) <= style.key_width + 1e-6 for line in key.lines)
    assert [m.label for m in key.marks] == ["1", "2", "3"]
    assert [m.at[1] for m in key.marks] == sorted(m.at[1] for m in key.marks)
    assert key.bottom > key.lines[-1].y


def test_golden_route_geometry_from_fixture(fixture_content, theme, golden):
    """The routes of the fixture personas through the gutters of the route map, with their line orders."""
    from mulighetskart.layout.routes import check_routes
    from mulighetskart.render.journeys import MapBase, journey_of

    style = theme.section("journeys")
    base = MapBase.of(fixture_content, theme, style, fixture_content.guide.updated)
    plan = plan_routes([journey_of(p) for p in fixture_content.personas], base.stations, style.route.line_width + style.route.line_gap, base.corridors)
    check = check_routes(plan, base.corridors)
    assert (check.through_boxes, check.over_text) == (0, 0)
    golden("journeys/routes.txt", describe(plan) + f"check {check}\n")


def describe(plan) -> str:
    """The plan as text, one stop, path or stretch per line (reviewable diffs)."""
    xy = lambda p: f"{p[0]:g},{p[1]:g}"  # noqa: E731
    lines = [f"crossings {plan.crossings}"]
    for route in plan.routes:
        lines.append(f"route {route.persona}")
        lines += [f"  stop {s.number} {s.offer} phase {s.phase} at {xy(s.at)}" for s in route.stops]
        lines.append("  path " + " ".join(xy(p) for p in route.path))
    lines += [f"stretch {a} - {b}: {' '.join(s.lines)}" for s in plan.stretches for a, b in [s.ends]]
    return "\n".join(lines) + "\n"


def test_two_different_runs_between_the_same_stations_are_split_at_a_new_station():
    """A direct stretch a–b and a detour a–y–b: the detour is cut at one of its own points,
    never at a station that already is one (which made the planner loop forever)."""
    from mulighetskart.layout.routes import Network, _chains

    detour, direct = [(0.0, 0.0), (0.0, 5.0), (5.0, 5.0), (5.0, 0.0)], [(0.0, 0.0), (5.0, 0.0)]
    ids = {"p": ["0.00,0.00", "0.00,5.00", "5.00,5.00", "5.00,0.00"], "q": ["0.00,0.00", "5.00,0.00"]}
    junctions = {"0.00,0.00", "5.00,0.00"}
    _, clash = _chains(["p", "q"], ids, junctions)
    assert clash in {"0.00,5.00", "5.00,5.00"}
    network, ways = Network.of_tracks(["p", "q"], {"p": detour, "q": direct})
    assert ways["q"] == ["0.00,0.00", "5.00,0.00"] and len(network.lines) == 3


def test_the_best_order_of_a_stretch_is_the_order_with_fewest_crossings():
    """Checked against every order of up to six lines, with crossings drawn at random."""
    import random

    from mulighetskart.layout.routes import _best_order, _pair_cost

    rng = random.Random(7)
    for n in range(1, 7):
        for _ in range(20):
            lines = [f"p{i}" for i in range(n)]
            pairs = {(p, q): [rng.randint(0, 3), rng.randint(0, 3)] for p, q in itertools.combinations(lines, 2) if rng.random() < 0.7}
            cost = _pair_cost(pairs)
            assert cost(_best_order(lines, pairs)) == min(cost(list(o)) for o in itertools.permutations(lines))


def test_a_stretch_of_more_lines_than_the_exact_search_takes_the_best_move_of_one_line():
    """Beyond EXACT_LIMIT lines, the order is the first cheapest of all moves of one line to
    another place, as trying each of them in turn finds it."""
    import random

    from mulighetskart.layout.routes import EXACT_LIMIT, _best_order, _pair_cost

    rng = random.Random(11)
    for n in (EXACT_LIMIT + 1, EXACT_LIMIT + 3):
        for _ in range(10):
            lines = [f"p{i:02d}" for i in range(n)]
            pairs = {(p, q): [rng.randint(0, 3), rng.randint(0, 3)] for p, q in itertools.combinations(lines, 2) if rng.random() < 0.5}
            moves = ([*rest[:k], lines[i], *rest[k:]] for i in range(n) for rest in [[*lines[:i], *lines[i + 1:]]] for k in range(n))
            assert _best_order(lines, pairs) == min(moves, key=_pair_cost(pairs))


def test_crossings_are_found_wherever_lines_run():
    """Level, upright and slanted segments of random lines: every proper crossing of two
    different lines is found, as trying every pair of segments finds them."""
    import random

    from mulighetskart.layout.routes import _cross, crossing_points

    rng = random.Random(3)
    for _ in range(20):
        paths = []
        for _ in range(6):
            points = [(rng.randint(0, 60) / 2, rng.randint(0, 60) / 2)]
            for _ in range(8):
                x, y = points[-1]
                step = rng.choice(("level", "upright", "slanted"))
                points.append((rng.randint(0, 60) / 2, y) if step == "level" else (x, rng.randint(0, 60) / 2) if step == "upright"
                              else (rng.randint(0, 60) / 2, rng.randint(0, 60) / 2))
            paths.append(points)
        segments = [(i, a, b) for i, path in enumerate(paths) for a, b in itertools.pairwise(path)]
        every_pair = sum(i != j and _cross(a, b, c, d) for k, (i, a, b) in enumerate(segments) for j, c, d in segments[k + 1:])
        assert len(crossing_points(paths)) == every_pair
    # a line that goes back over its own track crosses another line there twice
    assert len(crossing_points([[(0.0, 5.0), (10.0, 5.0)], [(5.0, 0.0), (5.0, 10.0), (5.0, 0.0)]])) == 2
