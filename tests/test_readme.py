"""Every Python snippet in README.md runs as written, in order, in one namespace (as a reader
pasting them into one session would). The whole README takes minutes (its DDPG and sweep examples
train for real): the default suite runs the quick opening snippets and compiles the rest; the slow
test runs them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
QUICK = 4  # the Python API section's opening snippets: seconds each


def python_snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _run(snippets: list[str]) -> None:
    namespace: dict = {}
    for number, snippet in enumerate(snippets):
        try:
            exec(compile(snippet, f"README.md python snippet {number}", "exec"), namespace)
        except Exception as error:  # name the snippet: the traceback alone points into exec
            raise AssertionError(f"README python snippet {number} failed: {error!r}\n{snippet}") from error


def test_every_readme_python_snippet_compiles():
    snippets = python_snippets()
    assert len(snippets) > QUICK
    for number, snippet in enumerate(snippets):
        compile(snippet, f"README.md python snippet {number}", "exec")


def test_the_readme_opening_snippets_run_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _run(python_snippets()[:QUICK])


@pytest.mark.slow
def test_every_readme_python_snippet_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets that write (runs/...) write here
    _run(python_snippets())
