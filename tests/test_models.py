"""The shared models: tiny library models as oracles, and the committed pretrained target/draft LMs.

Fast by design (no training here): the builders run one forward pass each; the checkpoints are loaded
offline, checked against their manifests' sha256, and a small evaluation (validation loss on the first
200 toystories records, accuracy on 40 records of one task) must reproduce the manifest's numbers:

    loss      within 2e-3 nats per token (same weights and data; only summation order and the attention
              kernel may differ from the run that wrote the manifest)
    accuracy  within 2 of the 40 records (greedy decoding can flip on a near-tie under different kernels)
"""

from __future__ import annotations

import hashlib
import json
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from llm901_shared import hf_models, pretrained
from llm901_shared.tokenizer import ASSET, load_tokenizer

LOSS_TOL = 2e-3
ACC_TOL_RECORDS = 2


# ---- tiny library models ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return {name: hf_models.build(name) for name in hf_models.BUILDERS}


@pytest.mark.parametrize("name", list(hf_models.BUILDERS))
def test_builders_construct_and_run(tiny, name):
    model = tiny[name]
    cfg = model.config
    assert not model.training
    n = sum(p.numel() for p in model.parameters())
    assert 50_000 < n < 1_000_000, f"{name}: {n} parameters is not tiny"
    x = torch.randint(3, cfg.vocab_size, (2, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = model(x).logits
    assert logits.shape == (2, 12, cfg.vocab_size) and torch.isfinite(logits).all()
    assert 0.3 < logits.std() < 3, f"{name}: logits std {logits.std():.3g}; weights too small to make a useful oracle"
    if name != "mamba":
        assert cfg._attn_implementation == "eager"
        assert cfg.rope_parameters == {"rope_type": "default", "rope_theta": 10000.0}, "rope must be set explicitly"
    if name in ("mixtral", "deepseek_v3", "gpt_oss"):
        assert cfg._experts_implementation == "eager", "MoE oracles must run the readable per-expert loop"


def test_builders_are_seeded():
    a, b, c = hf_models.tiny_llama(seed=0), hf_models.tiny_llama(seed=0), hf_models.tiny_llama(seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert not torch.equal(a.lm_head.weight, c.lm_head.weight)


def test_gpt_oss_layers_alternate_and_have_sinks(tiny):
    m = tiny["gpt_oss"]
    assert m.config.layer_types == ["sliding_attention", "full_attention"] and m.config.sliding_window == 8
    assert m.model.layers[0].self_attn.sinks.shape == (m.config.num_attention_heads,)


class StudentSwiGLU(nn.Module):
    """What a student might write: different names, same maths as LlamaMLP."""

    def __init__(self, d: int, hidden: int):
        super().__init__()
        self.w1, self.w3 = nn.Linear(d, hidden, bias=False), nn.Linear(d, hidden, bias=False)
        self.w2 = nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


def test_copy_weights_both_directions(tiny):
    mlp = tiny["llama"].model.layers[0].mlp
    names = {"w1.weight": "gate_proj.weight", "w3.weight": "up_proj.weight", "w2.weight": "down_proj.weight"}
    student = StudentSwiGLU(64, 128)
    x = torch.randn(3, 5, 64)
    assert sorted(hf_models.copy_weights(student, mlp, names)) == sorted(names)  # library -> student
    torch.testing.assert_close(student(x), mlp(x))
    student2 = StudentSwiGLU(64, 128)
    fresh = hf_models.tiny_llama(seed=3).model.layers[0].mlp
    hf_models.copy_weights(fresh, student2, {v: k for k, v in names.items()})  # student -> library
    torch.testing.assert_close(fresh(x), student2(x))


def test_copy_weights_refuses_bad_mappings(tiny):
    mlp = tiny["llama"].model.layers[0].mlp
    student = StudentSwiGLU(64, 128)
    with pytest.raises(ValueError, match="shape"):
        hf_models.copy_weights(student, mlp, {"w1.weight": "down_proj.weight"}, strict=False)
    with pytest.raises(KeyError, match="no parameter"):
        hf_models.copy_weights(student, mlp, {"w9.weight": "gate_proj.weight"}, strict=False)
    with pytest.raises(KeyError, match="no source"):
        hf_models.copy_weights(student, mlp, {"w1.weight": "gate_proj.weight"})


def test_mixtral_fused_layout_is_as_documented(tiny):
    """Per-expert [W_gate; W_up] stacking reproduces the block's output computed by hand."""
    block = tiny["mixtral"].model.layers[0].mlp
    n_exp, inter = block.experts.num_experts, block.experts.intermediate_dim
    gates = [torch.randn(inter, 64) / 8 for _ in range(n_exp)]
    ups = [torch.randn(inter, 64) / 8 for _ in range(n_exp)]
    downs = [torch.randn(64, inter) / 8 for _ in range(n_exp)]
    router = torch.randn(n_exp, 64)
    hf_models.copy_weights(block, {}, {
        "gate.weight": router,
        "experts.gate_up_proj": lambda s: hf_models.fuse_gate_up(hf_models.stack_experts(gates), hf_models.stack_experts(ups)),
        "experts.down_proj": lambda s: hf_models.stack_experts(downs),
    })  # fmt: skip
    x = torch.randn(1, 7, 64)
    probs = (x[0] @ router.T).softmax(-1)
    w, idx = probs.topk(2, dim=-1)
    w = w / w.sum(-1, keepdim=True)
    ref = torch.zeros(7, 64)
    for t in range(7):
        for j in range(2):
            e = idx[t, j]
            ref[t] += w[t, j] * (downs[e] @ (F.silu(gates[e] @ x[0, t]) * (ups[e] @ x[0, t])))
    with torch.no_grad():
        torch.testing.assert_close(block(x)[0], ref, rtol=1e-4, atol=1e-5)


def test_gpt_oss_interleaved_layout_round_trips(tiny):
    experts = tiny["gpt_oss"].model.layers[0].mlp.experts
    fused = experts.gate_up_proj.detach()  # (E, H, 2I), gate = [..., ::2], up = [..., 1::2]
    rebuilt = hf_models.fuse_gate_up(fused[..., ::2], fused[..., 1::2], dim=-1, interleaved=True)
    assert torch.equal(rebuilt, fused)
    g, u = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    assert torch.equal(hf_models.fuse_gate_up(g, u, dim=-2), torch.cat([g, u], dim=1))


# ---- the pretrained checkpoints ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models():
    torch.set_num_threads(2)
    return {name: pretrained.load_pretrained(name) for name in pretrained.NAMES}


@pytest.fixture(scope="module")
def manifests():
    return {name: pretrained.read_manifest(name) for name in pretrained.NAMES}


def test_checkpoints_match_their_manifests(manifests):
    total = 0
    for name, m in manifests.items():
        pretrained.verify(name)  # every file present, nothing extra, sha256 equal
        d = pretrained.model_dir(name)
        for fname, entry in m["files"].items():
            assert (d / fname).stat().st_size == entry["bytes"]
        assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(m["files"])
        assert m["total_bytes"] == sum(e["bytes"] for e in m["files"].values())
        total += m["total_bytes"]
        assert m["training"]["held_out"]["data_sets"][0] == "kb"
    assert total <= 25 * 2**20, f"checkpoints take {total / 2**20:.1f} MB; the budget is 25 MB"


def test_parameter_counts_and_sizes(models, manifests):
    counts = {}
    for name, (model, _) in models.items():
        counts[name] = pretrained.parameter_counts(model)
        assert counts[name] == manifests[name]["parameters"]
        assert type(model).__name__ == "LlamaForCausalLM" and not model.training
    assert 1_000_000 <= counts["target"]["total"] <= 5_000_000
    assert counts["target"]["total"] >= 3 * counts["draft"]["total"], "the draft must be several times smaller"


def test_models_load_offline_with_eager_attention(models):
    model, tok = models["target"]
    assert model.config._attn_implementation == "eager"
    ids = tok("Tom likes cake.", return_tensors="pt").input_ids
    with torch.no_grad():
        out = model(ids, output_attentions=True)
    assert len(out.attentions) == model.config.num_hidden_layers
    a = out.attentions[0]
    assert a.shape == (1, model.config.num_attention_heads, ids.shape[1], ids.shape[1])
    torch.testing.assert_close(a.sum(-1), torch.ones(a.shape[:-1]))


def test_draft_and_target_share_the_course_tokenizer(models):
    d_target, d_draft = pretrained.model_dir("target"), pretrained.model_dir("draft")
    h = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert h(d_target / "tokenizer.json") == h(d_draft / "tokenizer.json")
    saved, course = json.loads((d_target / "tokenizer.json").read_text()), json.loads(ASSET.read_text())
    assert saved["model"] == course["model"], "same vocabulary and merges as shared/assets/tokenizer.json"
    _, tok = models["target"]
    _, tok_d = models["draft"]
    text = "Once upon a time, there was Tom."
    ids = tok(text).input_ids
    assert ids == tok_d(text).input_ids
    assert ids[0] == tok.bos_token_id == 1 and ids[1:] == load_tokenizer()(text).input_ids
    assert tok.decode(ids, skip_special_tokens=True) == text
    assert (tok.pad_token_id, tok.eos_token_id) == (0, 2)


def test_short_evaluation_reproduces_the_manifest(models, manifests):
    for name, (model, tok) in models.items():
        expected = manifests[name]["evaluation"]["check"]
        got = pretrained.check_values(model, tok)
        assert got["toystories_tokens"] == expected["toystories_tokens"]
        assert abs(got["toystories_loss"] - expected["toystories_loss"]) <= LOSS_TOL, (name, got, expected)
        assert abs(got["task_accuracy"] - expected["task_accuracy"]) <= ACC_TOL_RECORDS / expected["task_records"] + 1e-9, (
            name, got, expected)


def test_the_models_have_learned(manifests):
    for name, m in manifests.items():
        ev = m["evaluation"]
        for ds, entry in ev["loss"].items():
            assert entry["loss"] < entry["unigram_loss"] - 0.5, f"{name} barely beats the unigram model on {ds}"
        ts = ev["loss"]["toystories"]
        assert ts["best_loss_per_token"] <= ts["loss"] and not math.isnan(ts["loss"])
    target = manifests["target"]["evaluation"]["tasks"]["summary"]
    assert len(target["tasks_above_2x_majority_zero_shot"]) >= 4
    assert target["by_shots_canonical"]["0"] > 2 * target["majority_baseline"]


def test_generate_and_assisted_generation(models):
    (target, tok), (draft, _) = models["target"], models["draft"]
    ids = tok("Once upon a time,", return_tensors="pt").input_ids
    plain = target.generate(ids, max_new_tokens=20, do_sample=False)
    assert plain.shape[1] > ids.shape[1]
    assert tok.decode(plain[0, ids.shape[1]:]).startswith(" there was"), "the grammar's only continuation"
    assisted = target.generate(ids, max_new_tokens=20, do_sample=False, assistant_model=draft)
    assert torch.equal(assisted, plain), "greedy assisted generation must equal greedy generation"
    assert pretrained.complete(target, tok, ["Give the first word.\n\nInput: fox key red\nOutput:"]) == [" fox"]
