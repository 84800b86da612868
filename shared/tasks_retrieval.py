"""Synthetic long-context retrieval: key-value pairs hidden in filler, then queries for their values.

A sequence of length L is a context region followed by a query region of 2 * n_queries tokens:

    f f k_a v_a f f f f k_b v_b f ... f k_c v_c f f  |  k_b v_b  k_c v_c ...  k_a v_a
    `---- context: n_pairs pairs at random places in filler ---' `--- queries: keys asked once each ---'

Keys are distinct within a sequence and no key is asked twice, so every answer has to be read from the
context. Loss and accuracy are taken only on the answers: `targets` is -100 everywhere except at the query
keys, where it holds the value that the model must predict next. The number of pairs does not depend on L,
so a longer sequence only adds filler: the task stays as hard while the pair moves further back, and
accuracy beyond the training length measures whether the model's position encoding extrapolates. This is
the passkey-retrieval test of the context-extension papers (PI, YaRN, LongRoPE) in miniature.

Two flavours:
- `typed_values=True` (default): each key owns its own alphabet of values, so the answer is the one token of
  the key's alphabet in the context. One attention hop finds it and a 2-layer model learns it in ~100 steps.
- `typed_values=False`: all keys share one alphabet, the answer is "the token after the key" (associative
  recall). This needs an induction circuit (two composed attention hops) and takes far longer to learn.

Token ids: keys, then values, then filler; `vocab_size` counts them all.

Local order (`copy_lag=k`, off by default): every context position t >= k also gets a target, the token k places
back, inputs[t - k]. Answering it needs the exact offset k (no content tells which earlier token it is), so it
measures whether a position encoding still resolves short distances; the retrieval answers measure long ones.
`answer_mask(seq_len)` tells the two kinds of target apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class KVRetrieval:
    n_keys: int = 4
    n_values: int = 16  # values per key if typed_values, else in total
    n_filler: int = 16
    n_pairs: int = 4  # pairs per sequence (<= n_keys)
    n_queries: int = 4  # queries per sequence (<= n_pairs)
    typed_values: bool = True
    copy_lag: int | None = None  # if set, context positions t >= copy_lag also predict inputs[t - copy_lag]

    def __post_init__(self):
        assert self.n_pairs <= self.n_keys, "keys are distinct within a sequence"
        assert self.n_queries <= self.n_pairs, "no key is asked twice"
        assert self.copy_lag is None or self.copy_lag >= 1, "copy_lag counts positions back (>= 1)"

    @property
    def value_offset(self) -> int:
        return self.n_keys

    @property
    def filler_offset(self) -> int:
        return self.n_keys + self.n_values * (self.n_keys if self.typed_values else 1)

    @property
    def vocab_size(self) -> int:
        return self.filler_offset + self.n_filler

    @property
    def min_len(self) -> int:
        return 2 * self.n_pairs + 2 * self.n_queries

    def answer_mask(self, seq_len: int) -> torch.Tensor:
        """Bool (seq_len,): True at the query keys, whose targets are retrieval answers (the same for every row)."""
        mask = torch.zeros(seq_len, dtype=torch.bool)
        mask[seq_len - 2 * self.n_queries :: 2] = True
        return mask

    def sample(
        self,
        batch_size: int,
        seq_len: int,
        *,
        seed: int | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (inputs, targets), both int64 of shape (batch_size, seq_len).

        Deterministic given `seed` (or the state of `generator`); pass neither to use torch's global RNG.
        """
        if seq_len < self.min_len:
            raise ValueError(f"seq_len must be at least {self.min_len} for {self.n_pairs} pairs")
        if generator is None and seed is not None:
            generator = torch.Generator().manual_seed(seed)
        B, n, m = batch_size, self.n_pairs, self.n_queries
        ctx = seq_len - 2 * m  # length of the context region

        def row_perms(size: int) -> torch.Tensor:  # an independent random permutation of range(size) per row
            return torch.rand(B, size, generator=generator).argsort(dim=1)

        keys = row_perms(self.n_keys)[:, :n]
        values = torch.randint(0, self.n_values, (B, n), generator=generator)
        if self.typed_values:
            values = values + keys * self.n_values
        values = values + self.value_offset
        # n non-overlapping 2-token slots in ctx places: pick n of ctx - n starts, then shift the j-th by j
        starts = row_perms(ctx - n)[:, :n].sort(dim=1).values + torch.arange(n)

        inputs = torch.randint(self.filler_offset, self.vocab_size, (B, seq_len), generator=generator)
        inputs.scatter_(1, starts, keys)
        inputs.scatter_(1, starts + 1, values)
        asked = row_perms(n)[:, :m]  # which pairs the queries ask for, in order
        inputs[:, ctx::2] = keys.gather(1, asked)
        inputs[:, ctx + 1 :: 2] = values.gather(1, asked)
        targets = torch.full_like(inputs, -100)
        if self.copy_lag is not None and ctx > self.copy_lag:  # local order: the token copy_lag places back
            targets[:, self.copy_lag : ctx] = inputs[:, : ctx - self.copy_lag]
        targets[:, ctx::2] = values.gather(1, asked)  # after reading a query key, predict its value
        return inputs, targets


@torch.no_grad()
def answer_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of answer positions (targets != -100) where the argmax of the logits is the target."""
    mask = targets != -100
    return (logits.argmax(-1)[mask] == targets[mask]).float().mean().item()
