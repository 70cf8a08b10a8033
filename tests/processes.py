"""`leadbot` as a real process in a test: the environment it starts with.

Nothing of the developer's own `LEADBOT_` settings leaks in, and the web server `leadbot run`
starts listens on a free port of 127.0.0.1: a test never depends on port 8080 being free (it
was taken on a newcomer's machine, and each such test lost two minutes, then failed)."""

from __future__ import annotations

import os
import random
import socket
import sys
from pathlib import Path

LEADBOT = str(Path(sys.executable).with_name("leadbot"))


def leadbot_environment(**settings: str) -> dict[str, str]:
    """os.environ without LEADBOT_ settings, then a free port, then `settings` on top."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_")}
    environment.update(LEADBOT_HOST="127.0.0.1", LEADBOT_PORT="0")
    environment.update(settings)
    return environment


def free_port() -> int:
    """A port of 127.0.0.1 free now, for a process started seconds later (nginx, a fleet's
    `leadbot run --webhook`), chosen below the kernel's ephemeral range (32768-60999 by
    default: /proc/sys/net/ipv4/ip_local_port_range). Every other test's server binds port 0
    and every outgoing connection gets its port from that range, so neither can be handed
    this one meanwhile, also by the other xdist worker (bind(0) then close could give the
    same port to the other worker's next server)."""
    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(ephemeral.read_text().split()[0]) if ephemeral.exists() else 32768
    for _ in range(100):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken: another
            return port
    raise AssertionError(f"no free port of 127.0.0.1 below {low} in 100 tries")
