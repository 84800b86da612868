"""Tiny, randomly initialised `transformers` models used as oracles, and helpers to copy weights into them.

A hidden test of a lab builds one of these models, copies the student's weights into the matching
submodule (or the submodule's weights into the student's module) and compares outputs on the same input:

    from llm901_shared import hf_models
    hf = hf_models.tiny_mixtral()                         # MixtralForCausalLM, 2 layers, hidden 64, 4 experts
    block = hf.model.layers[0].mlp                        # MixtralSparseMoeBlock
    hf_models.copy_weights(student_block, block.state_dict(), {"router.weight": "gate.weight", ...})
    torch.testing.assert_close(student_block(x), block(x), rtol=1e-5, atol=1e-5)

Builders (each returns a model in eval mode, built offline from a config, seeded):

    tiny_llama      LlamaForCausalLM      grouped-query attention (4 query heads, 2 KV heads), RoPE
    tiny_qwen3      Qwen3ForCausalLM      as Llama plus per-head RMSNorm of q and k (QK-norm)
    tiny_mixtral    MixtralForCausalLM    sparse MoE: 4 SwiGLU experts, top-2, softmax router
    tiny_deepseek   DeepseekV3ForCausalLM MLA (low-rank q and kv, decoupled RoPE key), layer 0 dense,
                                          layer 1 DeepSeekMoE: 1 shared + 8 routed experts, sigmoid
                                          affinities, group-limited top-2, e_score_correction_bias
    tiny_gpt_oss    GptOssForCausalLM     learned attention sinks, alternating sliding/full attention,
                                          4 experts top-2 with clamped SwiGLU and biases
    tiny_mamba      MambaForCausalLM      selective SSM, run by the sequential (slow) path on CPU

Settings made explicit on purpose (transformers 5 traps):
  - `rope_parameters` is always given: gpt-oss would otherwise default to YaRN with factor 32, and the
    other models' defaults differ between architectures;
  - `attn_implementation="eager"`: the readable attention function, the only one that returns attention
    weights and (for gpt-oss) supports sinks;
  - MoE models use `experts_implementation="eager"`: the per-expert Python loop over the fused 3-D
    parameters (`gate_up_proj`, `down_proj`), rather than a grouped-matmul kernel;
  - `initializer_range = 1/sqrt(hidden)`: with the usual 0.02 a 64-wide model is so close to the identity
    that a wrong attention or MoE changes the logits by less than a test's tolerance (and argmax flips on
    rounding noise); at 1/sqrt(hidden) every sublayer changes its output by O(1).
  - vocab 1024 (the course tokenizer), pad/bos/eos = 0/1/2, context 256.

Fused MoE layouts (what `copy_weights` has to produce from a student's per-expert matrices):
  - Mixtral, DeepseekV3: gate_up_proj (E, 2I, H) = [W_gate; W_up] stacked on dim 1 (nn.Linear layout,
    y = x @ W.T); down_proj (E, H, I).  Use `stack_experts` and `fuse_gate_up`.
  - GptOss: gate_up_proj (E, H, 2I), *transposed* (y = x @ W) and *interleaved* (gate = [..., ::2],
    up = [..., 1::2]); down_proj (E, I, H); plus biases.  Use `fuse_gate_up(..., interleaved=True)` on
    transposed matrices.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn as nn

VOCAB_SIZE = 1024  # the course tokenizer's
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2
MAX_POSITIONS = 256
ROPE = {"rope_type": "default", "rope_theta": 10000.0}  # plain RoPE, for every attention model here

__all__ = [
    "BUILDERS",
    "build",
    "copy_weights",
    "fuse_gate_up",
    "stack_experts",
    "tiny_deepseek",
    "tiny_gpt_oss",
    "tiny_llama",
    "tiny_mamba",
    "tiny_mixtral",
    "tiny_qwen3",
]


def _common(hidden: int) -> dict[str, Any]:
    """Settings shared by every builder (see the module docstring for why)."""
    return {
        "vocab_size": VOCAB_SIZE,
        "pad_token_id": PAD_ID,
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "initializer_range": 1.0 / math.sqrt(hidden),
        "tie_word_embeddings": False,
    }


def _make(model_cls, config, seed: int):
    """Instantiate with a fixed seed (weights are a function of the seed only) and switch to eval mode."""
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = model_cls(config)
    finally:
        torch.random.set_rng_state(gen_state)  # do not disturb the caller's random stream
    return model.eval()


def _dense_decoder(overrides: dict) -> dict:
    """The shape Llama and Qwen3 share here: 2 layers, hidden 64, 4 query and 2 key/value heads of size
    16, SwiGLU 128, explicit plain RoPE, eager attention; `overrides` win."""
    return {
        **_common(overrides.get("hidden_size", 64)),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "max_position_embeddings": MAX_POSITIONS,
        "rope_parameters": dict(ROPE),
        "rms_norm_eps": 1e-6,
        "attention_bias": False,
        "attn_implementation": "eager",
        **overrides,
    }


def tiny_llama(seed: int = 0, **overrides):
    """LlamaForCausalLM: 2 layers, hidden 64, 4 query heads and 2 key/value heads of size 16, SwiGLU 128."""
    from transformers import LlamaConfig, LlamaForCausalLM

    return _make(LlamaForCausalLM, LlamaConfig(**_dense_decoder({"mlp_bias": False, **overrides})), seed)


def tiny_qwen3(seed: int = 0, **overrides):
    """Qwen3ForCausalLM: as `tiny_llama`, plus QK-norm (RMSNorm over each head's q and k before RoPE)."""
    from transformers import Qwen3Config, Qwen3ForCausalLM

    return _make(Qwen3ForCausalLM, Qwen3Config(**_dense_decoder({"use_sliding_window": False, **overrides})), seed)


def tiny_mixtral(seed: int = 0, **overrides):
    """MixtralForCausalLM: 2 layers, hidden 64, GQA 4/2 heads, sparse MoE of 4 SwiGLU experts (128), top-2.

    Router: softmax over the 4 logits, keep the top 2, renormalise them to sum to 1 (no jitter noise).
    Pass `output_router_logits=True` to get per-layer router logits (for `load_balancing_loss_func`).
    """
    from transformers import MixtralConfig, MixtralForCausalLM

    kw = {
        **_common(overrides.get("hidden_size", 64)),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "max_position_embeddings": MAX_POSITIONS,
        "rope_parameters": dict(ROPE),
        "rms_norm_eps": 1e-6,
        "sliding_window": None,
        "num_local_experts": 4,
        "num_experts_per_tok": 2,
        "router_jitter_noise": 0.0,
        "router_aux_loss_coef": 0.001,  # the library's default, stated; only scales the returned aux_loss
        "attn_implementation": "eager",
        "experts_implementation": "eager",
        **overrides,
    }
    return _make(MixtralForCausalLM, MixtralConfig(**kw), seed)


def tiny_deepseek(seed: int = 0, **overrides):
    """DeepseekV3ForCausalLM with multi-head latent attention and DeepSeekMoE, at toy size.

    Attention (MLA), 4 heads: q = W_qb RMSNorm(W_qa x) with q_lora_rank 32; kv latent c = W_kva x of rank
    kv_lora_rank 16 plus a shared RoPE key of size qk_rope_head_dim 8; per head a no-RoPE part of 16 and
    values of 16.  RoPE here is *interleaved* (rope_interleave=True, as in DeepSeek's checkpoints): pairs
    (0,1), (2,3), ... rotate together, unlike Llama's rotate-half.
    MoE (layer 1; layer 0 is a dense SwiGLU of 128): 1 shared expert + 8 routed experts of 32, sigmoid
    affinities, experts in 4 groups of 2, the best 2 groups kept, top-2 experts, weights renormalised then
    scaled by routed_scaling_factor 2.5; `mlp.gate.e_score_correction_bias` (zeros) is added for the choice
    of experts only (auxiliary-loss-free balancing).
    """
    from transformers import DeepseekV3Config, DeepseekV3ForCausalLM

    kw = {
        **_common(overrides.get("hidden_size", 64)),
        "hidden_size": 64,
        "intermediate_size": 128,
        "moe_intermediate_size": 32,
        "num_hidden_layers": 2,
        "first_k_dense_replace": 1,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "q_lora_rank": 32,
        "kv_lora_rank": 16,
        "qk_rope_head_dim": 8,
        "qk_nope_head_dim": 16,
        "v_head_dim": 16,
        "n_shared_experts": 1,
        "n_routed_experts": 8,
        "num_experts_per_tok": 2,
        "n_group": 4,
        "topk_group": 2,
        "norm_topk_prob": True,
        "routed_scaling_factor": 2.5,
        "max_position_embeddings": MAX_POSITIONS,
        "rope_parameters": dict(ROPE),
        "rope_interleave": True,
        "rms_norm_eps": 1e-6,
        "attention_bias": False,
        "attn_implementation": "eager",
        "experts_implementation": "eager",
        **overrides,
    }
    return _make(DeepseekV3ForCausalLM, DeepseekV3Config(**kw), seed)


def tiny_gpt_oss(seed: int = 0, **overrides):
    """GptOssForCausalLM: 2 layers (sliding window 8, then full), hidden 64, 4 query / 2 KV heads of 16.

    Each attention layer has learned per-head sinks (`self_attn.sinks`): an extra logit in the softmax
    denominator that takes probability mass but contributes no value.  Attention has biases.  MoE: 4
    experts of 64, top-2 chosen on the router's logits, softmax over those 2; clamped SwiGLU
    (gate <= 7, |up| <= 7, gate * sigmoid(1.702 gate) * (up + 1)).  Plain RoPE (the config would
    otherwise default to YaRN with factor 32 and original length 4096).
    """
    from transformers import GptOssConfig, GptOssForCausalLM

    kw = {
        **_common(overrides.get("hidden_size", 64)),
        "hidden_size": 64,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "sliding_window": 8,
        "layer_types": ["sliding_attention", "full_attention"],
        "num_local_experts": 4,
        "num_experts_per_tok": 2,
        "max_position_embeddings": MAX_POSITIONS,
        "rope_parameters": dict(ROPE),
        "rms_norm_eps": 1e-6,
        "attention_bias": True,
        "attn_implementation": "eager",
        "experts_implementation": "eager",
        **overrides,
    }
    return _make(GptOssForCausalLM, GptOssConfig(**kw), seed)


def tiny_mamba(seed: int = 0, **overrides):
    """MambaForCausalLM: 2 layers, hidden 64, expand 2 (inner 128), state 8, conv 4, dt rank 4.

    Without the CUDA kernels (never on the course machines) the mixer runs its slow path: discretise
    (A_bar = exp(dt A), B_bar x = dt B x) and run the recurrence h_t = A_bar_t h_{t-1} + B_bar_t x_t,
    y_t = C_t h_t + D x_t, gated by silu(z).  `use_mambapy` and `use_associative_scan` are off so that
    this sequential loop is what runs.  Mamba keeps its own initialisation (dt, A = -[1..N]).
    """
    from transformers import MambaConfig, MambaForCausalLM

    kw = {
        "vocab_size": VOCAB_SIZE,
        "pad_token_id": PAD_ID,
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "hidden_size": 64,
        "state_size": 8,
        "num_hidden_layers": 2,
        "expand": 2,
        "conv_kernel": 4,
        "time_step_rank": 4,
        "use_bias": False,
        "use_conv_bias": True,
        "layer_norm_epsilon": 1e-5,
        "residual_in_fp32": True,
        "use_mambapy": False,
        "use_associative_scan": False,
        "tie_word_embeddings": False,
        **overrides,
    }
    return _make(MambaForCausalLM, MambaConfig(**kw), seed)


BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "llama": tiny_llama,
    "qwen3": tiny_qwen3,
    "mixtral": tiny_mixtral,
    "deepseek_v3": tiny_deepseek,
    "gpt_oss": tiny_gpt_oss,
    "mamba": tiny_mamba,
}


def build(name: str, seed: int = 0, **overrides) -> nn.Module:
    """`build("mixtral")` == `tiny_mixtral()`; the names are the keys of BUILDERS."""
    if name not in BUILDERS:
        raise KeyError(f"unknown tiny model {name!r}; known: {', '.join(BUILDERS)}")
    return BUILDERS[name](seed=seed, **overrides)


# ---- copying weights by name ---------------------------------------------------------------------------------

Source = str | torch.Tensor | Callable[[Mapping[str, torch.Tensor]], torch.Tensor]


def copy_weights(
    dst: nn.Module,
    src: Mapping[str, torch.Tensor] | nn.Module,
    mapping: Mapping[str, Source] | None = None,
    *,
    strict: bool = True,
) -> list[str]:
    """Copy named tensors into the parameters/buffers of `dst`; returns the names of dst that were set.

    src:      a state dict (name -> tensor) or a module (its state_dict() is used).
    mapping:  {dst_name: source}, where source is
                - a name in `src`                          "q_proj.weight": "attn.W_q"
                - a tensor                                 "q_proj.weight": W_q
                - a function of the whole `src` dict       "experts.gate_up_proj": lambda s: fuse_gate_up(...)
              None means "the same names on both sides" (every name of `src` must exist in dst).
    strict:   every parameter of `dst` must be set (buffers such as rotary tables are optional); with
              strict=False only the mapped names are set and the rest keep their values.

    Shapes must match exactly (no silent broadcasting or transposition: a transpose belongs in the mapping,
    e.g. `lambda s: s["W"].T`); dtypes are converted to the destination's.  Works in both directions:
    student -> library module, and library module -> student (pass the library module's state_dict()).
    """
    if isinstance(src, nn.Module):
        src = src.state_dict()
    if mapping is None:
        mapping = {name: name for name in src}
    targets = dict(dst.named_parameters())
    targets.update(dict(dst.named_buffers()))
    unknown = [n for n in mapping if n not in targets]
    if unknown:
        raise KeyError(f"{type(dst).__name__} has no parameter or buffer named {unknown}; it has: {sorted(targets)}")
    if strict:
        missing = [n for n, _ in dst.named_parameters() if n not in mapping]
        if missing:
            raise KeyError(f"no source given for these parameters of {type(dst).__name__}: {missing} "
                           f"(pass strict=False to leave them as they are)")  # fmt: skip
    done = []
    with torch.no_grad():
        for name, source in mapping.items():
            if isinstance(source, str):
                if source not in src:
                    raise KeyError(f"source tensor {source!r} (for {name!r}) not found; available: {sorted(src)}")
                value = src[source]
            elif callable(source):
                value = source(src)
            else:
                value = source
            value = torch.as_tensor(value)
            target = targets[name]
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError(f"{name}: destination has shape {tuple(target.shape)}, source has "
                                 f"{tuple(value.shape)} (transpose or reshape it in the mapping)")  # fmt: skip
            target.copy_(value.to(dtype=target.dtype, device=target.device))
            done.append(name)
    return done


def stack_experts(weights) -> torch.Tensor:
    """[W_0, ..., W_{E-1}] (each the same shape) -> one (E, ...) tensor, the fused experts' layout."""
    return torch.stack([torch.as_tensor(w) for w in weights], dim=0)


def fuse_gate_up(gate: torch.Tensor, up: torch.Tensor, *, dim: int = -2, interleaved: bool = False) -> torch.Tensor:
    """Fuse gate and up projections into one tensor along `dim`.

    Concatenated (Mixtral, DeepseekV3; nn.Linear layout (.., I, H), dim=-2): [gate; up].
    Interleaved (GptOss; transposed layout (.., H, I), use dim=-1): gate, up, gate, up, ... so that
    fused[..., ::2] == gate and fused[..., 1::2] == up.
    """
    if gate.shape != up.shape:
        raise ValueError(f"gate {tuple(gate.shape)} and up {tuple(up.shape)} must have the same shape")
    if not interleaved:
        return torch.cat([gate, up], dim=dim)
    dim = dim % gate.dim()
    return torch.stack([gate, up], dim=dim + 1).flatten(dim, dim + 1)
