'''Wrong implementations for lab w01-1 (DeepSeek-V2/V3: MLA, absorption, KV cache, DeepSeekMoE, balancing, MTP).

Each entry replaces one answer cell of weeks/w01-1-deepseek-v3/solution.ipynb (format: tests/catalog/__init__.py).
'''

_LATENT = """def mla_latent(h, weights, positions=None, rope_base=10000.0):
    if positions is None:
        positions = torch.arange(h.shape[-2])
    c_kv = {c}
    k_rope = {k}
    return c_kv, k_rope
"""

_QUERIES = """def mla_queries(h, weights, n_heads, positions=None, rope_base=10000.0):
    B, T, _ = h.shape
    if positions is None:
        positions = torch.arange(T)
    c_q = {cq}
    q_nope = {qn}
    q_rope = (c_q @ weights["W_QR"].T).view(B, T, n_heads, -1).transpose(1, 2)
    return q_nope, {qr}
"""

_GOOD_QN = '(c_q @ weights["W_UQ"].T).view(B, T, n_heads, -1).transpose(1, 2)'
_GOOD_CQ = 'rms_norm(h @ weights["W_DQ"].T, weights["q_norm"])'

_ATTENTION = """def mla_attention(h, weights, n_heads, rope_base=10000.0):
    B, T, _ = h.shape
    positions = torch.arange(T)
    q_nope, q_rope = mla_queries(h, weights, n_heads, positions, rope_base)
    c_kv, k_rope = mla_latent(h, weights, positions, rope_base)
    k_nope = (c_kv @ weights["W_UK"].T).view(B, T, n_heads, -1).transpose(1, 2)
    v = (c_kv @ weights["W_UV"].T).view(B, T, n_heads, -1).transpose(1, 2)
    scale = {scale}
    scores = (q_nope @ k_nope.transpose(-2, -1) + q_rope @ k_rope[:, None].transpose(-2, -1)) * scale
    future = torch.ones(T, T, dtype=torch.bool).triu({diag})
    probs = scores.masked_fill(future, float("-inf")).softmax(dim={axis})
    o = (probs @ v).transpose(1, 2).reshape(B, T, -1)
    return o @ weights["W_O"].T
"""

_ABSORB = """def mla_absorb(weights, n_heads):
    H = n_heads
    d_c, d_q = weights["W_UK"].shape[1], weights["W_UQ"].shape[1]
    D = weights["W_O"].shape[0]
    W_UQ = weights["W_UQ"].view(H, -1, d_q)
    W_UK = weights["W_UK"].view(H, -1, d_c)
    W_UV = {wuv}
    W_O = weights["W_O"].view(D, H, -1)
    uq = {uq}
    o = {o}
    return {{"W_UQ_absorbed": uq, "W_O_absorbed": o}}
"""
_ABS_OK = dict(wuv='weights["W_UV"].view(H, -1, d_c)',
               uq='torch.einsum("hnc,hnq->hcq", W_UK, W_UQ).reshape(H * d_c, d_q)',
               o='torch.einsum("dhv,hvc->dhc", W_O, W_UV).reshape(D, H * d_c)')

# the decode reads only W_DQ, q_norm, W_QR, W_UQ_absorbed (H d_c, d_q), W_O_absorbed (D, H d_c) and the cache
_DECODE = """def mla_decode_absorbed(h_new, c_cache, kr_cache, weights, n_heads, softmax_scale, rope_base=10000.0):
    B, S, d_c = c_cache.shape
    H = n_heads
    c_q = rms_norm(h_new @ weights["W_DQ"].T, weights["q_norm"])
    q_rope = apply_rope((c_q @ weights["W_QR"].T).view(B, H, 1, -1), torch.tensor([{pos}]), rope_base)[:, :, 0]
{query}
    scale = {scale}
    scores = ({latent_scores}{rope_term}) * scale
    probs = scores.softmax(dim=-1)
{output}
    return out, scores
"""
_DEC_OK = dict(pos="S - 1", scale="softmax_scale",
               query='    q_latent = (c_q @ weights["W_UQ_absorbed"].T).view(B, H, d_c)',
               latent_scores='torch.einsum("bhc,bsc->bhs", q_latent, c_cache)',
               rope_term=' + torch.einsum("bhr,bsr->bhs", q_rope, kr_cache)',
               output='    o_latent = torch.einsum("bhs,bsc->bhc", probs, c_cache)\n'
                      '    out = o_latent.reshape(B, H * d_c) @ weights["W_O_absorbed"].T')

_KV = """def kv_cache_bytes_per_token(attention, n_heads, head_dim, n_kv_heads=None, kv_lora_rank=None,
                             rope_head_dim=None, bytes_per_element=2.0):
    if attention == "mha":
        elements = {mha}
    elif attention == "gqa":
        elements = {gqa}
    elif attention == "mqa":
        elements = {mqa}
    else:
        elements = {mla}
    return float(elements{bytes})
"""
_KV_OK = dict(mha="2 * n_heads * head_dim", gqa="2 * n_kv_heads * head_dim", mqa="2 * head_dim",
              mla="kv_lora_rank + rope_head_dim", bytes=" * bytes_per_element")

_ROUTER = """def moe_router(x, router, bias, top_k, n_group=1, topk_group=1, routed_scaling_factor=1.0):
    scores = {act}
    choice = {choice}
    N, E = scores.shape
    group_scores = {group}
    best_groups = group_scores.topk(topk_group, dim=-1).indices
    eligible = torch.zeros_like(group_scores, dtype=torch.bool).scatter_(1, best_groups, True)
    eligible = eligible.repeat_interleave(E // n_group, dim=1)
    indices = {pick}.topk(top_k, dim=-1).indices
    gates = {gates}.gather(1, indices)
    gates = {norm} * routed_scaling_factor
    return indices, gates, scores
"""
_R_OK = dict(act="torch.sigmoid(x @ router.T)", choice="scores + bias",
             group="choice.view(N, n_group, E // n_group).topk(2, dim=-1).values.sum(-1)",
             pick='choice.masked_fill(~eligible, float("-inf"))', gates="scores",
             norm="gates / gates.sum(-1, keepdim=True)")

_MOE = """def deepseek_moe(x, weights, top_k, n_group=1, topk_group=1, routed_scaling_factor=1.0):
    shape = x.shape
    x2 = x.reshape(-1, shape[-1])
    indices, gates, _ = moe_router(x2, weights["router"], weights["bias"], top_k, n_group, topk_group,
                                   routed_scaling_factor)
    out = {shared}
    for e in range(weights["gate"].shape[0]):
        tokens, slot = (indices == e).nonzero(as_tuple=True)
        if tokens.numel() == 0:
            continue
        y = {expert}
        out = out.index_add(0, tokens, {contrib})
    return out.view(shape)
"""
_M_OK = dict(shared='swiglu(x2, weights["shared_gate"], weights["shared_up"], weights["shared_down"])',
             expert='swiglu(x2[tokens], weights["gate"][e], weights["up"][e], weights["down"][e])',
             contrib="y * gates[tokens, slot, None]")

_MTP = """def mtp_depth1(h, tokens, weights):
    e = weights["emb"][{tok}]
    merged = torch.cat({cat}, dim=-1)
    h1 = causal_block(merged @ weights["M"].T, weights)
    return {out} @ weights["head"].T
"""
_MTP_OK = dict(tok="tokens[:, 1:]", cat='[rms_norm(h[:, :-1], weights["norm_h"]), rms_norm(e, weights["norm_e"])]',
               out='rms_norm(h1, weights["out_norm"])')

_LOSS = """def mtp_loss(logits_main, mtp_logits, tokens, lam):
    T, V = tokens.shape[1], logits_main.shape[-1]
    main = {main}
    losses = []
    for k, logits in enumerate(mtp_logits, start=1):
        pred = logits[:, : {n}]
        losses.append(F.cross_entropy(pred.reshape(-1, V), tokens[:, {start} :].reshape(-1)))
    mtp = torch.stack(losses)
    return main + {coef} * mtp.sum(), main, mtp
"""
_L_OK = dict(main="F.cross_entropy(logits_main[:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1))",
             n="T - k - 1", start="k + 1", coef="lam / len(losses)")

MLA = ["test_mla_attention"]

WRONG_IMPLEMENTATIONS = [
    # --- mla_latent
    {
        "name": "latent_not_normalised",
        "cell": "mla_latent",
        "why": "caches the raw down-projection W_DKV h, forgetting the RMSNorm that the released models apply to c_KV",
        "source": _LATENT.format(c='h @ weights["W_DKV"].T', k='apply_rope(h @ weights["W_KR"].T, positions, rope_base)'),
        "loses": ["test_mla_latent", *MLA],
    },
    {
        "name": "latent_rope_key_not_rotated",
        "cell": "mla_latent",
        "why": "caches W_KR h without applying RoPE (position information never reaches the shared key)",
        "source": _LATENT.format(c='rms_norm(h @ weights["W_DKV"].T, weights["kv_norm"])', k='h @ weights["W_KR"].T'),
        "loses": ["test_mla_latent", *MLA],
    },
    {
        "name": "latent_rope_key_normalised",
        "cell": "mla_latent",
        "why": "normalises the whole compressed vector [c; k_R] (latent and RoPE key together) before splitting it",
        "source": """def mla_latent(h, weights, positions=None, rope_base=10000.0):
    if positions is None:
        positions = torch.arange(h.shape[-2])
    d_c = weights["W_DKV"].shape[0]
    both = h @ torch.cat([weights["W_DKV"], weights["W_KR"]], 0).T
    gain = torch.cat([weights["kv_norm"], torch.ones(weights["W_KR"].shape[0])])
    both = rms_norm(both, gain)
    return both[..., :d_c], apply_rope(both[..., d_c:], positions, rope_base)
""",
        "loses": ["test_mla_latent", *MLA],
    },
    # --- mla_queries
    {
        "name": "queries_not_normalised",
        "cell": "mla_queries",
        "why": "skips the RMSNorm of the compressed query c_Q",
        "source": _QUERIES.format(cq='h @ weights["W_DQ"].T', qn=_GOOD_QN, qr="apply_rope(q_rope, positions, rope_base)"),
        "loses": ["test_mla_queries", *MLA, "test_mla_decode_absorbed"],
    },
    {
        "name": "queries_heads_split_by_view",
        "cell": "mla_queries",
        "why": "reshapes (B, T, H*d) straight to (B, H, T, d) with view, mixing tokens and heads",
        "source": _QUERIES.format(cq=_GOOD_CQ, qn='(c_q @ weights["W_UQ"].T).view(B, n_heads, T, -1)',
                                  qr="apply_rope(q_rope, positions, rope_base)"),
        "loses": ["test_mla_queries", *MLA, "test_mla_decode_absorbed"],
    },
    {
        "name": "queries_ignore_positions",
        "cell": "mla_queries",
        "why": "rotates the RoPE query at 0..T-1 whatever positions are given (fine for prefill, wrong when decoding)",
        "source": _QUERIES.format(cq=_GOOD_CQ, qn=_GOOD_QN, qr="apply_rope(q_rope, torch.arange(T), rope_base)"),
        "loses": ["test_mla_queries", "test_mla_decode_absorbed"],
    },
    {
        "name": "queries_default_positions_from_one",
        "cell": "mla_queries",
        "why": "numbers the default positions 1..T instead of 0..T-1 (explicit positions are right)",
        "source": _QUERIES.format(cq=_GOOD_CQ, qn=_GOOD_QN, qr="apply_rope(q_rope, positions, rope_base)").replace(
            "positions = torch.arange(T)", "positions = torch.arange(1, T + 1)"),
        "loses": ["test_mla_queries"],
    },
    # --- mla_attention
    {
        "name": "attention_scale_nope_only",
        "cell": "mla_attention",
        "why": "scales logits by 1/sqrt(d_nope), forgetting that the RoPE dimensions are part of the dot product",
        "source": _ATTENTION.format(scale="1.0 / math.sqrt(q_nope.shape[-1])", diag=1, axis=-1),
        "loses": MLA,
    },
    {
        "name": "attention_not_causal",
        "cell": "mla_attention",
        "why": "forgets the causal mask (the mask line masks nothing)",
        "source": _ATTENTION.format(scale="1.0 / math.sqrt(q_nope.shape[-1] + q_rope.shape[-1])", diag="T", axis=-1),
        "loses": MLA,
    },
    {
        "name": "attention_mask_off_by_one",
        "cell": "mla_attention",
        "why": "masks with triu(2), so each token also sees the next one",
        "source": _ATTENTION.format(scale="1.0 / math.sqrt(q_nope.shape[-1] + q_rope.shape[-1])", diag=2, axis=-1),
        "loses": MLA,
    },
    {
        "name": "attention_softmax_over_queries",
        "cell": "mla_attention",
        "why": "normalises the attention over the query axis instead of the key axis",
        "source": _ATTENTION.format(scale="1.0 / math.sqrt(q_nope.shape[-1] + q_rope.shape[-1])", diag=1, axis=-2),
        "loses": MLA,
    },
    {
        "name": "latent_default_positions_from_one",
        "cell": "mla_latent",
        "why": "numbers the default positions 1..T instead of 0..T-1 (explicit positions are right)",
        "source": """def mla_latent(h, weights, positions=None, rope_base=10000.0):
    if positions is None:
        positions = torch.arange(1, h.shape[-2] + 1)
    c_kv = rms_norm(h @ weights["W_DKV"].T, weights["kv_norm"])
    return c_kv, apply_rope(h @ weights["W_KR"].T, positions, rope_base)
""",
        "loses": ["test_mla_latent"],
    },
    {
        "name": "latent_default_positions_all_zero",
        "cell": "mla_latent",
        "why": "defaults to position 0 for every token (RoPE becomes the identity when positions are omitted)",
        "source": """def mla_latent(h, weights, positions=None, rope_base=10000.0):
    if positions is None:
        positions = torch.zeros(h.shape[-2], dtype=torch.long)
    c_kv = rms_norm(h @ weights["W_DKV"].T, weights["kv_norm"])
    return c_kv, apply_rope(h @ weights["W_KR"].T, positions, rope_base)
""",
        "loses": ["test_mla_latent"],
    },
    # --- mla_absorb
    {
        "name": "absorb_query_mixes_heads",
        "cell": "mla_absorb",
        "why": "absorbs with the full matrices, W_UK^T W_UQ, which sums every head's query against every head's key",
        "source": _ABSORB.format(**dict(_ABS_OK, uq='(weights["W_UK"].T @ weights["W_UQ"]).repeat(H, 1)')),
        "loses": ["test_mla_absorb", "test_mla_decode_absorbed"],
    },
    {
        "name": "absorb_query_transposed_blocks",
        "cell": "mla_absorb",
        "why": "folds W_UQ_i^T W_UK_i (d_q x d_c) and reshapes it into place, so each head's block is transposed",
        "source": _ABSORB.format(**dict(_ABS_OK, uq='torch.einsum("hnq,hnc->hqc", W_UQ, W_UK).reshape(H * d_c, d_q)')),
        "loses": ["test_mla_absorb", "test_mla_decode_absorbed"],
    },
    {
        "name": "absorb_wrong_head_split_of_W_UV",
        "cell": "mla_absorb",
        "why": "splits W_UV into heads along the wrong axis (rows interleaved across heads) when folding it into W_O",
        "source": _ABSORB.format(**dict(_ABS_OK, wuv='weights["W_UV"].view(-1, H, d_c).transpose(0, 1)')),
        "loses": ["test_mla_absorb", "test_mla_decode_absorbed"],
    },
    {
        "name": "absorb_output_columns_latent_major",
        "cell": "mla_absorb",
        "why": "lays W_O_absorbed's columns out latent-major (c, h) instead of head after head",
        "source": _ABSORB.format(**dict(_ABS_OK, o='torch.einsum("dhv,hvc->dch", W_O, W_UV).reshape(D, H * d_c)')),
        "loses": ["test_mla_absorb", "test_mla_decode_absorbed"],
    },
    # --- mla_decode_absorbed
    {
        "name": "decode_no_scale",
        "cell": "mla_decode_absorbed",
        "why": "drops the 1/sqrt(d_n + d_r) scale in the absorbed path, thinking absorption already includes it",
        "source": _DECODE.format(**dict(_DEC_OK, scale="1.0")),
        "loses": ["test_mla_decode_absorbed"],
    },
    {
        "name": "decode_query_at_position_zero",
        "cell": "mla_decode_absorbed",
        "why": "rotates the new query at position 0 instead of S-1 (its real position in the sequence)",
        "source": _DECODE.format(**dict(_DEC_OK, pos="0")),
        "loses": ["test_mla_decode_absorbed"],
    },
    {
        "name": "decode_forgets_rope_scores",
        "cell": "mla_decode_absorbed",
        "why": "scores only the latent part q~ . c and forgets the decoupled RoPE term q_R . k_R",
        "source": _DECODE.format(**dict(_DEC_OK, rope_term="")),
        "loses": ["test_mla_decode_absorbed"],
    },
    {
        "name": "decode_heads_flattened_latent_major",
        "cell": "mla_decode_absorbed",
        "why": "flattens the per-head latent averages as (latent, head) instead of head after head before W_O_absorbed",
        "source": _DECODE.format(**dict(_DEC_OK, output='    o_latent = torch.einsum("bhs,bsc->bhc", probs, c_cache)\n'
                                                        '    out = o_latent.transpose(1, 2).reshape(B, H * d_c) @ weights["W_O_absorbed"].T')),
        "loses": ["test_mla_decode_absorbed"],
    },
    # wasteful but equal: these give the right numbers in exact arithmetic and must still lose the structure test
    {
        "name": "decode_decompresses_cache",
        "cell": "mla_decode_absorbed",
        "why": "decompresses every cached latent into per-head keys and values with W_UK / W_UV (what absorption avoids)",
        "source": """def mla_decode_absorbed(h_new, c_cache, kr_cache, weights, n_heads, softmax_scale, rope_base=10000.0):
    B, S, d_c = c_cache.shape
    H = n_heads
    q_nope, q_rope = mla_queries(h_new[:, None], weights, H, torch.tensor([S - 1]), rope_base)
    k_nope = (c_cache @ weights["W_UK"].T).view(B, S, H, -1).transpose(1, 2)
    v = (c_cache @ weights["W_UV"].T).view(B, S, H, -1).transpose(1, 2)
    scores = (q_nope @ k_nope.transpose(-2, -1) + q_rope @ kr_cache[:, None].transpose(-2, -1))[:, :, 0] * softmax_scale
    o = (scores.softmax(-1)[:, :, None] @ v)[:, :, 0].reshape(B, -1)
    return o @ weights["W_O"].T, scores
""",
        "loses": ["test_mla_decode_absorbed"],
    },
    {
        "name": "decode_expands_cache_through_W_O_absorbed",
        "cell": "mla_decode_absorbed",
        "why": "maps every cached latent to a per-head output W_O_i W_UV_i c_j first, then averages those (values rebuilt)",
        "source": _DECODE.format(**dict(_DEC_OK, output='    values = torch.einsum("dhc,bsc->bhsd", weights["W_O_absorbed"].view(-1, H, d_c), c_cache)\n'
                                                        '    out = torch.einsum("bhs,bhsd->bd", probs, values)')),
        "loses": ["test_mla_decode_absorbed"],
    },
    {
        "name": "decode_expands_cache_through_W_UQ_absorbed",
        "cell": "mla_decode_absorbed",
        "why": "maps every cached latent into the query space (W_UK_i^T W_UQ_i)^T c_j and dots it with c_q (keys rebuilt)",
        "source": _DECODE.format(**dict(_DEC_OK, query="",
                                        latent_scores='torch.einsum("hcq,bsc,bq->bhs", weights["W_UQ_absorbed"].view(H, d_c, -1), c_cache, c_q)')),
        "loses": ["test_mla_decode_absorbed"],
    },
    # --- kv_cache_bytes_per_token
    {
        "name": "kv_mla_counts_latent_twice",
        "cell": "kv_cache_bytes_per_token",
        "why": "counts MLA's latent twice (once for keys, once for values), like MHA's factor 2",
        "source": _KV.format(**dict(_KV_OK, mla="2 * (kv_lora_rank + rope_head_dim)")),
        "loses": ["test_kv_cache_bytes_per_token"],
    },
    {
        "name": "kv_forgets_values",
        "cell": "kv_cache_bytes_per_token",
        "why": "counts only keys for MHA/GQA/MQA (no factor 2 for the values)",
        "source": _KV.format(**dict(_KV_OK, mha="n_heads * head_dim", gqa="n_kv_heads * head_dim", mqa="head_dim")),
        "loses": ["test_kv_cache_bytes_per_token"],
    },
    {
        "name": "kv_mla_without_rope_key",
        "cell": "kv_cache_bytes_per_token",
        "why": "forgets that MLA also caches the shared RoPE key k_R",
        "source": _KV.format(**dict(_KV_OK, mla="kv_lora_rank")),
        "loses": ["test_kv_cache_bytes_per_token"],
    },
    {
        "name": "kv_ignores_bytes_per_element",
        "cell": "kv_cache_bytes_per_token",
        "why": "returns elements, not bytes",
        "source": _KV.format(**dict(_KV_OK, bytes="")),
        "loses": ["test_kv_cache_bytes_per_token"],
    },
    # --- moe_router
    {
        "name": "router_softmax",
        "cell": "moe_router",
        "why": "uses V2's softmax affinities instead of V3's sigmoid",
        "source": _ROUTER.format(**dict(_R_OK, act="torch.softmax(x @ router.T, dim=-1)")),
        "loses": ["test_moe_router", "test_deepseek_moe"],
    },
    {
        "name": "router_bias_in_gates",
        "cell": "moe_router",
        "why": "takes the gate values from the biased scores (the bias leaks into the output)",
        "source": _ROUTER.format(**dict(_R_OK, gates="choice")),
        "loses": ["test_moe_router", "test_deepseek_moe"],
    },
    {
        "name": "router_bias_ignored",
        "cell": "moe_router",
        "why": "chooses on the unbiased affinities, so the balancing bias does nothing",
        "source": _ROUTER.format(**dict(_R_OK, choice="scores")),
        "loses": ["test_moe_router", "test_deepseek_moe"],
    },
    {
        "name": "router_not_renormalised",
        "cell": "moe_router",
        "why": "uses the raw affinities of the chosen experts as gates, without normalising over the chosen set",
        "source": _ROUTER.format(**dict(_R_OK, norm="gates")),
        "loses": ["test_moe_router", "test_deepseek_moe"],
    },
    {
        "name": "router_group_score_max",
        "cell": "moe_router",
        "why": "scores a group by its best expert only, instead of the sum of its two best",
        "source": _ROUTER.format(**dict(_R_OK, group="choice.view(N, n_group, E // n_group).max(dim=-1).values")),
        "loses": ["test_moe_router", "test_deepseek_moe"],
    },
    {
        "name": "router_group_mask_fills_zero",
        "cell": "moe_router",
        "why": "masks ineligible experts with 0.0 (older transformers) instead of -inf, so they win when biased scores are negative",
        "source": _ROUTER.format(**dict(_R_OK, pick="choice.masked_fill(~eligible, 0.0)")),
        "loses": ["test_moe_router"],
    },
    {
        "name": "router_ignores_groups",
        "cell": "moe_router",
        "why": "computes the group mask but then picks the top-k among all experts",
        "source": _ROUTER.format(**dict(_R_OK, pick="choice")),
        "loses": ["test_moe_router", "test_deepseek_moe"],
    },
    # --- deepseek_moe
    {
        "name": "moe_without_shared_expert",
        "cell": "deepseek_moe",
        "why": "forgets the shared expert that every token goes through",
        "source": _MOE.format(**dict(_M_OK, shared="torch.zeros_like(x2)")),
        "loses": ["test_deepseek_moe"],
    },
    {
        "name": "moe_ungated_experts",
        "cell": "deepseek_moe",
        "why": "adds the routed experts' outputs without multiplying by their gates",
        "source": _MOE.format(**dict(_M_OK, contrib="y")),
        "loses": ["test_deepseek_moe"],
    },
    {
        "name": "moe_gelu_experts",
        "cell": "deepseek_moe",
        "why": "writes the routed experts as a GELU MLP (gate projection unused) instead of SwiGLU",
        "source": _MOE.format(**dict(_M_OK, expert='F.gelu(x2[tokens] @ weights["up"][e].T) @ weights["down"][e].T')),
        "loses": ["test_deepseek_moe"],
    },
    # wasteful but equal: every expert on every token; must lose once a never-chosen expert holds NaN weights
    {
        "name": "moe_dense_gate_matrix",
        "cell": "deepseek_moe",
        "why": "runs every expert on every token and weights them with a dense (N, E) gate matrix that is 0 off the top-k",
        "source": """def deepseek_moe(x, weights, top_k, n_group=1, topk_group=1, routed_scaling_factor=1.0):
    shape = x.shape
    x2 = x.reshape(-1, shape[-1])
    indices, gates, _ = moe_router(x2, weights["router"], weights["bias"], top_k, n_group, topk_group,
                                   routed_scaling_factor)
    dense = torch.zeros(x2.shape[0], weights["gate"].shape[0]).scatter(1, indices, gates)
    out = swiglu(x2, weights["shared_gate"], weights["shared_up"], weights["shared_down"])
    for e in range(weights["gate"].shape[0]):
        out = out + dense[:, e:e + 1] * swiglu(x2, weights["gate"][e], weights["up"][e], weights["down"][e])
    return out.view(shape)
""",
        "loses": ["test_deepseek_moe"],
    },
    {
        "name": "moe_dense_einsum_all_experts",
        "cell": "deepseek_moe",
        "why": "evaluates all experts at once with einsums over (token, expert) and sums them with zero gates for the unchosen",
        "source": """def deepseek_moe(x, weights, top_k, n_group=1, topk_group=1, routed_scaling_factor=1.0):
    shape = x.shape
    x2 = x.reshape(-1, shape[-1])
    indices, gates, _ = moe_router(x2, weights["router"], weights["bias"], top_k, n_group, topk_group,
                                   routed_scaling_factor)
    hidden = F.silu(torch.einsum("nd,eid->nei", x2, weights["gate"])) * torch.einsum("nd,eid->nei", x2, weights["up"])
    y = torch.einsum("nei,edi->ned", hidden, weights["down"])
    dense = torch.zeros(x2.shape[0], weights["gate"].shape[0]).scatter(1, indices, gates)
    out = swiglu(x2, weights["shared_gate"], weights["shared_up"], weights["shared_down"])
    return (out + torch.einsum("ne,ned->nd", dense, y)).view(shape)
""",
        "loses": ["test_deepseek_moe"],
    },
    {
        "name": "moe_dense_where_gates",
        "cell": "deepseek_moe",
        "why": "runs every expert on every token and builds each expert's gate with torch.where(chosen, gate, 0)",
        "source": """def deepseek_moe(x, weights, top_k, n_group=1, topk_group=1, routed_scaling_factor=1.0):
    shape = x.shape
    x2 = x.reshape(-1, shape[-1])
    indices, gates, _ = moe_router(x2, weights["router"], weights["bias"], top_k, n_group, topk_group,
                                   routed_scaling_factor)
    out = swiglu(x2, weights["shared_gate"], weights["shared_up"], weights["shared_down"])
    for e in range(weights["gate"].shape[0]):
        gate_e = torch.where(indices == e, gates, torch.zeros_like(gates)).sum(-1, keepdim=True)
        out = out + gate_e * swiglu(x2, weights["gate"][e], weights["up"][e], weights["down"][e])
    return out.view(shape)
""",
        "loses": ["test_deepseek_moe"],
    },
    {
        "name": "moe_dispatch_combine_einsum",
        "cell": "deepseek_moe",
        "why": "GShard-style one-hot dispatch/combine einsums: every expert runs on a (tokens x experts) buffer, mostly zeros",
        "source": """def deepseek_moe(x, weights, top_k, n_group=1, topk_group=1, routed_scaling_factor=1.0):
    shape = x.shape
    x2 = x.reshape(-1, shape[-1])
    E = weights["gate"].shape[0]
    indices, gates, _ = moe_router(x2, weights["router"], weights["bias"], top_k, n_group, topk_group,
                                   routed_scaling_factor)
    dispatch = F.one_hot(indices, E).sum(1).to(x2.dtype)  # (N, E), 1 where chosen
    combine = torch.zeros(x2.shape[0], E).scatter(1, indices, gates)
    expert_in = torch.einsum("ne,nd->end", dispatch, x2)  # every expert gets a row per token, zero if not routed
    hidden = F.silu(torch.einsum("end,eid->eni", expert_in, weights["gate"])) * torch.einsum("end,eid->eni", expert_in, weights["up"])
    expert_out = torch.einsum("eni,edi->end", hidden, weights["down"])
    out = swiglu(x2, weights["shared_gate"], weights["shared_up"], weights["shared_down"])
    return (out + torch.einsum("ne,end->nd", combine, expert_out)).view(shape)
""",
        "loses": ["test_deepseek_moe"],
    },
    # --- balance_bias_update
    {
        "name": "bias_update_wrong_sign",
        "cell": "balance_bias_update",
        "why": "moves the bias with sign(load - mean), so popular experts become even more popular",
        "source": """def balance_bias_update(bias, indices, gamma):
    load = torch.bincount(indices.reshape(-1), minlength=bias.shape[0]).to(bias.dtype)
    return bias + gamma * torch.sign(load - load.mean())
""",
        "loses": ["test_balance_bias_update"],
    },
    {
        "name": "bias_update_proportional",
        "cell": "balance_bias_update",
        "why": "uses the load error itself instead of its sign",
        "source": """def balance_bias_update(bias, indices, gamma):
    load = torch.bincount(indices.reshape(-1), minlength=bias.shape[0]).to(bias.dtype)
    return bias + gamma * (load.mean() - load)
""",
        "loses": ["test_balance_bias_update"],
    },
    {
        "name": "bias_update_bincount_without_minlength",
        "cell": "balance_bias_update",
        "why": "counts with bincount but without minlength, so idle experts at the end of the list go missing",
        "source": """def balance_bias_update(bias, indices, gamma):
    load = torch.bincount(indices.reshape(-1)).to(bias.dtype)
    return bias + gamma * torch.sign(load.mean() - load)
""",
        "loses": ["test_balance_bias_update"],
    },
    # --- balance_aux_loss
    {
        "name": "aux_loss_unnormalised_affinities",
        "cell": "balance_aux_loss",
        "why": "averages the raw sigmoid affinities for P_i instead of the per-token normalised ones",
        "source": """def balance_aux_loss(affinities, indices, alpha):
    T, E = affinities.shape
    k = indices.shape[-1]
    f = torch.bincount(indices.reshape(-1), minlength=E).to(affinities.dtype) * E / (k * T)
    return alpha * (f * affinities.mean(0)).sum()
""",
        "loses": ["test_balance_aux_loss"],
    },
    {
        "name": "aux_loss_f_is_fraction",
        "cell": "balance_aux_loss",
        "why": "uses the fraction of tokens per expert for f_i, without the N_r / K_r factor",
        "source": """def balance_aux_loss(affinities, indices, alpha):
    T, E = affinities.shape
    f = torch.bincount(indices.reshape(-1), minlength=E).to(affinities.dtype) / T
    P = (affinities / affinities.sum(-1, keepdim=True)).mean(0)
    return alpha * (f * P).sum()
""",
        "loses": ["test_balance_aux_loss"],
    },
    # --- mtp_depth1
    {
        "name": "mtp_embeds_current_token",
        "cell": "mtp_depth1",
        "why": "combines h_i with Emb(t_i) instead of Emb(t_{i+1})",
        "source": _MTP.format(**dict(_MTP_OK, tok="tokens[:, :-1]")),
        "loses": ["test_mtp_depth1"],
    },
    {
        "name": "mtp_embeds_the_target",
        "cell": "mtp_depth1",
        "why": "combines h_i with Emb(t_{i+2}), the very token it must predict (rolled, so shapes still fit)",
        "source": _MTP.format(**dict(_MTP_OK, tok="torch.roll(tokens, -2, dims=1)[:, :-1]")),
        "loses": ["test_mtp_depth1"],
    },
    {
        "name": "mtp_concat_order_swapped",
        "cell": "mtp_depth1",
        "why": "concatenates [Emb; h] instead of [h; Emb] before M",
        "source": _MTP.format(**dict(_MTP_OK, cat='[rms_norm(e, weights["norm_e"]), rms_norm(h[:, :-1], weights["norm_h"])]')),
        "loses": ["test_mtp_depth1"],
    },
    {
        "name": "mtp_output_head_without_norm",
        "cell": "mtp_depth1",
        "why": "applies the vocabulary projection without the shared final RMSNorm",
        "source": _MTP.format(**dict(_MTP_OK, out="h1")),
        "loses": ["test_mtp_depth1"],
    },
    # --- mtp_loss
    {
        "name": "mtp_loss_lambda_not_divided_by_depth",
        "cell": "mtp_loss",
        "why": "weights the summed MTP losses by lambda instead of lambda / D",
        "source": _LOSS.format(**dict(_L_OK, coef="lam")),
        "loses": ["test_mtp_loss"],
    },
    {
        "name": "mtp_loss_targets_shifted_by_k",
        "cell": "mtp_loss",
        "why": "pairs depth k's position i with t_{i+k} (the token it was given) instead of t_{i+k+1}",
        "source": _LOSS.format(**dict(_L_OK, n="T - k", start="k")),
        "loses": ["test_mtp_loss"],
    },
    {
        "name": "mtp_loss_main_not_shifted",
        "cell": "mtp_loss",
        "why": "scores the main logits against the input tokens at the same position",
        "source": _LOSS.format(**dict(_L_OK, main="F.cross_entropy(logits_main.reshape(-1, V), tokens.reshape(-1))")),
        "loses": ["test_mtp_loss"],
    },
]


# ----------------------------------------------------------------------------------------------- hints
# One sentence per entry for the student who made that mistake, shown under the failed test (issue 23).
# Entries in _HINTS_NOT_SHOWN keep their hint for the class report only: any useful hint would give the fix away.
_HINTS = {
    "latent_not_normalised": "The latent you cache is missing a normalisation that the released DeepSeek models apply to c_KV.",
    "latent_rope_key_not_rotated": "Your shared RoPE key carries no position information.",
    "latent_rope_key_normalised": "Your normalisation covers more than the latent c_KV: the RoPE key should not be touched by it.",
    "queries_not_normalised": "Your compressed query c_Q skips a step that the compressed key path also has.",
    "queries_heads_split_by_view": "Check how you split the projection into heads: your reshape mixes tokens and heads.",
    "queries_ignore_positions": "Your queries are rotated at the same positions whatever `positions` you are given, which breaks decoding.",
    "queries_default_positions_from_one": "When no positions are given, your queries are rotated at positions that start at the wrong number.",
    "attention_scale_nope_only": "Your softmax scale counts only part of the dimensions that enter the query-key dot product.",
    "attention_not_causal": "Your attention lets tokens look at the future.",
    "attention_mask_off_by_one": "Your causal mask lets each token see one position too far.",
    "attention_softmax_over_queries": "Check which dimension your softmax normalises over: each query's weights over the keys should sum to 1.",
    "latent_default_positions_from_one": "When no positions are given, your RoPE key is rotated at positions that start at the wrong number.",
    "latent_default_positions_all_zero": "When no positions are given, your RoPE key gets no rotation at all.",
    "absorb_query_mixes_heads": "Your absorbed query matrix mixes heads: each head's block should only involve that head's slices of W_UQ and W_UK.",
    "absorb_query_transposed_blocks": "Each head's block of your absorbed query matrix is transposed relative to the shape (d_c, d_q) it should have.",
    "absorb_wrong_head_split_of_W_UV": "Check how you split W_UV into heads: the rows of one head are contiguous.",
    "absorb_output_columns_latent_major": "The columns of your W_O_absorbed are not laid out head after head.",
    "decode_no_scale": "Absorption changes where the matrices are multiplied, not the softmax scale of the scores.",
    "decode_query_at_position_zero": "The new token's RoPE query is rotated at the wrong position in the sequence.",
    "decode_forgets_rope_scores": "Your scores leave out the decoupled RoPE part of the query-key dot product.",
    "decode_heads_flattened_latent_major": "Your per-head latent outputs are flattened in a different order than W_O_absorbed's columns expect.",
    "decode_decompresses_cache": "Your decode rebuilds per-head keys and values from the whole cache, which is exactly the cost absorption is meant to avoid.",
    "decode_expands_cache_through_W_O_absorbed": "Your decode maps every cached latent through the output matrix before averaging, rebuilding the values absorption avoids.",
    "decode_expands_cache_through_W_UQ_absorbed": "Your decode maps every cached latent into query space, rebuilding the keys that absorption avoids.",
    "kv_mla_counts_latent_twice": "MLA's latent serves as both key and value source: check how many times you count it.",
    "kv_forgets_values": "Your cache size for MHA, GQA and MQA counts the keys but not the values.",
    "kv_mla_without_rope_key": "Your MLA count forgets the second thing MLA caches besides the latent.",
    "kv_ignores_bytes_per_element": "Your function returns a number of elements, not of bytes.",
    "router_softmax": "Your affinities use DeepSeek-V2's activation, not V3's.",
    "router_bias_in_gates": "The bias should only change which experts are chosen, not the gate weights.",
    "router_bias_ignored": "Your balancing bias never changes which experts are chosen.",
    "router_not_renormalised": "Your gates are the raw affinities: they should be normalised over the chosen experts.",
    "router_group_score_max": "Check how you score a group: DeepSeek-V3 uses more than its single best expert.",
    "router_group_mask_fills_zero": "Experts outside the chosen groups can still win in your router when the biased scores are negative.",
    "router_ignores_groups": "You compute which groups are eligible but your top-k still picks among all experts.",
    "moe_without_shared_expert": "Your layer forgets the expert that every token goes through.",
    "moe_ungated_experts": "Your routed experts' outputs are added without their gate weights.",
    "moe_gelu_experts": "Your routed experts are not the SwiGLU MLP the lab uses: one of their weight matrices is unused.",
    "moe_dense_gate_matrix": "Your layer runs every expert on every token; only the chosen experts should ever see a token.",
    "moe_dense_einsum_all_experts": "Your einsums run every expert on every token; only the chosen experts should ever see a token.",
    "moe_dense_where_gates": "Your layer runs every expert on every token and zeroes the unchosen ones afterwards; only the chosen experts should compute.",
    "moe_dispatch_combine_einsum": "Your dispatch gives every expert a row for every token, mostly zeros; only the tokens routed to an expert should reach it.",
    "bias_update_wrong_sign": "Your bias update makes overloaded experts even more attractive.",
    "bias_update_proportional": "Your bias moves by an amount proportional to the load error; the paper's update has a fixed step size.",
    "bias_update_bincount_without_minlength": "Experts that received no tokens at all are not always counted in your load.",
    "aux_loss_unnormalised_affinities": "Your P_i averages affinities that were not normalised per token.",
    "aux_loss_f_is_fraction": "Your f_i is a plain fraction of tokens; the paper scales it so a perfectly balanced router gives 1.",
    "mtp_embeds_current_token": "Your MTP module combines h_i with the embedding of the wrong token: it should get the next one.",
    "mtp_embeds_the_target": "Your MTP module is given the very token it has to predict.",
    "mtp_concat_order_swapped": "Check the order of the two halves you concatenate before the projection M.",
    "mtp_output_head_without_norm": "Your MTP logits skip the final normalisation that the shared output head expects.",
    "mtp_loss_lambda_not_divided_by_depth": "Your MTP term grows with the number of depths: the paper averages over them.",
    "mtp_loss_targets_shifted_by_k": "Depth k's predictions are scored against the token it was given, not the one it must predict.",
    "mtp_loss_main_not_shifted": "Your main loss scores each position against its own input token instead of the next one.",
}
_HINTS_NOT_SHOWN = {
    "attention_mask_off_by_one",  # the only description is the off-by-one itself
    "queries_default_positions_from_one",  # naming the wrong start gives the fix
    "latent_default_positions_from_one",  # naming the wrong start gives the fix
}
assert set(_HINTS) == {e["name"] for e in WRONG_IMPLEMENTATIONS}, "one hint per entry, no stale names"
for _wrong in WRONG_IMPLEMENTATIONS:
    _wrong["hint"] = _HINTS[_wrong["name"]]
    if _wrong["name"] in _HINTS_NOT_SHOWN:
        _wrong["show_hint"] = False
