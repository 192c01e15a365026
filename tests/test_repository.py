"""The repository stands on its own: documents it cites are part of it."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tracked_files() -> list[Path]:
    done = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 0:
        return [ROOT / line for line in done.stdout.splitlines() if line]
    skip = {".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", "build", "dist"}
    return [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.parts)]


def test_no_file_cites_a_design_note_outside_the_repository():
    outside = "KERNELS" + ".md"  # spelled in two parts so this file does not match itself
    found = []
    for path in tracked_files():
        if not path.is_file() or path.suffix in {".png", ".npz", ".whl"}:
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [
            f"{path.relative_to(ROOT)}:{number}"
            for number, line in enumerate(text.splitlines(), 1)
            if outside in line
        ]
    assert not found, f"cite docs/kernels.md instead of {outside}: {', '.join(found)}"


def test_kernel_citations_point_at_sections_that_exist():
    headings = [
        line for line in (ROOT / "docs" / "kernels.md").read_text().splitlines() if line[:1] == "#"
    ]
    numbers = {h.split()[1].rstrip(".") for h in headings if h.split()[1][:1].isdigit()}
    cited = []
    for path in [*ROOT.joinpath("axoncl").rglob("*.py"), *ROOT.joinpath("kernels").glob("*.cl")]:
        text = " ".join(path.read_text().split())  # a citation may wrap
        for part in text.split("docs/kernels.md, section ")[1:]:
            cited.append((path.name, part.split()[0].rstrip(').:,"')))
    assert len(cited) >= 6
    missing = [(name, number) for name, number in cited if number not in numbers]
    assert not missing, f"sections not in docs/kernels.md: {missing}; it has {sorted(numbers)}"
