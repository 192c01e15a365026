"""What every worker shares: write this rank's JSON report into the folder named last on the
command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from axoncl import distributed as dist


def report(payload: dict[str, Any]) -> None:
    folder = Path(sys.argv[-1])
    (folder / f"rank{dist.get_rank()}.json").write_text(json.dumps(payload))


def error_text(call: Any) -> str:
    """The message of the exception that ``call()`` raises ("" when it returns)."""
    try:
        call()
    except (ValueError, TypeError, RuntimeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""
