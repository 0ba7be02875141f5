"""Raw text -> padded token-id tensors, the one path used by training, evaluation and serving."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from tokenizers import Tokenizer

from pyfunc.respelling import Respeller, known_words
from pyfunc.text import Normalizer
from pyfunc.vocabulary import PAD_TOKEN, UNK_TOKEN

# Text past this many characters per token slot cannot reach the first max_len tokens, so it is cut
# before normalising: a 1 MB comment costs the same as a long normal one. A served model may cut
# shorter (serving.max_chars).
CHARS_PER_TOKEN_BUDGET = 32


class TextEncoder:
    """Normalises, tokenises and truncates texts; pads batches to their own longest sequence.

    With a lexicon of toxic-looking words, disguised ones are read back after normalising
    (pyfunc/respelling.py): a word the tokenizer does not know whole, one edit from one of them.
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        normalizer: Normalizer,
        max_len: int,
        lexicon: Sequence[str] = (),
        max_chars: int = 0,
        misread_letters: int = 1,
        frequent_words: Sequence[str] = (),
    ) -> None:
        if max_len < 1 or max_chars < 0:
            raise ValueError(f"need max_len >= 1 and max_chars >= 0, got {max_len}, {max_chars}")
        self.tokenizer = tokenizer
        self.normalizer = normalizer
        self.max_len = max_len
        self.lexicon = list(lexicon)
        self.misread_letters = misread_letters
        self.frequent_words = list(frequent_words)
        self.respeller = (
            Respeller(
                self.lexicon,
                known_words(tokenizer.get_vocab(), self.frequent_words),
                misread_letters,
            )
            if self.lexicon
            else None
        )
        self.pad_id = self._token_id(PAD_TOKEN)
        self.unk_id = self._token_id(UNK_TOKEN)
        # Characters of a text read at most, before normalising (0: the budget of max_len tokens).
        self.max_chars = max_chars or max_len * CHARS_PER_TOKEN_BUDGET

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        normalizer: Normalizer,
        max_len: int,
        lexicon: Sequence[str] = (),
        max_chars: int = 0,
        misread_letters: int = 1,
        frequent_words: Sequence[str] = (),
    ) -> TextEncoder:
        tokenizer = Tokenizer.from_file(str(path))
        return cls(
            tokenizer, normalizer, max_len, lexicon, max_chars, misread_letters, frequent_words
        )

    def _token_id(self, token: str) -> int:
        token_id = self.tokenizer.token_to_id(token)
        if token_id is None:
            raise ValueError(f"tokenizer has no {token} token")
        return token_id

    def normalize(self, texts: Sequence[str]) -> list[str]:
        return [self.normalizer(text[: self.max_chars], self.respeller) for text in texts]

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, at most max_len; an empty text becomes [UNK], so it gets a score."""
        encodings = self.tokenizer.encode_batch(self.normalize(texts), add_special_tokens=False)
        return [enc.ids[: self.max_len] or [self.unk_id] for enc in encodings]

    def pad(self, sequences: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(token_ids [batch, longest], lengths [batch]) padded to the longest sequence given."""
        lengths = torch.tensor([len(seq) for seq in sequences], dtype=torch.long)
        token_ids = torch.full((len(sequences), int(lengths.max())), self.pad_id, dtype=torch.long)
        for row, seq in enumerate(sequences):
            token_ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        return token_ids, lengths
