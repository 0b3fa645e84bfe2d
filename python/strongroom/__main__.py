"""``python -m strongroom``: the everyday file commands (see strongroom._cli)."""

import sys

from ._cli import main

sys.exit(main())
