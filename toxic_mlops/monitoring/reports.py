"""The checks that validation and monitoring report, and the report both write out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


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


@dataclass
class Report:
    """Checks made on a batch of `rows` comments; subclasses say what the headline is."""

    rows: int
    checks: list[Check] = field(default_factory=list)

    def headline(self) -> str:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "checks": [asdict(c) for c in self.checks]}

    def to_markdown(self, title: str) -> str:
        return checks_markdown(title, self.headline(), self.checks)
