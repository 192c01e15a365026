"""Every ```python block of README.md and docs/ runs.

Blocks run in order, one namespace per page, like cells of a notebook, in a subprocess whose
working directory is a temporary folder. A block whose lines start with ``>>>`` runs as a doctest
(its printed output and exceptions are checked). Shell blocks are not run.

A block that cannot run here is marked by an HTML comment on the line above its fence, with the
reason, which the rendered page does not show:

    <!-- not-run: needs mpiexec -->

The reason must say what is missing (a launcher, a GPU, code outside the page), and a marked
block must still parse as Python.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_BLOCK = re.compile(
    r"^(?P<mark>[ \t]*<!-- not-run: (?P<reason>[^>]*?) -->\n)?(?P<indent>[ \t]*)```python\n"
    r"(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
TIMEOUT_S = 300

_RUNNER = r"""
import doctest, json, sys, traceback

pages = json.load(sys.stdin)
results = {}
for page, blocks in pages.items():
    namespace = {"__name__": "__main__"}
    results[page] = None
    for line, source in blocks:
        name = f"{page}:{line}"
        try:
            if source.lstrip().startswith(">>>"):
                test = doctest.DocTestParser().get_doctest(source, namespace, name, page, line)
                flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
                runner = doctest.DocTestRunner(optionflags=flags)
                out = []
                runner.run(test, out=out.append, clear_globs=False)
                namespace.update(test.globs)  # names a doctest block defines carry on
                if runner.failures:
                    raise AssertionError("".join(out))
            else:
                exec(compile(source, name, "exec"), namespace)
        except BaseException:
            results[page] = f"block at {name} failed:\n{traceback.format_exc()}"
            break
print("RESULTS " + json.dumps(results))
"""


def blocks(page: Path) -> list[tuple[int, str, str | None]]:
    """``(line, source, reason to not run or None)`` for each python block of ``page``."""
    text = page.read_text()
    found = []
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start("indent")) + 1
        body = textwrap.dedent(match["body"])
        found.append((line, body, match["reason"] if match["mark"] else None))
    return found


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, str | None]:
    pages = {
        _name(page): [(line, body) for line, body, reason in blocks(page) if reason is None]
        for page in PAGES
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER],
        input=json.dumps(pages),
        capture_output=True,
        text=True,
        cwd=tmp_path_factory.mktemp("snippets"),
        env=env,
        timeout=TIMEOUT_S,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULTS ")]
    assert lines, f"the snippet runner failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(lines[-1].removeprefix("RESULTS "))


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_python_blocks_run(page, results):
    assert results[_name(page)] is None, results[_name(page)]


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_blocks_not_run_give_a_reason_and_parse(page):
    for line, body, reason in blocks(page):
        if reason is not None:
            assert len(reason.split()) >= 2, f"{_name(page)}:{line}: say why the block is not run"
            if not body.lstrip().startswith(">>>"):
                ast.parse(body)


def test_the_block_pattern_finds_indented_and_marked_blocks():
    text = (
        "<!-- not-run: needs mpiexec -->\n```python\nx = 1\n```\n\n"
        "1. item\n\n   ```python\n   y = 2\n   ```\n"
        "   <!-- not-run: a fragment -->\n   ```python\n   z\n   ```\n"
    )
    found = [(m["reason"], textwrap.dedent(m["body"])) for m in _BLOCK.finditer(text)]
    assert found == [("needs mpiexec", "x = 1\n"), (None, "y = 2\n"), ("a fragment", "z\n")]
