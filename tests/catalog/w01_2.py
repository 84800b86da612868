"""Wrong implementations for lab w01-2 (Mixtral sparse MoE, load balancing, multi-token prediction, self-speculation).

Each entry replaces one answer cell of weeks/w01-2-moe-mtp/solution.ipynb (format: tests/catalog/__init__.py).
"""

WRONG_IMPLEMENTATIONS = [
    # ---- topk_route
    {
        "name": "route_softmax_all_no_renorm",
        "cell": "topk_route",
        "why": "softmax over all E logits, then keeps the top-k probabilities without renormalising (Switch style)",
        "source": """def topk_route(router_logits, k=2):
    probs = torch.softmax(router_logits, dim=-1)
    weights, indices = torch.topk(probs, k, dim=-1)
    return indices, weights
""",
        "loses": ["test_topk_route"],
    },
    {
        "name": "route_softmax_wrong_axis",
        "cell": "topk_route",
        "why": "softmax over the token axis (dim 0) instead of over the selected experts",
        "source": """def topk_route(router_logits, k=2):
    top_logits, indices = torch.topk(router_logits, k, dim=-1)
    return indices, torch.softmax(top_logits, dim=0)
""",
        "loses": ["test_topk_route"],
    },
    {
        "name": "route_normalise_logits",
        "cell": "topk_route",
        "why": "divides the two selected logits by their sum instead of taking a softmax",
        "source": """def topk_route(router_logits, k=2):
    top_logits, indices = torch.topk(router_logits, k, dim=-1)
    return indices, top_logits / top_logits.sum(dim=-1, keepdim=True)
""",
        "loses": ["test_topk_route"],
    },
    {
        "name": "route_bottom_k",
        "cell": "topk_route",
        "why": "sorts ascending and takes the first k, i.e. the k smallest logits",
        "source": """def topk_route(router_logits, k=2):
    order = torch.argsort(router_logits, dim=-1)
    indices = order[:, :k]
    return indices, torch.softmax(router_logits.gather(1, indices), dim=-1)
""",
        "loses": ["test_topk_route"],
    },
    # ---- swiglu_expert
    {
        "name": "swiglu_silu_on_up",
        "cell": "swiglu_expert",
        "why": "applies SiLU to the up branch W3 x instead of the gate branch W1 x",
        "source": """def swiglu_expert(x, w1, w2, w3):
    return F.linear(F.linear(x, w1) * F.silu(F.linear(x, w3)), w2)
""",
        "loses": ["test_swiglu_expert"],
    },
    {
        "name": "swiglu_gelu",
        "cell": "swiglu_expert",
        "why": "uses GELU (GeGLU) instead of SiLU",
        "source": """def swiglu_expert(x, w1, w2, w3):
    return F.linear(F.gelu(F.linear(x, w1)) * F.linear(x, w3), w2)
""",
        "loses": ["test_swiglu_expert"],
    },
    {
        "name": "swiglu_sigmoid_gate",
        "cell": "swiglu_expert",
        "why": "gates with sigmoid(W1 x) (GLU) instead of SiLU(W1 x) = W1 x * sigmoid(W1 x)",
        "source": """def swiglu_expert(x, w1, w2, w3):
    return F.linear(torch.sigmoid(F.linear(x, w1)) * F.linear(x, w3), w2)
""",
        "loses": ["test_swiglu_expert"],
    },
    # ---- group_by_expert (used by dispatch_to_experts and combine_expert_outputs)
    {
        "name": "group_bincount_without_minlength",
        "cell": "group_by_expert",
        "why": "torch.bincount without minlength: counts is too short when the last experts get no token",
        "source": """def group_by_expert(indices, n_experts):
    k = indices.shape[1]
    flat = indices.reshape(-1)
    order = torch.argsort(flat, stable=True)
    return order // k, order % k, torch.bincount(flat)
""",
        "loses": ["test_group_by_expert", "test_dispatch_to_experts"],
    },
    {
        "name": "group_slot_major_layout",
        "cell": "group_by_expert",
        "why": "flattens slot-major (indices.T) but decodes the position as if it were token-major",
        "source": """def group_by_expert(indices, n_experts):
    k = indices.shape[1]
    flat = indices.T.reshape(-1)
    order = torch.argsort(flat, stable=True)
    return order // k, order % k, torch.bincount(flat, minlength=n_experts)
""",
        "loses": ["test_group_by_expert", "test_dispatch_to_experts", "test_combine_expert_outputs"],
    },
    {
        "name": "group_sorted_by_token",
        "cell": "group_by_expert",
        "why": "returns the assignments in token order (no sort by expert), so the experts' blocks are wrong",
        "source": """def group_by_expert(indices, n_experts):
    n, k = indices.shape
    flat = indices.reshape(-1)
    order = torch.arange(n * k)
    return order // k, order % k, torch.bincount(flat, minlength=n_experts)
""",
        "loses": ["test_group_by_expert", "test_dispatch_to_experts", "test_combine_expert_outputs"],
    },
    {
        "name": "group_descending_tokens",
        "cell": "group_by_expert",
        "why": "sorts by expert with a key that reverses the token order inside each expert",
        "source": """def group_by_expert(indices, n_experts):
    n, k = indices.shape
    flat = indices.reshape(-1)
    key = flat * (n * k) + (n * k - 1 - torch.arange(n * k))
    order = torch.argsort(key)
    return order // k, order % k, torch.bincount(flat, minlength=n_experts)
""",
        "loses": ["test_group_by_expert", "test_dispatch_to_experts", "test_combine_expert_outputs"],
    },
    # ---- dispatch_to_experts: the dense ("every expert sees every token") variants give the same layer output,
    # so they are caught by what they hand the experts (the test applies the experts to exactly those rows)
    {
        "name": "dispatch_every_token_to_every_expert",
        "cell": "dispatch_to_experts",
        "why": "dense MoE: hands all N tokens to every expert (the combine step would then keep only the routed rows)",
        "source": """def dispatch_to_experts(h, indices, n_experts):
    return [h for _ in range(n_experts)]
""",
        "loses": ["test_dispatch_to_experts"],
    },
    {
        "name": "dispatch_dense_torch_where",
        "cell": "dispatch_to_experts",
        "why": "dense MoE with torch.where: every expert gets all N rows, those of tokens not routed to it set to zero",
        "source": """def dispatch_to_experts(h, indices, n_experts):
    return [torch.where((indices == e).any(-1)[:, None], h, torch.zeros_like(h)) for e in range(n_experts)]
""",
        "loses": ["test_dispatch_to_experts"],
    },
    {
        "name": "dispatch_dense_multiply_by_mask",
        "cell": "dispatch_to_experts",
        "why": "dense MoE: every expert gets all N rows multiplied by a 0/1 routing mask",
        "source": """def dispatch_to_experts(h, indices, n_experts):
    mask = F.one_hot(indices, n_experts).sum(1).to(h.dtype)  # (N, E)
    return [h * mask[:, e:e + 1] for e in range(n_experts)]
""",
        "loses": ["test_dispatch_to_experts"],
    },
    {
        "name": "dispatch_dense_einsum",
        "cell": "dispatch_to_experts",
        "why": "dense MoE via einsum over all experts: builds (E, N, d) routed-or-zero inputs in one shot",
        "source": """def dispatch_to_experts(h, indices, n_experts):
    mask = F.one_hot(indices, n_experts).sum(1).to(h.dtype)  # (N, E)
    return list(torch.einsum("ne,nd->end", mask, h).unbind(0))
""",
        "loses": ["test_dispatch_to_experts"],
    },
    {
        "name": "dispatch_first_slot_only",
        "cell": "dispatch_to_experts",
        "why": "dispatches each token only to its first choice indices[:, 0] (top-1 dispatch with top-2 routing)",
        "source": """def dispatch_to_experts(h, indices, n_experts):
    return [h[indices[:, 0] == e] for e in range(n_experts)]
""",
        "loses": ["test_dispatch_to_experts"],
    },
    {
        "name": "dispatch_slot_major_order",
        "cell": "dispatch_to_experts",
        "why": "loops over slots then experts, so an expert's rows come slot by slot instead of in token order",
        "source": """def dispatch_to_experts(h, indices, n_experts):
    groups = [[] for _ in range(n_experts)]
    for s in range(indices.shape[1]):
        for e in range(n_experts):
            groups[e].append(h[indices[:, s] == e])
    return [torch.cat(g) for g in groups]
""",
        "loses": ["test_dispatch_to_experts"],
    },
    {
        "name": "dispatch_drops_empty_experts",
        "cell": "dispatch_to_experts",
        "why": "returns blocks only for the experts that received tokens, so the list is shorter than n_experts",
        "source": """def dispatch_to_experts(h, indices, n_experts):
    token_idx, _, counts = group_by_expert(indices, n_experts)
    return [rows for rows in torch.split(h[token_idx], counts.tolist()) if len(rows)]
""",
        "loses": ["test_dispatch_to_experts"],
    },
    # ---- combine_expert_outputs
    {
        "name": "combine_no_routing_weights",
        "cell": "combine_expert_outputs",
        "why": "adds the selected experts' outputs without multiplying by their routing weights",
        "source": """def combine_expert_outputs(expert_outputs, indices, weights):
    token_idx, slot_idx, _ = group_by_expert(indices, len(expert_outputs))
    rows = torch.cat(list(expert_outputs))
    return rows.new_zeros(indices.shape[0], rows.shape[-1]).index_add(0, token_idx, rows)
""",
        "loses": ["test_combine_expert_outputs"],
    },
    {
        "name": "combine_index_copy_instead_of_add",
        "cell": "combine_expert_outputs",
        "why": "writes the rows back with index_copy, so the second expert of a token overwrites the first",
        "source": """def combine_expert_outputs(expert_outputs, indices, weights):
    token_idx, slot_idx, _ = group_by_expert(indices, len(expert_outputs))
    rows = torch.cat(list(expert_outputs))
    scaled = rows * weights[token_idx, slot_idx].to(rows.dtype)[:, None]
    return rows.new_zeros(indices.shape[0], rows.shape[-1]).index_copy(0, token_idx, scaled)
""",
        "loses": ["test_combine_expert_outputs"],
    },
    {
        "name": "combine_weight_of_first_slot",
        "cell": "combine_expert_outputs",
        "why": "uses weights[tok, 0] (the top-1 weight) for every row instead of the weight of that row's slot",
        "source": """def combine_expert_outputs(expert_outputs, indices, weights):
    token_idx, slot_idx, _ = group_by_expert(indices, len(expert_outputs))
    rows = torch.cat(list(expert_outputs))
    scaled = rows * weights[token_idx, 0].to(rows.dtype)[:, None]
    return rows.new_zeros(indices.shape[0], rows.shape[-1]).index_add(0, token_idx, scaled)
""",
        "loses": ["test_combine_expert_outputs"],
    },
    {
        "name": "combine_rows_in_slot_order",
        "cell": "combine_expert_outputs",
        "why": "assumes each expert's rows come slot by slot (all slot-0 tokens first), not in increasing token order",
        "source": """def combine_expert_outputs(expert_outputs, indices, weights):
    n, k = indices.shape
    y = expert_outputs[0].new_zeros(n, expert_outputs[0].shape[-1])
    for e, rows in enumerate(expert_outputs):
        r = 0
        for s in range(k):
            for t in torch.nonzero(indices[:, s] == e).reshape(-1).tolist():
                y[t] += weights[t, s].to(y.dtype) * rows[r]
                r += 1
    return y
""",
        "loses": ["test_combine_expert_outputs"],
    },
    {
        "name": "combine_dense_assignment_matrix",
        "cell": "combine_expert_outputs",
        "why": "wasteful dense combine: an (N, N*k) matrix of routing weights times all rows (0 * NaN spreads NaN)",
        "source": """def combine_expert_outputs(expert_outputs, indices, weights):
    token_idx, slot_idx, _ = group_by_expert(indices, len(expert_outputs))
    rows = torch.cat(list(expert_outputs))
    A = rows.new_zeros(indices.shape[0], rows.shape[0])
    A[token_idx, torch.arange(rows.shape[0])] = weights[token_idx, slot_idx].to(rows.dtype)
    return A @ rows
""",
        "loses": ["test_combine_expert_outputs"],
    },
    {
        "name": "combine_returns_weights_dtype",
        "cell": "combine_expert_outputs",
        "why": "accumulates in the routing weights' dtype (float32) instead of the expert outputs' dtype",
        "source": """def combine_expert_outputs(expert_outputs, indices, weights):
    token_idx, slot_idx, _ = group_by_expert(indices, len(expert_outputs))
    rows = torch.cat(list(expert_outputs)).to(weights.dtype)
    scaled = rows * weights[token_idx, slot_idx][:, None]
    return rows.new_zeros(indices.shape[0], rows.shape[-1]).index_add(0, token_idx, scaled)
""",
        "loses": ["test_combine_expert_outputs"],
    },
    # ---- load_balancing_loss
    {
        "name": "lb_switch_normalisation",
        "cell": "load_balancing_loss",
        "why": "divides f by top_k (Switch's normalisation, 1 at uniform routing) instead of transformers' convention",
        "source": """def load_balancing_loss(router_logits, top_k=2, attention_mask=None):
    n, e = router_logits.shape
    probs = torch.softmax(router_logits.float(), dim=-1)
    chosen = F.one_hot(torch.topk(probs, top_k, dim=-1)[1], e).sum(1).float()
    mask = torch.ones(n) if attention_mask is None else torch.as_tensor(attention_mask).reshape(-1).float()
    f = (chosen * mask[:, None]).sum(0) / mask.sum() / top_k
    p = (probs * mask[:, None]).sum(0) / mask.sum()
    return e * (f * p).sum()
""",
        "loses": ["test_load_balancing_loss"],
    },
    {
        "name": "lb_top1_counts",
        "cell": "load_balancing_loss",
        "why": "counts only each token's first choice (argmax) in f, whatever top_k is",
        "source": """def load_balancing_loss(router_logits, top_k=2, attention_mask=None):
    n, e = router_logits.shape
    probs = torch.softmax(router_logits.float(), dim=-1)
    chosen = F.one_hot(probs.argmax(-1), e).float()
    mask = torch.ones(n) if attention_mask is None else torch.as_tensor(attention_mask).reshape(-1).float()
    f = (chosen * mask[:, None]).sum(0) / mask.sum()
    p = (probs * mask[:, None]).sum(0) / mask.sum()
    return e * (f * p).sum()
""",
        "loses": ["test_load_balancing_loss"],
    },
    {
        "name": "lb_p_from_renormalised_topk",
        "cell": "load_balancing_loss",
        "why": "takes P from the renormalised top-k routing weights instead of the full softmax",
        "source": """def load_balancing_loss(router_logits, top_k=2, attention_mask=None):
    n, e = router_logits.shape
    top, sel = torch.topk(router_logits.float(), top_k, dim=-1)
    probs = torch.zeros(n, e).scatter(1, sel, torch.softmax(top, dim=-1))
    chosen = F.one_hot(sel, e).sum(1).float()
    mask = torch.ones(n) if attention_mask is None else torch.as_tensor(attention_mask).reshape(-1).float()
    f = (chosen * mask[:, None]).sum(0) / mask.sum()
    p = (probs * mask[:, None]).sum(0) / mask.sum()
    return e * (f * p).sum()
""",
        "loses": ["test_load_balancing_loss"],
    },
    {
        "name": "lb_ignores_mask",
        "cell": "load_balancing_loss",
        "why": "accepts attention_mask but averages over every token, padding included",
        "source": """def load_balancing_loss(router_logits, top_k=2, attention_mask=None):
    n, e = router_logits.shape
    probs = torch.softmax(router_logits.float(), dim=-1)
    chosen = F.one_hot(torch.topk(probs, top_k, dim=-1)[1], e).sum(1).float()
    return e * (chosen.mean(0) * probs.mean(0)).sum()
""",
        "loses": ["test_load_balancing_loss"],
    },
    {
        "name": "lb_mask_on_f_only",
        "cell": "load_balancing_loss",
        "why": "masks the counts f but averages P over all tokens, padding included",
        "source": """def load_balancing_loss(router_logits, top_k=2, attention_mask=None):
    n, e = router_logits.shape
    probs = torch.softmax(router_logits.float(), dim=-1)
    chosen = F.one_hot(torch.topk(probs, top_k, dim=-1)[1], e).sum(1).float()
    mask = torch.ones(n) if attention_mask is None else torch.as_tensor(attention_mask).reshape(-1).float()
    f = (chosen * mask[:, None]).sum(0) / mask.sum()
    return e * (f * probs.mean(0)).sum()
""",
        "loses": ["test_load_balancing_loss"],
    },
    {
        "name": "lb_missing_num_experts_factor",
        "cell": "load_balancing_loss",
        "why": "forgets the factor E in front of the sum",
        "source": """def load_balancing_loss(router_logits, top_k=2, attention_mask=None):
    n, e = router_logits.shape
    probs = torch.softmax(router_logits.float(), dim=-1)
    chosen = F.one_hot(torch.topk(probs, top_k, dim=-1)[1], e).sum(1).float()
    mask = torch.ones(n) if attention_mask is None else torch.as_tensor(attention_mask).reshape(-1).float()
    f = (chosen * mask[:, None]).sum(0) / mask.sum()
    p = (probs * mask[:, None]).sum(0) / mask.sum()
    return (f * p).sum()
""",
        "loses": ["test_load_balancing_loss"],
    },
    # ---- mtp_loss
    {
        "name": "mtp_off_by_one",
        "cell": "mtp_loss",
        "why": "head i (0-based index) is compared with the token i ahead, so the first head predicts the current token",
        "source": """def mtp_loss(logits, tokens):
    n, _, T, V = logits.shape
    per_head = torch.stack([
        F.cross_entropy(logits[i, :, : T - i].reshape(-1, V), tokens[:, i:].reshape(-1)) for i in range(n)
    ])
    return per_head.sum(), per_head
""",
        "loses": ["test_mtp_loss"],
    },
    {
        "name": "mtp_mean_over_heads",
        "cell": "mtp_loss",
        "why": "averages the heads' losses instead of summing them as the paper's eq. 2 does",
        "source": """def mtp_loss(logits, tokens):
    n, _, T, V = logits.shape
    per_head = torch.stack([
        F.cross_entropy(logits[i - 1, :, : T - i].reshape(-1, V), tokens[:, i:].reshape(-1)) for i in range(1, n + 1)
    ])
    return per_head.mean(), per_head
""",
        "loses": ["test_mtp_loss"],
    },
    {
        "name": "mtp_roll_wraps_around",
        "cell": "mtp_loss",
        "why": "shifts targets with torch.roll, so the last i positions are trained on tokens from the start",
        "source": """def mtp_loss(logits, tokens):
    n, _, T, V = logits.shape
    per_head = torch.stack([
        F.cross_entropy(logits[i - 1].reshape(-1, V), torch.roll(tokens, -i, dims=1).reshape(-1))
        for i in range(1, n + 1)
    ])
    return per_head.sum(), per_head
""",
        "loses": ["test_mtp_loss"],
    },
    {
        "name": "mtp_divides_by_all_positions",
        "cell": "mtp_loss",
        "why": "sums each head's cross-entropy over its valid positions but divides by all B*T positions",
        "source": """def mtp_loss(logits, tokens):
    n, B, T, V = logits.shape
    per_head = torch.stack([
        F.cross_entropy(logits[i - 1, :, : T - i].reshape(-1, V), tokens[:, i:].reshape(-1), reduction="sum") / (B * T)
        for i in range(1, n + 1)
    ])
    return per_head.sum(), per_head
""",
        "loses": ["test_mtp_loss"],
    },
    # ---- verify_and_accept (used by self_speculative_decode)
    {
        "name": "accept_counts_all_matches",
        "cell": "verify_and_accept",
        "why": "counts every agreeing draft, not only the prefix before the first disagreement",
        "source": """def verify_and_accept(draft_tokens, verified_tokens):
    m = len(draft_tokens)
    return int((torch.as_tensor(draft_tokens) == torch.as_tensor(verified_tokens)[:m]).sum())
""",
        "loses": ["test_verify_and_accept", "test_self_speculative_decode"],
    },
    {
        "name": "accept_shifted_comparison",
        "cell": "verify_and_accept",
        "why": "compares draft j with verified j+1 (the token after it) instead of the one for its own slot",
        "source": """def verify_and_accept(draft_tokens, verified_tokens):
    a = 0
    while a < len(draft_tokens) and int(draft_tokens[a]) == int(verified_tokens[a + 1]):
        a += 1
    return a
""",
        "loses": ["test_verify_and_accept", "test_self_speculative_decode"],
    },
    {
        "name": "accept_includes_bonus",
        "cell": "verify_and_accept",
        "why": "returns the agreeing prefix plus one (counts the verified bonus token as an accepted draft)",
        "source": """def verify_and_accept(draft_tokens, verified_tokens):
    a = 0
    while a < len(draft_tokens) and int(draft_tokens[a]) == int(verified_tokens[a]):
        a += 1
    return a + 1
""",
        "loses": ["test_verify_and_accept", "test_self_speculative_decode"],
    },
    # ---- self_speculative_decode
    {
        "name": "spec_no_verification",
        "cell": "self_speculative_decode",
        "why": "appends all drafts without verifying them (blockwise prediction, not blockwise parallel decoding)",
        "source": """def self_speculative_decode(model, prompt, max_new_tokens):
    seq = torch.as_tensor(prompt, dtype=torch.long).clone()
    n_prompt = len(seq)
    logits = mtp_forward(model, seq)
    seq = torch.cat([seq, logits[0, -1].argmax().view(1)])
    drafts = logits[1:, -1].argmax(-1)
    accepted = []
    while len(seq) - n_prompt < max_new_tokens:
        length = len(seq)
        step_logits = mtp_forward(model, torch.cat([seq, drafts]))
        verified = step_logits[0, length - 1:].argmax(-1)
        a = len(drafts)
        new = torch.cat([drafts, verified[a].view(1)])[: max_new_tokens - (length - n_prompt)]
        seq = torch.cat([seq, new])
        accepted.append(len(new))
        drafts = step_logits[1:, length - 1 + a].argmax(-1)
    return seq, accepted
""",
        "loses": ["test_self_speculative_decode"],
    },
    {
        "name": "spec_drafts_from_stale_position",
        "cell": "self_speculative_decode",
        "why": "takes the next drafts at the last position of the verified sequence, i.e. after the rejected drafts",
        "source": """def self_speculative_decode(model, prompt, max_new_tokens):
    seq = torch.as_tensor(prompt, dtype=torch.long).clone()
    n_prompt = len(seq)
    logits = mtp_forward(model, seq)
    seq = torch.cat([seq, logits[0, -1].argmax().view(1)])
    drafts = logits[1:, -1].argmax(-1)
    accepted = []
    while len(seq) - n_prompt < max_new_tokens:
        length = len(seq)
        step_logits = mtp_forward(model, torch.cat([seq, drafts]))
        verified = step_logits[0, length - 1:].argmax(-1)
        a = verify_and_accept(drafts, verified)
        new = torch.cat([drafts[:a], verified[a].view(1)])[: max_new_tokens - (length - n_prompt)]
        seq = torch.cat([seq, new])
        accepted.append(len(new))
        drafts = step_logits[1:, -1].argmax(-1)
    return seq, accepted
""",
        "loses": ["test_self_speculative_decode"],
    },
    {
        "name": "spec_drops_bonus_token",
        "cell": "self_speculative_decode",
        "why": "appends only the accepted drafts (and the verified token only when nothing is accepted)",
        "source": """def self_speculative_decode(model, prompt, max_new_tokens):
    seq = torch.as_tensor(prompt, dtype=torch.long).clone()
    n_prompt = len(seq)
    logits = mtp_forward(model, seq)
    seq = torch.cat([seq, logits[0, -1].argmax().view(1)])
    drafts = logits[1:, -1].argmax(-1)
    accepted = []
    while len(seq) - n_prompt < max_new_tokens:
        length = len(seq)
        step_logits = mtp_forward(model, torch.cat([seq, drafts]))
        verified = step_logits[0, length - 1:].argmax(-1)
        a = verify_and_accept(drafts, verified)
        new = drafts[:a] if a > 0 else verified[:1]
        new = new[: max_new_tokens - (length - n_prompt)]
        seq = torch.cat([seq, new])
        accepted.append(len(new))
        drafts = mtp_forward(model, seq)[1:, -1].argmax(-1)
    return seq, accepted
""",
        "loses": ["test_self_speculative_decode"],
    },
    {
        "name": "spec_overshoots_max_new",
        "cell": "self_speculative_decode",
        "why": "does not cut the last step, so it can return more than max_new_tokens new tokens",
        "source": """def self_speculative_decode(model, prompt, max_new_tokens):
    seq = torch.as_tensor(prompt, dtype=torch.long).clone()
    n_prompt = len(seq)
    logits = mtp_forward(model, seq)
    seq = torch.cat([seq, logits[0, -1].argmax().view(1)])
    drafts = logits[1:, -1].argmax(-1)
    accepted = []
    while len(seq) - n_prompt < max_new_tokens:
        length = len(seq)
        step_logits = mtp_forward(model, torch.cat([seq, drafts]))
        verified = step_logits[0, length - 1:].argmax(-1)
        a = verify_and_accept(drafts, verified)
        new = torch.cat([drafts[:a], verified[a].view(1)])
        seq = torch.cat([seq, new])
        accepted.append(len(new))
        drafts = step_logits[1:, length - 1 + a].argmax(-1)
    return seq, accepted
""",
        "loses": ["test_self_speculative_decode"],
    },
    # ---- expected_tokens_per_step
    {
        "name": "expected_independent_sum",
        "cell": "expected_tokens_per_step",
        "why": "adds the acceptance rates (1 + sum p) as if a draft could count after an earlier one was rejected",
        "source": """def expected_tokens_per_step(p):
    return float(1.0 + torch.as_tensor(p, dtype=torch.float64).sum())
""",
        "loses": ["test_expected_tokens_per_step"],
    },
    {
        "name": "expected_forgets_verified_token",
        "cell": "expected_tokens_per_step",
        "why": "counts only the accepted drafts, forgetting the verified token every step appends",
        "source": """def expected_tokens_per_step(p):
    return float(torch.cumprod(torch.as_tensor(p, dtype=torch.float64).reshape(-1), 0).sum())
""",
        "loses": ["test_expected_tokens_per_step"],
    },
    {
        "name": "expected_product_of_all",
        "cell": "expected_tokens_per_step",
        "why": "uses 1 + m * prod(p): all-or-nothing acceptance of the m drafts",
        "source": """def expected_tokens_per_step(p):
    p = torch.as_tensor(p, dtype=torch.float64).reshape(-1)
    return float(1.0 + len(p) * p.prod())
""",
        "loses": ["test_expected_tokens_per_step"],
    },
]


# ----------------------------------------------------------------------------------------------- hints
# One sentence per entry for the student who made that mistake, shown under the failed test (issue 23).
# Entries in _HINTS_NOT_SHOWN keep their hint for the class report only: any useful hint would give the fix away.
_HINTS = {
    "route_softmax_all_no_renorm": "Your routing weights come from a softmax over all experts, so the chosen experts' weights do not sum to 1.",
    "route_softmax_wrong_axis": "Check which dimension your softmax normalises over: each token's weights over its chosen experts should sum to 1.",
    "route_normalise_logits": "Your routing weights divide raw logits by their sum, which is not a softmax (and breaks with negative logits).",
    "route_bottom_k": "Your router picks the experts with the lowest logits.",
    "swiglu_silu_on_up": "Your SiLU is applied to the wrong one of the two branches.",
    "swiglu_gelu": "Your gate activation is not the one SwiGLU uses.",
    "swiglu_sigmoid_gate": "Your gate uses a sigmoid where SwiGLU uses SiLU (the input times its sigmoid).",
    "group_bincount_without_minlength": "Your counts are too short when the last experts receive no token.",
    "group_slot_major_layout": "You flatten the assignments in one order and decode token and slot as if it were the other.",
    "group_sorted_by_token": "Your assignments are not grouped by expert.",
    "group_descending_tokens": "Inside each expert's block, your tokens are not in increasing token order.",
    "dispatch_every_token_to_every_expert": "Every expert receives every token; each expert should only see the tokens routed to it.",
    "dispatch_dense_torch_where": "Every expert still receives all N rows (zeroed or not); each expert should only see the tokens routed to it.",
    "dispatch_dense_multiply_by_mask": "Multiplying by a routing mask still hands every expert all N rows; each expert should only see its own tokens.",
    "dispatch_dense_einsum": "Your einsum builds an input for every (expert, token) pair; each expert should only see the tokens routed to it.",
    "dispatch_first_slot_only": "Each token reaches only its first choice, although it was routed to k experts.",
    "dispatch_slot_major_order": "Your expert blocks list their rows slot by slot rather than in token order.",
    "dispatch_drops_empty_experts": "Your list has no block for experts that received no tokens, so it is shorter than the number of experts.",
    "combine_no_routing_weights": "Your combine adds the experts' outputs without their routing weights.",
    "combine_index_copy_instead_of_add": "When a token has several experts, your combine keeps only one of their outputs.",
    "combine_weight_of_first_slot": "Every row is scaled by the token's top-1 weight, not by the weight of the slot it came from.",
    "combine_rows_in_slot_order": "Your combine assumes each expert's rows come slot by slot, which is not the order dispatch produces.",
    "combine_dense_assignment_matrix": "Your combine multiplies every row by a dense matrix of mostly zero weights, so it does work for rows a token never used (and NaNs spread).",
    "combine_returns_weights_dtype": "Your output comes back in the routing weights' dtype, not the expert outputs' dtype.",
    "lb_switch_normalisation": "Your f follows Switch's normalisation, not the transformers convention named in the docstring.",
    "lb_top1_counts": "Your f counts only each token's first choice, whatever top_k is.",
    "lb_p_from_renormalised_topk": "Your P is built from the top-k routing weights, not from the full softmax over experts.",
    "lb_ignores_mask": "Your loss counts padding tokens: the attention mask is never used.",
    "lb_mask_on_f_only": "Padding tokens still enter one of your two averages.",
    "lb_missing_num_experts_factor": "Your loss is missing the factor that makes it equal to 1 at uniform routing.",
    "mtp_off_by_one": "Your first head is trained to predict the token it is already looking at.",
    "mtp_mean_over_heads": "Your total averages the heads' losses where the paper's equation sums them.",
    "mtp_roll_wraps_around": "Your shifted targets wrap around, so the last positions are trained on tokens from the start of the sequence.",
    "mtp_divides_by_all_positions": "Each head's loss is divided by all positions, although the later heads have fewer valid targets.",
    "accept_counts_all_matches": "You count every agreeing draft, but a draft after the first disagreement cannot be accepted.",
    "accept_shifted_comparison": "Each draft is compared with the verified token of a different slot.",
    "accept_includes_bonus": "Your count includes the verified token, which is not an accepted draft.",
    "spec_no_verification": "Your decoder appends the drafts without checking them against the model's own predictions.",
    "spec_drafts_from_stale_position": "Your next drafts are read at a position that includes the rejected drafts.",
    "spec_drops_bonus_token": "Each step drops the verified token that blockwise parallel decoding gets for free.",
    "spec_overshoots_max_new": "Your decoder can return more than max_new_tokens new tokens.",
    "expected_independent_sum": "A draft only counts if every draft before it was accepted too.",
    "expected_forgets_verified_token": "Your expectation forgets the token every step produces even when no draft is accepted.",
    "expected_product_of_all": "Your formula treats acceptance as all-or-nothing, but a prefix of the drafts can be accepted.",
}
_HINTS_NOT_SHOWN = {
    "mtp_off_by_one",  # the only symptom is the off-by-one itself
}
assert set(_HINTS) == {e["name"] for e in WRONG_IMPLEMENTATIONS}, "one hint per entry, no stale names"
for _wrong in WRONG_IMPLEMENTATIONS:
    _wrong["hint"] = _HINTS[_wrong["name"]]
    if _wrong["name"] in _HINTS_NOT_SHOWN:
        _wrong["show_hint"] = False
