"""Train the WordPiece tokenizer that the served model carries as tokenizer.json."""

from __future__ import annotations

from collections.abc import Sequence

from tokenizers import Tokenizer, decoders
from tokenizers.models import WordPiece
from tokenizers.pre_tokenizers import BertPreTokenizer
from tokenizers.trainers import WordPieceTrainer

from pyfunc.encoding import SPECIAL_TOKENS, UNK_TOKEN
from pyfunc.text import Normalizer


def train_tokenizer(
    texts: Sequence[str], normalizer: Normalizer, vocab_size: int, min_frequency: int
) -> Tokenizer:
    """WordPiece over normalised texts: sub-words keep misspelt and obfuscated words scoreable.

    Special tokens come first, so [PAD] is id 0 and [UNK] is id 1.
    """
    tokenizer = Tokenizer(WordPiece(unk_token=UNK_TOKEN))
    tokenizer.pre_tokenizer = BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        show_progress=False,
    )
    tokenizer.train_from_iterator(
        (normalizer(t) for t in texts), trainer=trainer, length=len(texts)
    )
    return tokenizer
