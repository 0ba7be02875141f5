"""Text normalisation shared by training and serving, so both see exactly the same strings."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

_HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
URL_TOKEN = "xxurl"


@lru_cache(maxsize=8)
def _repeat_run(keep: int) -> re.Pattern[str]:
    return re.compile(rf"(.)\1{{{keep},}}")


@dataclass(frozen=True)
class Normalizer:
    lowercase: bool = True
    strip_html: bool = True
    replace_urls: bool = True
    max_char_repeat: int = 3

    @classmethod
    def from_dict(cls, settings: dict[str, Any] | None) -> Normalizer:
        return cls(**(settings or {}))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __call__(self, text: str) -> str:
        # NFKC folds full-width and stylised letters (e.g. "ｉｄｉｏｔ") onto plain ones.
        text = unicodedata.normalize("NFKC", text)
        if self.strip_html:
            text = html.unescape(_HTML_TAG.sub(" ", text))
        if self.replace_urls:
            text = _URL.sub(f" {URL_TOKEN} ", text)
        if self.lowercase:
            text = text.lower()
        if self.max_char_repeat > 0:
            # "stuuuuupid" and "stuuupid" should map to the same tokens.
            keep = self.max_char_repeat
            text = _repeat_run(keep).sub(lambda m: m.group(1) * keep, text)
        return _WHITESPACE.sub(" ", text).strip()
