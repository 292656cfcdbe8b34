"""The stage and check names, read from names.json: the one list the worker (Java) and the harness share."""
from __future__ import annotations

import json
import os
from typing import Dict, List

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "names.json"), encoding="utf-8") as _f:
    _NAMES = json.load(_f)

STAGES: List[str] = [s["name"] for s in _NAMES["stages"]]
# The stages that hold the GPU: what a verdict's device time counts.
DEVICE_STAGES: List[str] = [s["name"] for s in _NAMES["stages"] if s["device"]]
# In the order a verdict lists them.
CHECKS: List[str] = [c["name"] for c in _NAMES["checks"]]
CHECK_MEANINGS: Dict[str, str] = {c["name"]: c["what"] for c in _NAMES["checks"]}


def stage(name: str) -> str:
    """`name`, which must be a stage of names.json: the worker kills a process that reports any other."""
    if name not in STAGES:
        raise ValueError(f"harness bug: '{name}' is not a stage of names.json")
    return name


def check(name: str) -> str:
    """`name`, which must be a check of names.json."""
    if name not in CHECK_MEANINGS:
        raise ValueError(f"harness bug: '{name}' is not a check of names.json")
    return name
