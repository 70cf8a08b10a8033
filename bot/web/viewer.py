"""Who is looking at /admin: the person signed in, and what their role lets them see.

Every signed-in page asks `viewer(request)`; the sign-in (bot/web/security.py, admin.py)
sets `request[VIEWER]`. Roles: `marketer` sees numbers and answers, never contacts, and
sees broadcasts without sending them; `sales` sees contacts too and sends broadcasts;
`owner` sees everything and manages people. The admin token (LEADBOT_ADMIN_TOKEN, scripts
and /metrics) acts as the owner.

May import: aiohttp, the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

ROLES = ("marketer", "sales", "owner")


@dataclass(frozen=True)
class Viewer:
    name: str  # as recorded beside every view of contacts
    role: str  # one of ROLES

    @property
    def sees_contacts(self) -> bool:
        return self.role in ("sales", "owner")

    @property
    def sends_broadcasts(self) -> bool:
        """Creates, previews, sends, pauses, resumes and cancels broadcasts (a marketer sees
        them and their results only)."""
        return self.role in ("sales", "owner")

    @property
    def manages_people(self) -> bool:
        return self.role == "owner"


TOKEN_HOLDER = Viewer("admin token", "owner")
VIEWER = web.RequestKey("leadbot_viewer", Viewer)  # the request's key


def viewer(request: web.Request) -> Viewer:
    """The signed-in person (set when the sign-in was checked); the token holder otherwise."""
    found = request.get(VIEWER)
    return found if isinstance(found, Viewer) else TOKEN_HOLDER
