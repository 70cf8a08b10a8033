"""`leadbot` as a real process in a test: the environment it starts with.

Nothing of the developer's own `LEADBOT_` settings leaks in, and the web server `leadbot run`
starts listens on a free port of 127.0.0.1: a test never depends on port 8080 being free (it
was taken on a newcomer's machine, and each such test lost two minutes, then failed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

LEADBOT = str(Path(sys.executable).with_name("leadbot"))


def leadbot_environment(**settings: str) -> dict[str, str]:
    """os.environ without LEADBOT_ settings, then a free port, then `settings` on top."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_")}
    environment.update(LEADBOT_HOST="127.0.0.1", LEADBOT_PORT="0")
    environment.update(settings)
    return environment
