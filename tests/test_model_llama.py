"""The readable pure-torch GPT (shared/model.py) is a Llama when configured as one: on copied weights
its logits equal transformers' LlamaForCausalLM, with RoPE plugged in through the position hook."""

from __future__ import annotations

import torch
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

from llm901_shared.model import GPT, GPTConfig


def test_gpt_matches_llama_on_copied_weights():
    torch.manual_seed(0)
    vocab, d, layers, heads, hidden = 97, 32, 2, 4, 64
    hf = LlamaForCausalLM(LlamaConfig(
        vocab_size=vocab, hidden_size=d, intermediate_size=hidden, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=heads, rms_norm_eps=1e-6, max_position_embeddings=64,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, tie_word_embeddings=False,
        attn_implementation="eager",
    )).eval()  # fmt: skip
    for p in hf.parameters():  # larger than the default init, so that a wrong wiring shows
        torch.nn.init.normal_(p, std=0.3) if p.dim() > 1 else torch.nn.init.uniform_(p, 0.5, 1.5)
    gpt = GPT(GPTConfig(vocab_size=vocab, n_layer=layers, n_head=heads, n_embd=d, norm="rmsnorm", mlp="swiglu",
                        mlp_hidden=hidden, tie_weights=False)).eval()
    with torch.no_grad():
        gpt.tok_emb.weight.copy_(hf.model.embed_tokens.weight)
        for block, layer in zip(gpt.blocks, hf.model.layers, strict=True):
            a = layer.self_attn
            block.norm1.weight.copy_(layer.input_layernorm.weight)
            block.attn.qkv.weight.copy_(torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight]))
            block.attn.proj.weight.copy_(a.o_proj.weight)
            block.norm2.weight.copy_(layer.post_attention_layernorm.weight)
            block.mlp.gate.weight.copy_(layer.mlp.gate_proj.weight)
            block.mlp.up.weight.copy_(layer.mlp.up_proj.weight)
            block.mlp.down.weight.copy_(layer.mlp.down_proj.weight)
        gpt.norm_f.weight.copy_(hf.model.norm.weight)
        gpt.lm_head.weight.copy_(hf.lm_head.weight)

    def rope(q, k, positions):
        cos, sin = hf.model.rotary_emb(q, positions[None])
        return apply_rotary_pos_emb(q, k, cos, sin)

    gpt.position_hook = rope
    ids = torch.randint(0, vocab, (2, 17))
    with torch.no_grad():
        expected = hf(ids).logits
        got, _ = gpt(ids)
    assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4), (got - expected).abs().max()
