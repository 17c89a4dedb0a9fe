"""``python -m wog_cli``: the ``wog`` command."""

import sys

from wog_cli import main

sys.exit(main())
