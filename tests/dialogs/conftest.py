from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from dialogs.format.loader import load_flow
from dialogs.format.schema import Flow
from tests.dialogs.flowkit import MINIMAL


@pytest.fixture
def flow_data() -> dict:
    return copy.deepcopy(MINIMAL)


@pytest.fixture
def write_flow(tmp_path: Path) -> Callable[[dict], Path]:
    def write(data: dict, name: str = "demo.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_flow(write_flow) -> Callable[[dict], Flow]:
    def make(data: dict) -> Flow:
        return load_flow(write_flow(data))

    return make
