"""The tokenizer's special tokens: set when the tokenizer is trained (toxic_mlops/data) and read
by the encoder. Apart from pyfunc/encoding.py so training the tokenizer does not import torch."""

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
SPECIAL_TOKENS = [PAD_TOKEN, UNK_TOKEN]
