"""``python -m asyncmachine``: the same as the ``asyncmachine`` command."""

import sys

from .cli import main

sys.exit(main())
