"""Token blocks for the small language-modelling experiments of the labs.

    from llm901_shared.lm_data import token_blocks, random_batch
    train = token_blocks("toystories", "train", seq_len=64)        # LongTensor (n_blocks, 65)
    x, y = random_batch(train, batch_size=32, generator=g)         # inputs and next-token targets

Documents are tokenised with the course tokenizer, each followed by EOS, concatenated and cut into
blocks of seq_len + 1 tokens (one extra so that inputs and targets come from the same block).
Results are cached per process: several experiments of one notebook share one tokenisation.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from . import data
from .tokenizer import load_tokenizer


@lru_cache(maxsize=1)
def tokenizer():
    """The course tokenizer, loaded once per process."""
    return load_tokenizer()


@lru_cache(maxsize=16)
def token_blocks(name: str = "toystories", split: str = "train", seq_len: int = 64,
                 max_blocks: int | None = None) -> torch.Tensor:
    """The text field of a data set split as a LongTensor of shape (n_blocks, seq_len + 1)."""
    tok = tokenizer()
    texts = list(data.load(name, split)["text"])
    if max_blocks is not None:  # documents average well over 8 tokens: this many always suffice
        texts = texts[: max_blocks * (seq_len + 1) // 8 + 1]
    ids: list[int] = []
    for doc in tok(texts, add_special_tokens=False)["input_ids"]:  # one batched call into the Rust tokenizer
        ids.extend(doc)
        ids.append(tok.eos_token_id)
    n = len(ids) // (seq_len + 1)
    if max_blocks is not None:
        n = min(n, max_blocks)
    return torch.tensor(ids[: n * (seq_len + 1)], dtype=torch.long).view(n, seq_len + 1)


def random_batch(blocks: torch.Tensor, batch_size: int, generator: torch.Generator | None = None):
    """(inputs, targets), each (batch_size, seq_len): a random sample of blocks, targets shifted by one."""
    rows = blocks[torch.randint(len(blocks), (batch_size,), generator=generator)]
    return rows[:, :-1], rows[:, 1:]
