"""``python -m asyncmachine.cli``: the same as the ``asyncmachine`` command."""

import sys

from . import main

sys.exit(main())
