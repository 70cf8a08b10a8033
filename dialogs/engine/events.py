"""What a prospect can do in Telegram, as the engine sees it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Start:
    """/start, possibly from a deep link (`source`) in the prospect's Telegram language."""

    user_id: int
    language_code: str | None = None
    source: str | None = None
    seed: str = ""  # random per conversation, from the transport: makes reward codes unguessable
    # the consents in force with the flow's company (the ledger's, from the transport):
    # purpose -> policy version; None: only the previous conversation's, if the same company
    consents: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Tap:
    """An inline button; carries what it was drawn for, so a stale tap is recognised."""

    flow_id: str
    flow_version: int
    step: str
    option: str


@dataclass(frozen=True, slots=True)
class TextMessage:
    """Any text the prospect types, numbers included (Telegram has no separate number).
    `forwarded`: someone else's words passed on, not typed by the prospect."""

    text: str
    forwarded: bool = False


@dataclass(frozen=True, slots=True)
class ContactShared:
    """Telegram's share-contact: accepted only when the contact is the sender's own."""

    phone: str
    sender_user_id: int
    contact_user_id: int | None


@dataclass(frozen=True, slots=True)
class OtherMessage:
    """A sticker, photo, voice, video, location ... anything the engine cannot read."""

    kind: str


@dataclass(frozen=True, slots=True)
class Back:
    pass


@dataclass(frozen=True, slots=True)
class Restart:
    pass


@dataclass(frozen=True, slots=True)
class ChangeLanguage:
    language: str


Event = Start | Tap | TextMessage | ContactShared | OtherMessage | Back | Restart | ChangeLanguage
