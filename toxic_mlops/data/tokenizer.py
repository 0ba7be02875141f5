"""Train the BPE tokenizer that the served model carries as tokenizer.json."""

from __future__ import annotations

from collections.abc import Sequence as TextSequence

from tokenizers import Tokenizer, decoders
from tokenizers.models import BPE
from tokenizers.pre_tokenizers import BertPreTokenizer, Metaspace, Sequence
from tokenizers.trainers import BpeTrainer

from pyfunc.text import Normalizer
from pyfunc.vocabulary import SPECIAL_TOKENS, UNK_TOKEN


def train_tokenizer(
    texts: TextSequence[str], normalizer: Normalizer, vocab_size: int, min_frequency: int
) -> Tokenizer:
    """Sub-word BPE over normalised texts: keeps misspelt and obfuscated words scoreable.

    BPE without a continuing-subword prefix, not WordPiece: the WordPiece trainer (and BPE with
    a `##` prefix or an end-of-word suffix, and Unigram) gives a different vocabulary on every
    run of the same data, because it numbers sub-words in hash-map order and breaks ties by
    those numbers (huggingface/tokenizers#1794). Without them the vocabulary is a function of
    the data, so the same split and seed give the same model. Special tokens come first: [PAD]
    is id 0 and [UNK] is id 1.
    """
    tokenizer = Tokenizer(BPE(unk_token=UNK_TOKEN))
    # Words, then "▁" in front of each: word-initial pieces stay distinct from word-internal ones
    # (what WordPiece's "##" does), as part of the alphabet rather than a prefix, so it is stable.
    tokenizer.pre_tokenizer = Sequence([BertPreTokenizer(), Metaspace()])
    tokenizer.decoder = decoders.Metaspace()
    trainer = BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        show_progress=False,
    )
    tokenizer.train_from_iterator(
        (normalizer(t) for t in texts), trainer=trainer, length=len(texts)
    )
    return tokenizer
