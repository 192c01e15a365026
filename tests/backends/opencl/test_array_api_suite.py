"""The official array API conformance suite (data-apis/array-api-tests) against the OpenCL
namespace.

The suite lives beside the checkout, in ``../shared/array-api-tests`` (see its PROVENANCE.md);
where it is absent this test skips and says so. It runs in a subprocess with every dtype and
extension (complex and fft included), a fixed hypothesis seed, so a run is repeatable, and
hypothesis's shrink phase off (``array_api_profile.py``), so a failure cannot take minutes.
Known failures are listed in ``array_api_xfails.txt`` beside this file, each with its reason,
tied to a limitation in docs/array-api.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SUITE = Path(os.environ.get("AXONCL_ARRAY_API_TESTS", REPO.parent / "shared" / "array-api-tests"))
XFAILS = Path(__file__).with_name("array_api_xfails.txt")
MAX_EXAMPLES = 20
PASS_FRACTION = 0.97
TIMEOUT_S = 900  # the run takes about 1 minute on a 2-core CPU with PoCL (warm kernel cache)


def read_xfails(path: Path) -> dict[str, str]:
    """Test id -> reason, from lines ``<test id>  # <reason>``."""
    xfails = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        test_id, sep, reason = line.partition("#")
        if not sep or not reason.strip():
            raise ValueError(
                f"{path.name}:{number}: expected '<test id>  # <reason>', got {line!r}"
            )
        xfails[test_id.strip()] = reason.strip()
    return xfails


def test_xfails_file_gives_a_reason_for_each_test():
    assert read_xfails(XFAILS)


@pytest.mark.slow
def test_array_api_suite_passes(xp, tmp_path):
    if not (SUITE / "array_api_tests").is_dir():
        pytest.skip(f"the array API suite is not at {SUITE} (see AXONCL_ARRAY_API_TESTS)")
    for plugin in ("pytest_jsonreport", "ndindex"):
        try:
            __import__(plugin)
        except ImportError:
            pytest.fail(f"the array API suite needs {plugin}; pip install -e '.[test]'")
    ids = tmp_path / "xfails.txt"
    ids.write_text("\n".join(read_xfails(XFAILS)) + "\n")
    report = tmp_path / "report.json"
    env = {
        **os.environ,
        "ARRAY_API_TESTS_MODULE": "axoncl.backends.opencl",
        "PYTHONPATH": os.pathsep.join(
            [str(REPO), str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
        ),
        # Leave the shared copy of the suite untouched: no bytecode, hypothesis's files here.
        "PYTHONDONTWRITEBYTECODE": "1",
        "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp_path / "hypothesis"),
    }
    env.pop("ARRAY_API_TESTS_SKIP_DTYPES", None)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "array_api_tests/",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--max-examples={MAX_EXAMPLES}",
        "--disable-deadline",
        "--derandomize",  # fixed examples: the same result on every run, no example database
        "-p",
        "array_api_profile",  # no shrinking
        f"--xfails-file={ids}",
        "--json-report",
        f"--json-report-file={report}",
    ]
    run = subprocess.run(
        command, cwd=SUITE, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    if not report.exists():
        pytest.fail(f"the suite did not run (exit {run.returncode}):\n{run.stdout[-3000:]}")
    tests = json.loads(report.read_text())["tests"]
    outcomes: dict[str, list[str]] = {}
    for test in tests:
        outcomes.setdefault(test["outcome"], []).append(test["nodeid"])
    # A listed test that passes (xpassed) counts as passed; a listed failure (xfailed) does not.
    passed = len(outcomes.get("passed", [])) + len(outcomes.get("xpassed", []))
    failed = outcomes.get("failed", []) + outcomes.get("error", [])
    ran = passed + len(failed) + len(outcomes.get("xfailed", []))
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert ran, f"the suite ran no test: {summary}"
    assert passed / ran >= PASS_FRACTION, (
        f"{passed} of {ran} suite tests passed ({passed / ran:.1%}, expected >= "
        f"{PASS_FRACTION:.0%}); {summary}\nnew failures (not in {XFAILS.name}):\n  "
        + "\n  ".join(failed)
    )
