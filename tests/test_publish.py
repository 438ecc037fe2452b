"""Publishing: the previous output survives a failed, interrupted or killed build, and a
folder the tool did not make is never replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mulighetskart.errors import BuildError
from mulighetskart.publish import REPORT, Writer, is_mount, mount_points, recover, staged


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def previous(tmp_path) -> Path:
    out = tmp_path / "output"
    with staged(out, rebuild=["map", "handbook"]) as stage:
        w = Writer(stage)
        w.write("map/mulighetskart.svg", "<svg>old</svg>")
        w.write("handbook/handbok.pdf", b"%PDF old")
        (stage / REPORT).write_text("{}")
    return out


def test_success_replaces_only_rebuilt_targets(previous):
    with staged(previous, rebuild=["map"]) as stage:
        Writer(stage).write("map/mulighetskart.svg", "<svg>new</svg>")
        (stage / REPORT).write_text("{}")
    files = snapshot(previous)
    assert files["map/mulighetskart.svg"] == b"<svg>new</svg>"
    assert files["handbook/handbok.pdf"] == b"%PDF old"  # carried over, not rebuilt
    assert not list(previous.parent.glob(".output.*"))  # no leftovers


def test_exception_leaves_previous_output_untouched(previous):
    before = snapshot(previous)
    with pytest.raises(RuntimeError), staged(previous, rebuild=["map"]) as stage:
        Writer(stage).write("map/mulighetskart.svg", "<svg>half</svg>")
        raise RuntimeError("renderer crashed")
    assert snapshot(previous) == before
    assert not list(previous.parent.glob(".output.*"))


def test_ctrl_c_leaves_previous_output_untouched(previous):
    before = snapshot(previous)
    with pytest.raises(KeyboardInterrupt), staged(previous, rebuild=["map"]):
        raise KeyboardInterrupt
    assert snapshot(previous) == before


def test_kill_9_mid_build_leaves_previous_output_and_next_build_works(previous):
    before = snapshot(previous)
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from mulighetskart.publish import Writer, staged
        with staged(Path({str(previous)!r}), rebuild=["map"]) as stage:
            Writer(stage).write("map/mulighetskart.svg", "<svg>half</svg>")
            print("writing", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert snapshot(previous) == before
    assert list(previous.parent.glob(".output.staging-*"))  # the dead build's leftovers …
    with staged(previous, rebuild=["map"]) as stage:
        Writer(stage).write("map/mulighetskart.svg", "<svg>next</svg>")
        (stage / REPORT).write_text("{}")
    assert snapshot(previous)["map/mulighetskart.svg"] == b"<svg>next</svg>"
    assert not list(previous.parent.glob(".output.*"))  # … are swept by the next build


def test_swap_cut_between_renames_is_recovered(previous):
    before = snapshot(previous)
    previous.rename(previous.parent / ".output.old-999999")  # as if killed right after the first rename
    with staged(previous, rebuild=["map"]) as stage:
        (stage / REPORT).write_text("{}")
        Writer(stage).write("map/mulighetskart.svg", "<svg>old</svg>")
    assert snapshot(previous)["handbook/handbok.pdf"] == before["handbook/handbok.pdf"]


def test_write_error_is_clear_and_keeps_old_output(previous):
    before = snapshot(previous)
    with pytest.raises(BuildError, match="previous output is unchanged"), staged(previous, rebuild=["map"]):
        raise OSError(28, "No space left on device")
    assert snapshot(previous) == before


def test_foreign_folder_is_never_replaced(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.docx").write_text("years of work")
    with pytest.raises(BuildError, match="was not made by mulighetskart"), staged(home, rebuild=["map"]):
        pass
    assert (home / "thesis.docx").read_text() == "years of work"


def test_writer_refuses_one_path_twice_and_escapes(tmp_path):
    w = Writer(tmp_path).sub("fragments")
    w.write("offer/amo.html", "<p>a</p>")
    with pytest.raises(BuildError, match=r"two items map to the same output file fragments/offer/amo\.html"):
        w.write("offer/amo.html", "<p>b</p>")
    with pytest.raises(BuildError, match="outside"):
        w.write("../../etc/passwd", "x")


def workers_writing(out: Path) -> list[int]:
    """Processes whose command line names `out` (a build's workers inherit it)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(out).encode() in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


def test_killed_cli_build_leaves_previous_output(tmp_path):
    """End to end: kill -9 a real build while it renders; the last good output stays."""
    out = tmp_path / "out"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    cmd = [sys.executable, "-m", "mulighetskart", "build", "--content", "tests/fixtures/content", "--out", str(out), "-q"]
    first = subprocess.run([*cmd, "--only", "map"], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    before = snapshot(out)
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".out.staging-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    proc.kill()
    proc.wait()
    assert snapshot(out) == before
    deadline = time.monotonic() + 10  # its worker processes end with it instead of lingering
    while (left := workers_writing(out)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == []


def test_mount_points_are_read_from_mountinfo():
    table = ("22 1 254:0 / / rw - ext4 /dev/vda rw\n"
             "66 46 254:0 /srv/out /mnt/web\\040site rw,relatime - ext4 /dev/vda rw\n")
    assert mount_points(table) == {"/", "/mnt/web site"}


def test_output_inside_a_folder_that_cannot_be_renamed(tmp_path):
    """--out on a mount point: the stage lives inside it and the folder itself is never
    renamed (its inode stays), while a failed build still leaves it untouched."""
    out = tmp_path / "mnt"
    out.mkdir()
    (out / "lost+found").mkdir()  # a fresh file system's own folder: not foreign, never moved
    inode = out.stat().st_ino
    with staged(out, rebuild=["map", "handbook"], inside=True) as stage:
        assert stage.parent == out
        Writer(stage).write("map/mulighetskart.svg", "<svg>old</svg>")
        Writer(stage).write("handbook/handbok.pdf", b"%PDF old")
        (stage / REPORT).write_text("{}")
    before = snapshot(out)
    with pytest.raises(RuntimeError), staged(out, rebuild=["map"], inside=True) as stage:
        Writer(stage).write("map/mulighetskart.svg", "<svg>half</svg>")
        raise RuntimeError("renderer crashed")
    assert snapshot(out) == before
    with staged(out, rebuild=["map"], inside=True) as stage:
        Writer(stage).write("map/mulighetskart.svg", "<svg>new</svg>")
        (stage / REPORT).write_text("{}")
    files = snapshot(out)
    assert files["map/mulighetskart.svg"] == b"<svg>new</svg>"
    assert files["handbook/handbok.pdf"] == b"%PDF old"
    assert out.stat().st_ino == inode
    assert sorted(p.name for p in out.iterdir()) == [REPORT, "handbook", "lost+found", "map"]


def test_swap_inside_cut_short_is_finished_by_the_next_build(tmp_path):
    out = tmp_path / "mnt"
    with staged(out, rebuild=["map"], inside=False) as stage:
        Writer(stage).write("map/a.svg", "old")
        (stage / REPORT).write_text("{}")
    dead = 999999  # no such process: its leftovers are a dead build's
    stage, old = out / f".staging-{dead}", out / f".old-{dead}"
    Writer(stage).write("map/a.svg", "new")
    (stage / REPORT).write_text("{}")
    (stage / ".complete").touch()
    old.mkdir()
    (out / REPORT).rename(old / REPORT)  # cut short after the first rename
    recover(out)
    assert snapshot(out) == {"map/a.svg": b"new", REPORT: b"{}"}


def test_a_real_mount_point_is_recognised(tmp_path):
    assert is_mount(Path("/"))
    assert not is_mount(tmp_path)
