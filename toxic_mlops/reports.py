"""The checks that validation and monitoring report, and their markdown form."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # validation: ok / warn / fail; monitoring: ok / drift / degraded
    detail: str
    value: float = math.nan


def checks_markdown(title: str, headline: str, checks: Sequence[Check]) -> str:
    lines = [
        f"# {title}",
        "",
        headline,
        "",
        "| check | status | value | detail |",
        "|---|---|---|---|",
    ]
    lines += [f"| {c.name} | {c.status} | {c.value:.4g} | {c.detail} |" for c in checks]
    return "\n".join(lines) + "\n"
