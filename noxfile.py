"""Developer sessions: `nox -s tests`, `lint`, `build`, `goldens`, `bench`, `fuzz`, `a11y`, `cms`."""

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and common bugs with ruff."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "noxfile.py", *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """Build every output into output/."""
    session.install("-e", ".")
    session.run("mulighetskart", "build", *session.posargs)


@nox.session
def goldens(session: nox.Session) -> None:
    """Regenerate golden files on purpose; review the diff before committing."""
    session.install("-e", ".[dev]")
    session.run("pytest", "--update-goldens", "-q", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmark builds at 1×, 3× and 10× content; writes output/bench.json."""
    session.install("-e", ".")
    session.run("python", "benchmarks/bench.py", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Run the property-based tests with many more examples than CI."""
    session.install("-e", ".[dev]")
    session.run("pytest", "-m", "fuzz", "-p", "no:cacheprovider", *session.posargs, env={"HYPOTHESIS_PROFILE": "fuzz"})


@nox.session
def a11y(session: nox.Session) -> None:
    """Check every CMS fragment with the Nu Html Checker and axe-core (needs java, chromium, npm)."""
    session.install("-e", ".[dev]")
    session.run("pytest", "tests/test_fragments_a11y.py", "-q", *session.posargs, env={"MULIGHETSKART_A11Y_ALL": "1"})


@nox.session
def cms(session: nox.Session) -> None:
    """Import every CMS fragment into Wagtail (SQLite) and through its rich-text editor's conversion."""
    session.install("-e", ".[dev,cms]")
    session.run("pytest", "tests/test_fragments_cms.py", "-q", "-p", "no:cacheprovider", *session.posargs)
