"""Honest types: `mypy --strict` accepts every correct use in
typecheck/good.py and reports every mistake in typecheck/bad.py, each on
its line with its error code, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

HERE = Path(__file__).parent / "typecheck"
REPO = Path(__file__).resolve().parents[2]
ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<message>.*)  \[(?P<code>[a-z-]+)\]$")


def run_mypy(path: Path) -> tuple[int, list[tuple[int, str, str]]]:
    stdout, stderr, status = mypy_api.run([
        "--strict", "--show-error-codes", "--no-error-summary",
        "--cache-dir", str(REPO / "target" / "mypy-typing-cache"), str(path),
    ])
    errors = []
    for line in stdout.splitlines():
        m = ERROR.match(line)
        if m:
            errors.append((int(m["line"]), m["code"], m["message"]))
    assert not stderr, stderr
    return status, errors


def test_correct_uses_type_check() -> None:
    status, errors = run_mypy(HERE / "good.py")
    assert errors == [] and status == 0


def test_every_mistake_is_reported_where_marked() -> None:
    source = (HERE / "bad.py").read_text().splitlines()
    expected = {(n, m.group(1)) for n, text in enumerate(source, 1)
                if (m := re.search(r"# E: ([a-z-]+)$", text))}
    assert len(expected) >= 12
    status, errors = run_mypy(HERE / "bad.py")
    assert status == 1
    assert {(line, code) for line, code, _ in errors} == expected, errors
