"""Wrong implementations for lab w11-2 (StreamingLLM, H2O, SnapKV, draft-based approximate inference).

Each entry replaces one answer cell of weeks/w11-2-kv-policies/solution.ipynb (format: tests/catalog/__init__.py).
"""

_SINKS = '''def sinks_window_keep(length, budget, n_sinks):
    if length <= budget:
        return list(range(length))
    n_recent = budget - n_sinks
    return list(range(n_sinks)) + list(range(length - n_recent, length))
'''

_ROPE = '''def reposition_keys(keys, old_positions, new_positions, rope_theta=10000.0):
    d = keys.shape[-1]
    inv_freq = 1.0 / rope_theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    delta = torch.as_tensor(new_positions, dtype=torch.float64) - torch.as_tensor(old_positions, dtype=torch.float64)
    angle = delta[:, None] * inv_freq[None, :]
    cos = torch.cat([angle.cos(), angle.cos()], -1).to(keys.dtype)
    sin = torch.cat([angle.sin(), angle.sin()], -1).to(keys.dtype)
    first, second = keys[..., : d // 2], keys[..., d // 2 :]
    return keys * cos + torch.cat([-second, first], -1) * sin
'''

_H2O = '''def h2o_step(state, new_index, attn_row, budget, n_recent):
    kept = list(state["kept"]) + [new_index]
    scores = [s + float(a) for s, a in zip(list(state["scores"]) + [0.0], attn_row.tolist())]
    if len(kept) > budget:
        candidates = range(len(kept) - n_recent)
        victim = min(candidates, key=lambda i: (scores[i], kept[i]))
        del kept[victim], scores[victim]
    return {"kept": kept, "scores": scores}
'''

_SNAP = '''def snapkv_keep(obs_attn, budget, n_window, kernel):
    n_heads, _, length = obs_attn.shape
    if length <= budget:
        return torch.arange(length).expand(n_heads, length).clone()
    prefix = length - n_window
    votes = obs_attn[:, :, :prefix].sum(1)
    pooled = F.max_pool1d(votes[:, None], kernel, stride=1, padding=kernel // 2)[:, 0, :prefix]
    top = pooled.topk(budget - n_window, dim=-1).indices
    window = torch.arange(prefix, length).expand(n_heads, n_window)
    return torch.cat([top, window], -1).sort(-1).values
'''

_DRAFT = '''def draft_rank_keep(draft_attn, budget, n_window):
    length = draft_attn[0].shape[-1]
    if length <= budget:
        return list(range(length))
    prefix = length - n_window
    score = torch.stack([a[:, :, :prefix].sum(1).amax(0) for a in draft_attn]).amax(0)
    top = score.topk(budget - n_window).indices.tolist()
    return sorted(top) + list(range(prefix, length))
'''

_BASE = {"sinks_window_keep": _SINKS, "reposition_keys": _ROPE, "h2o_step": _H2O, "snapkv_keep": _SNAP,
         "draft_rank_keep": _DRAFT}


def _sub(base, old, new):
    assert old in base, f"{old!r} not in the base source"
    return base.replace(old, new, 1)


def _entry(name, cell, why, hint, old, new, loses=None, show_hint=True):
    e = {"name": name, "cell": cell, "why": why, "hint": hint, "source": _sub(_BASE[cell], old, new),
         "loses": loses or [f"test_{cell}"]}
    if not show_hint:
        e["show_hint"] = False
    return e


WRONG_IMPLEMENTATIONS = [
    # ---- sinks + window
    _entry("window_ignores_sinks", "sinks_window_keep", "keeps only the recent window, forgetting the sinks",
           "Your cache behaves like a plain sliding window: the first tokens are evicted even when sinks are asked for.",
           "return list(range(n_sinks)) + list(range(length - n_recent, length))",
           "return list(range(length - budget, length))"),
    _entry("window_too_long", "sinks_window_keep", "recent window of `budget` tokens on top of the sinks",
           "Your cache holds more tokens than the budget once the sinks are added.",
           "n_recent = budget - n_sinks", "n_recent = budget"),
    _entry("window_off_by_one", "sinks_window_keep", "window starts one token too early",
           "Your recent window is shifted by one position.",
           "list(range(length - n_recent, length))", "list(range(length - n_recent - 1, length - 1))"),
    _entry("truncates_short_stream", "sinks_window_keep", "applies the split even when everything fits",
           "When the stream is shorter than the budget, your cache drops or repeats tokens instead of holding them all.",
           "if length <= budget:\n        return list(range(length))", "if length <= n_sinks:\n        return list(range(length))",
           loses=["test_sinks_window_keep"]),
    _entry("sinks_overlap_duplicates", "sinks_window_keep", "concatenates without removing overlap: window shorter than budget when length is small",
           "Your kept list can contain the same token twice when the stream is just over the budget.",
           "if length <= budget:\n        return list(range(length))", "if length < n_sinks:\n        return list(range(length))"),
    # ---- reposition keys
    _entry("rope_interleaved_pairs", "reposition_keys", "pairs adjacent coordinates (2i, 2i+1) instead of Llama's halves",
           "Your rotation pairs the coordinates the way the original RoPE paper writes it, not the way transformers' Llama stores them.",
           "first, second = keys[..., : d // 2], keys[..., d // 2 :]\n    return keys * cos + torch.cat([-second, first], -1) * sin",
           "cos = angle.cos().repeat_interleave(2, -1).to(keys.dtype)\n    sin = angle.sin().repeat_interleave(2, -1).to(keys.dtype)\n"
           "    rot = torch.stack([-keys[..., 1::2], keys[..., 0::2]], -1).flatten(-2)\n    return keys * cos + rot * sin"),
    _entry("rope_wrong_direction", "reposition_keys", "rotates by old - new",
           "Your keys move in the wrong direction along the position axis.",
           "torch.as_tensor(new_positions, dtype=torch.float64) - torch.as_tensor(old_positions, dtype=torch.float64)",
           "torch.as_tensor(old_positions, dtype=torch.float64) - torch.as_tensor(new_positions, dtype=torch.float64)"),
    _entry("rope_absolute_new", "reposition_keys", "rotates by the new position instead of the difference",
           "Your function rotates keys that are already rotated as if they were raw keys.",
           "delta = torch.as_tensor(new_positions, dtype=torch.float64) - torch.as_tensor(old_positions, dtype=torch.float64)",
           "delta = torch.as_tensor(new_positions, dtype=torch.float64)"),
    _entry("rope_wrong_frequencies", "reposition_keys", "frequencies theta^(-i/D) instead of theta^(-2i/D)",
           "Your rotation speeds per coordinate pair do not follow RoPE's frequency ladder.",
           "torch.arange(0, d, 2, dtype=torch.float64) / d", "torch.arange(0, d // 2, dtype=torch.float64) / d"),
    _entry("rope_sign_swapped", "reposition_keys", "rotate_half with the sign on the wrong half",
           "Your rotation turns each pair the opposite way from transformers' rotate_half.",
           "torch.cat([-second, first], -1)", "torch.cat([second, -first], -1)"),
    _entry("rope_ignores_theta", "reposition_keys", "hard-codes theta = 10000",
           "Your function ignores the base frequency it is given.",
           "inv_freq = 1.0 / rope_theta **", "inv_freq = 1.0 / 10000.0 **"),
    # ---- H2O
    _entry("h2o_last_row_only", "h2o_step", "ranks by the latest attention row, not the accumulated score",
           "Your policy forgets the attention a token collected at earlier steps.",
           "scores = [s + float(a) for s, a in zip(list(state[\"scores\"]) + [0.0], attn_row.tolist())]",
           "scores = [float(a) for a in attn_row.tolist()]"),
    _entry("h2o_evicts_oldest", "h2o_step", "evicts the oldest non-recent token (a window with extra steps)",
           "Your cache evicts by age, not by how much attention tokens received.",
           "victim = min(candidates, key=lambda i: (scores[i], kept[i]))", "victim = 0"),
    _entry("h2o_no_recent_protection", "h2o_step", "may evict recent tokens",
           "Your eviction can remove one of the most recent tokens, which H2O always keeps.",
           "candidates = range(len(kept) - n_recent)", "candidates = range(len(kept))"),
    _entry("h2o_evicts_highest", "h2o_step", "evicts the token with the largest score",
           "Your policy throws away the heavy hitters instead of keeping them.",
           "victim = min(candidates, key=lambda i: (scores[i], kept[i]))",
           "victim = max(candidates, key=lambda i: (scores[i], -kept[i]))"),
    _entry("h2o_mean_score", "h2o_step", "averages attention over the steps a token has been cached instead of summing",
           "Your score normalises by how long a token has been in the cache; H2O accumulates.",
           "victim = min(candidates, key=lambda i: (scores[i], kept[i]))",
           "victim = min(candidates, key=lambda i: (scores[i] / (new_index - kept[i] + 1), kept[i]))"),
    _entry("h2o_evicts_two", "h2o_step", "evicts until strictly below the budget",
           "Your cache ends a step with fewer tokens than the budget allows.",
           "if len(kept) > budget:", "while len(kept) >= budget and len(kept) > n_recent:"),
    _entry("h2o_new_token_no_score", "h2o_step", "drops the new token's self-attention and shifts the row",
           "Your scores are matched to the wrong tokens of the attention row.",
           "zip(list(state[\"scores\"]) + [0.0], attn_row.tolist())", "zip([0.0] + list(state[\"scores\"]), attn_row.tolist())"),
    # ---- SnapKV
    _entry("snapkv_no_pooling", "snapkv_keep", "ignores the pooling kernel",
           "Your selection keeps isolated positions: the neighbours of a strongly voted position do not come along.",
           "pooled = F.max_pool1d(votes[:, None], kernel, stride=1, padding=kernel // 2)[:, 0, :prefix]", "pooled = votes"),
    _entry("snapkv_drops_window", "snapkv_keep", "spends the whole budget on the prefix and forgets the observation window",
           "Your kept set does not always contain the observation window itself.",
           "top = pooled.topk(budget - n_window, dim=-1).indices\n    window = torch.arange(prefix, length).expand(n_heads, n_window)\n    return torch.cat([top, window], -1).sort(-1).values",
           "votes = obs_attn.sum(1)\n    pooled = F.max_pool1d(votes[:, None], kernel, stride=1, padding=kernel // 2)[:, 0, :length]\n"
           "    return pooled.topk(budget, dim=-1).indices.sort(-1).values"),
    _entry("snapkv_heads_merged", "snapkv_keep", "votes summed over heads: one set for all heads",
           "Your heads all keep the same positions; each head should choose from its own votes.",
           "votes = obs_attn[:, :, :prefix].sum(1)", "votes = obs_attn[:, :, :prefix].sum((0, 1)).expand(n_heads, prefix)"),
    _entry("snapkv_last_query_only", "snapkv_keep", "votes from the last query only",
           "Only one query of your observation window gets a vote.",
           "votes = obs_attn[:, :, :prefix].sum(1)", "votes = obs_attn[:, -1, :prefix]"),
    _entry("snapkv_avg_pool", "snapkv_keep", "average pooling where the lab specifies max pooling",
           "Your pooling blends neighbouring votes instead of spreading each local peak.",
           "F.max_pool1d(votes[:, None], kernel, stride=1, padding=kernel // 2)",
           "F.avg_pool1d(votes[:, None], kernel, stride=1, padding=kernel // 2, count_include_pad=False)"),
    _entry("snapkv_short_prompt_cut", "snapkv_keep", "selects even when the prompt fits",
           "When the prompt fits in the budget your function still drops positions.",
           "if length <= budget:", "if length < n_window:",
           loses=["test_snapkv_keep", "test_full_budget_generation"]),
    # ---- draft ranking
    _entry("draft_mean_heads", "draft_rank_keep", "averages over heads and layers instead of taking the maximum",
           "Your ranking dilutes a position that one draft head attends to strongly.",
           "score = torch.stack([a[:, :, :prefix].sum(1).amax(0) for a in draft_attn]).amax(0)",
           "score = torch.stack([a[:, :, :prefix].sum(1).mean(0) for a in draft_attn]).mean(0)"),
    _entry("draft_no_window", "draft_rank_keep", "ranks the whole prompt without reserving the last positions",
           "Your kept set does not always end with the last prompt positions.",
           "top = score.topk(budget - n_window).indices.tolist()\n    return sorted(top) + list(range(prefix, length))",
           "score = torch.stack([a.sum(1).amax(0) for a in draft_attn]).amax(0)\n    return sorted(score.topk(budget).indices.tolist())"),
    _entry("draft_bottom_k", "draft_rank_keep", "keeps the least attended positions",
           "Your ranking is upside down.",
           "top = score.topk(budget - n_window).indices.tolist()",
           "top = score.topk(budget - n_window, largest=False).indices.tolist()"),
    _entry("draft_last_layer_only", "draft_rank_keep", "uses only the draft's last layer",
           "Your ranking ignores some of the draft's layers.",
           "for a in draft_attn]", "for a in draft_attn[-1:]]"),
    _entry("draft_short_prompt_cut", "draft_rank_keep", "no early return: ranks even when the prompt fits",
           "When the prompt fits in the budget your function still drops positions.",
           "if length <= budget:\n        return list(range(length))",
           "if length <= n_window:\n        return list(range(length))",
           loses=["test_draft_rank_keep", "test_full_budget_generation"]),
]
