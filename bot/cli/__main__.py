"""`python -m bot.cli`: the `leadbot` command without its console script."""

import sys

from bot.cli.main import main

sys.exit(main())
