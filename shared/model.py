"""A small decoder-only transformer (nanoGPT-like) with the maths in plain sight.

    x = tok_emb[idx] (+ pos_emb[t] if cfg.pos_emb == "learned")
    for each block:   x = x + Attn(Norm(x));   x = x + MLP(Norm(x))        (pre-norm residual stream)
    logits = Norm(x) @ W_out

Attention of one head, for queries/keys/values q_t, k_s, v_s (head_dim d):

    q, k  <- position_hook(q, k, positions)        # e.g. RoPE rotates q and k; None = no position info here
    a_ts  = softmax_s( q_t . k_s / sqrt(d)  +  mask_ts ),   mask_ts = -inf for s > t (causal)
    y_t   = sum_s a_ts v_s

Position encoding is pluggable.  `cfg.pos_emb = "learned"` adds absolute position embeddings to the input;
a *position hook* changes q and k inside every attention layer (RoPE and its scaled variants are hooks).
A hook is any callable

    hook(q, k, positions) -> (q, k)      q, k: (batch, heads, seq, head_dim), positions: (seq,) int64

and can be swapped at any time (`model.position_hook = ...`), e.g. to apply a context-extension method at
inference only.  `RotaryHook` adapts a pair of RoPE functions (cos/sin tables, apply) to this interface.
The RoPE maths itself is deliberately *not* in this file: lab w02-1 has students write it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

PositionHook = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class GPTConfig:
    vocab_size: int
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    mlp_ratio: int = 4
    mlp: str = "gelu"  # "gelu" (GPT-2: down(gelu(up x))) or "swiglu" (Llama: down(silu(gate x) * up x))
    mlp_hidden: int | None = None  # width of the MLP's hidden layer; None -> mlp_ratio * n_embd
    block_size: int = 1024  # longest sequence; only "learned" position embeddings need it
    pos_emb: str = "none"  # "none" (NoPE unless a position hook is set) or "learned" (absolute)
    norm: str = "layernorm"  # "layernorm" or "rmsnorm"
    bias: bool = False
    dropout: float = 0.0
    tie_weights: bool = True  # output matrix = token embedding matrix
    attn_impl: str = "math"  # "math" (explicit softmax, readable) or "sdpa" (torch's fused kernel, faster)

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def __post_init__(self):
        assert self.n_embd % self.n_head == 0, "n_embd must be divisible by n_head"
        assert self.pos_emb in ("none", "learned"), self.pos_emb
        assert self.norm in ("layernorm", "rmsnorm"), self.norm
        assert self.attn_impl in ("math", "sdpa"), self.attn_impl
        assert self.mlp in ("gelu", "swiglu"), self.mlp


def make_norm(cfg: GPTConfig) -> nn.Module:
    if cfg.norm == "rmsnorm":
        return nn.RMSNorm(cfg.n_embd, eps=1e-6)
    return nn.LayerNorm(cfg.n_embd, bias=cfg.bias)


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout: float = 0.0) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + causal mask) v for (batch, heads, seq, head_dim) tensors."""
    T, S = q.shape[-2], k.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, T, S)
    # query t sits at absolute index S - T + t (T < S when a cache holds earlier keys)
    future = torch.ones(T, S, dtype=torch.bool, device=q.device).triu(S - T + 1)
    scores = scores.masked_fill(future, float("-inf"))
    probs = F.dropout(scores.softmax(dim=-1), p=dropout)
    return probs @ v


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)

    def forward(
        self, x: torch.Tensor, positions: torch.Tensor, position_hook: PositionHook | None = None
    ) -> torch.Tensor:
        B, T, C = x.shape
        H, d = self.cfg.n_head, self.cfg.head_dim
        q, k, v = self.qkv(x).split(C, dim=-1)
        q, k, v = (t.view(B, T, H, d).transpose(1, 2) for t in (q, k, v))  # (B, H, T, d)
        if position_hook is not None:
            q, k = position_hook(q, k, positions)
        p = self.cfg.dropout if self.training else 0.0
        if self.cfg.attn_impl == "sdpa":  # same result as causal_attention (for T == S), fused
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=p)
        else:
            y = causal_attention(q, k, v, dropout=p)
        y = y.transpose(1, 2).reshape(B, T, C)
        return F.dropout(self.proj(y), p=p)


class MLP(nn.Module):
    """GELU MLP (GPT-2) or SwiGLU (Llama), as `cfg.mlp` says; hidden width `cfg.mlp_hidden`."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        hidden = cfg.mlp_hidden or cfg.mlp_ratio * cfg.n_embd
        self.swiglu = cfg.mlp == "swiglu"
        if self.swiglu:
            self.gate = nn.Linear(cfg.n_embd, hidden, bias=cfg.bias)
        self.up = nn.Linear(cfg.n_embd, hidden, bias=cfg.bias)
        self.down = nn.Linear(hidden, cfg.n_embd, bias=cfg.bias)
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.gate(x)) * self.up(x) if self.swiglu else F.gelu(self.up(x))
        return F.dropout(self.down(h), p=self.dropout, training=self.training)


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.norm1, self.attn = make_norm(cfg), CausalSelfAttention(cfg)
        self.norm2, self.mlp = make_norm(cfg), MLP(cfg)

    def forward(self, x, positions, position_hook=None):
        x = x + self.attn(self.norm1(x), positions, position_hook)
        return x + self.mlp(self.norm2(x))


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig, position_hook: PositionHook | None = None):
        super().__init__()
        self.cfg = cfg
        self.position_hook = position_hook  # a plain attribute: not a parameter, not saved in state_dict
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.pos_emb = nn.Embedding(cfg.block_size, cfg.n_embd) if cfg.pos_emb == "learned" else None
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm_f = make_norm(cfg)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_weights:
            self.lm_head.weight = self.tok_emb.weight
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: shrink the residual branches' output projections
            if name.endswith(("attn.proj.weight", "mlp.down.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None, positions: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx: (B, T) token ids; targets: (B, T) ids with -100 where no loss is taken.

        Returns (logits (B, T, vocab), mean cross-entropy over the non-ignored targets or None).
        """
        T = idx.shape[1]
        if positions is None:
            positions = torch.arange(T, device=idx.device)
        x = self.tok_emb(idx)
        if self.pos_emb is not None:
            x = x + self.pos_emb(positions)
        for block in self.blocks:
            x = block(x, positions, self.position_hook)
        logits = self.lm_head(self.norm_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100)
        return logits, loss


class RotaryHook:
    """Adapts RoPE functions to the position-hook interface (cos/sin tables are cached for the last positions).

    inv_freq:         (head_dim // 2,) inverse frequencies theta_i
    cos_sin_fn:       (inv_freq, positions, attention_factor) -> (cos, sin), each (seq, head_dim)
    apply_fn:         (x, cos, sin) -> x rotated, for x of shape (..., seq, head_dim)
    attention_factor: multiplies cos and sin, hence scales every q.k logit by attention_factor**2 (YaRN)
    """

    def __init__(
        self,
        inv_freq: torch.Tensor,
        cos_sin_fn: Callable,
        apply_fn: Callable,
        attention_factor: float = 1.0,
    ):
        self.inv_freq = torch.as_tensor(inv_freq, dtype=torch.float32)
        self.cos_sin_fn, self.apply_fn = cos_sin_fn, apply_fn
        self.attention_factor = float(attention_factor)
        self._cache: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def tables(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._cache is None or not torch.equal(self._cache[0], positions):
            cos, sin = self.cos_sin_fn(self.inv_freq.to(positions.device), positions, self.attention_factor)
            self._cache = (positions.clone(), cos, sin)
        return self._cache[1], self._cache[2]

    def __call__(self, q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor):
        cos, sin = self.tables(positions)
        cos, sin = cos.to(q.dtype), sin.to(q.dtype)
        return self.apply_fn(q, cos, sin), self.apply_fn(k, cos, sin)
