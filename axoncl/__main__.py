"""``python -m axoncl``: the same as the ``axoncl`` command."""

import sys

from .cli import main

sys.exit(main())
