"""`mulighetskart serve`: build, serve OUT on localhost, rebuild on change, reload the page.

One thread watches content/, layouts/ and fonts/ (watchfiles) and rebuilds; the HTTP server
streams server-sent events to open pages: `reload` after a good build, `problem` with the
message after a failed one (the page shows it as a banner; the server stays up).
"""

from __future__ import annotations

import html
import http.server
import json
import threading
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .build import BuildOptions, build
from .errors import MulighetskartError
from .theme import load_theme

EVENTS_PATH = "/__events"
CLIENT_SCRIPT = "/__live.js"


@dataclass
class State:
    """What the server knows about the last build; guarded by `changed`."""

    generation: int = 0
    problem: str = ""
    changed: threading.Condition = field(default_factory=threading.Condition)

    def newer_than(self, generation: int) -> bool:
        return self.generation != generation

    def publish(self, problem: str) -> None:
        with self.changed:
            self.generation += 1
            self.problem = problem
            self.changed.notify_all()


def rebuild(opts: BuildOptions, state: State, log) -> None:
    try:
        result = build(opts)
    except MulighetskartError as exc:
        log(exc.format_message())
        state.publish(exc.format_message())
        return
    log(f"built {len(result.files)} files")
    state.publish("")


def watch(opts: BuildOptions, state: State, stop: threading.Event, log, watching: threading.Event) -> None:
    """Rebuild on every change; `watching` is set once the file watcher is in place, so an
    edit made right after "serving …" is printed is not missed."""
    from watchfiles import watch as watch_paths

    roots = [p for p in (opts.content, opts.edition, opts.layouts, _fonts_folder(opts.layouts)) if p and Path(p).exists()]
    # yield_on_timeout: an empty batch every 100 ms tells us the watcher exists
    for changes in watch_paths(*roots, stop_event=stop, debounce=200, step=50, rust_timeout=100, yield_on_timeout=True):
        watching.set()
        if changes:
            log(f"changed: {', '.join(sorted({Path(p).name for _, p in changes}))}")
            rebuild(opts, state, log)


def make_handler(opts: BuildOptions, state: State):
    env = Environment(loader=FileSystemLoader(Path(opts.layouts) / "serve"), autoescape=select_autoescape())

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            if self.path == EVENTS_PATH:
                return self._events()
            if self.path == CLIENT_SCRIPT:
                return self._send(env.get_template("live.js").render().encode(), "text/javascript")
            if self.path in ("/", "/index.html"):
                page = env.get_template("index.html.j2").render(files=_listing(opts.out), problem=state.problem, live=CLIENT_SCRIPT)
                return self._send(page.encode(), "text/html; charset=utf-8")
            return super().do_GET()

        def _send(self, body: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _events(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen = state.generation
            try:
                while True:
                    with state.changed:
                        fresh = state.changed.wait_for(partial(state.newer_than, seen), timeout=15)
                        seen, problem = state.generation, state.problem
                    if not fresh:
                        self.wfile.write(b": keep-alive\n\n")
                    elif problem:
                        message = json.dumps({"problem": problem}, ensure_ascii=False)
                        self.wfile.write(f"event: problem\ndata: {message}\n\n".encode())
                    else:
                        self.wfile.write(b"event: reload\ndata: {}\n\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return

        def log_message(self, *args):
            pass

    return Handler


def _fonts_folder(layouts: Path) -> Path | None:
    try:
        return load_theme(layouts, {}).font_path().parent
    except MulighetskartError:
        return None  # the build reports the theme's problem


def _listing(out: Path) -> list[str]:
    if not Path(out).is_dir():
        return []
    keep = (".svg", ".pdf", ".png", ".json", ".html")
    return sorted(p.relative_to(out).as_posix() for p in Path(out).rglob("*") if p.suffix in keep and "/assets/" not in p.as_posix())


def serve(opts: BuildOptions, host: str, port: int, log, ready=None) -> None:
    """Build once, then serve and watch until interrupted."""
    state = State()
    opts = replace(opts, on_progress=lambda name, seconds: None)
    rebuild(opts, state, log)
    Path(opts.out).mkdir(parents=True, exist_ok=True)
    handler = partial(make_handler(opts, state), directory=str(Path(opts.out).resolve()))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    stop, watching = threading.Event(), threading.Event()
    watcher = threading.Thread(target=watch, args=(opts, state, stop, log, watching), daemon=True)
    watcher.start()
    watching.wait(timeout=10)
    url = f"http://{host}:{server.server_address[1]}/"
    log(f"serving {html.escape(str(opts.out))} at {url} (Ctrl-C stops)")
    if ready:
        ready(url)
    try:
        server.serve_forever()
    finally:
        stop.set()
        server.server_close()
