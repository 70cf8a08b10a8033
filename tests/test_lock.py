"""Installs come from requirements.lock: every requirement of pyproject.toml (the
dependencies, the dev extra, the tooling group) is pinned there, at a version its range
allows, with hashes. A dependency added to pyproject.toml without `make relock` fails here,
not on a newcomer's machine with an ImportError."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def pins() -> list[tuple[str, str]]:
    """(name, version) of every `name==version` line of the lock: a package may be pinned
    twice, under two markers (a universal lock: one version per Python where they differ)."""
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    return [(canonicalize_name(name), version)
            for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", text, re.M)]


def wanted() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    rows = (project["project"]["dependencies"] + project["project"]["optional-dependencies"]["dev"]
            + project["dependency-groups"]["tooling"])
    return [Requirement(row) for row in rows]


def test_every_requirement_is_pinned_in_the_lock_within_its_range():
    locked: dict[str, list[str]] = {}
    for name, version in pins():
        locked.setdefault(name, []).append(version)
    missing = [str(r) for r in wanted() if canonicalize_name(r.name) not in locked]
    outside = [f"{r} (locked {version})" for r in wanted()
               for version in locked.get(canonicalize_name(r.name), [])
               if not r.specifier.contains(version, prereleases=True)]
    assert (missing, outside) == ([], []), "run `make relock` and commit requirements.lock"


def test_every_pin_carries_its_hashes():
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text.split("\n", 2)[2])
    assert len(blocks) == len(pins()) > 40
    assert [b.split(" ", 1)[0] for b in blocks if "--hash=sha256:" not in b] == []
