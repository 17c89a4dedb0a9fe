"""``python -m wog_assets.cli``: the ``wog`` command."""

import sys

from wog_assets.cli import main

sys.exit(main())
