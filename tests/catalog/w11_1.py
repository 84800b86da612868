"""Wrong implementations for lab w11-1 (speculative sampling, Medusa).

Each entry replaces one answer cell of weeks/w11-1-speculative/solution.ipynb (format: tests/catalog/__init__.py).
The test cells drive the decoding loops and count target calls themselves, so the wasteful-but-exact verification
steps (one drafted token per call, no draft at all) lose points on their tokens per call.
"""

_VERIFY_HEAD = '''def speculative_verify(draft_tokens, q_probs, p_probs, u):
    B, gamma = draft_tokens.shape
    p_drafted = p_probs[:, :gamma].gather(-1, draft_tokens[..., None])[..., 0]
    q_drafted = q_probs.gather(-1, draft_tokens[..., None])[..., 0]
'''


def _verify(accept_line: str, tail: str | None = None) -> str:
    tail = tail or '''    n_accepted = accepted.long().cumprod(dim=1).sum(dim=1)
    rows = torch.arange(B)
    stop = n_accepted.clamp(max=gamma - 1)
    residual = residual_distribution(p_probs[rows, stop], q_probs[rows, stop])
    next_probs = torch.where((n_accepted == gamma)[:, None], p_probs[:, gamma], residual)
    return n_accepted, next_probs
'''
    return _VERIFY_HEAD + f"    {accept_line}\n" + tail


_GOOD_ACCEPT = "accepted = u < p_drafted / q_drafted"

_ACCEPT_HEAD = '''def medusa_accept(tokens, parents, node_probs, mode="greedy", epsilon=0.09, delta=0.3):
    N = tokens.shape[0]
    ok = []
    for i in range(N):
        P = node_probs[int(parents[i]) + 1]
        if mode == "greedy":
            good = int(tokens[i]) == int(P.argmax())
        else:
            entropy = -(P * P.clamp_min(1e-30).log()).sum()
'''
_ACCEPT_TAIL = '''        ok.append(good)
    best = []
    for i in range(N):
        path, j = [], i
        while j >= 0:
            path.append(j)
            j = int(parents[j])
        if all(ok[j] for j in path) and len(path) > len(best):
            best = path[::-1]
    return best
'''
_GOOD_TYPICAL = "            good = float(P[tokens[i]]) > min(epsilon, delta * math.exp(-float(entropy)))\n"

WRONG_IMPLEMENTATIONS = [
    # ---- residual_distribution ------------------------------------------------------------------------------
    {
        "name": "residual_not_clamped",
        "cell": "residual_distribution",
        "why": "normalises p - q without clamping the negative entries at zero",
        "hint": "Your residual has negative entries where the draft over-proposes a token.",
        "source": '''def residual_distribution(p, q):
    r = p - q
    return r / r.sum(-1, keepdim=True).clamp_min(1e-12)
''',
        "loses": ["test_residual_distribution", "test_speculative_verify"],
    },
    {
        "name": "residual_q_minus_p",
        "cell": "residual_distribution",
        "why": "takes max(0, q - p): the tokens the draft over-proposes instead of those it under-proposes",
        "hint": "Your residual puts its mass on the tokens the draft already proposes too often.",
        "source": '''def residual_distribution(p, q):
    r = (q - p).clamp_min(0)
    return r / r.sum(-1, keepdim=True).clamp_min(1e-12)
''',
        "loses": ["test_residual_distribution", "test_speculative_verify"],
    },
    {
        "name": "residual_not_normalised",
        "cell": "residual_distribution",
        "why": "returns max(0, p - q) without dividing by its sum",
        "hint": "Your residual rows do not sum to 1.",
        "source": '''def residual_distribution(p, q):
    return (p - q).clamp_min(0)
''',
        "loses": ["test_residual_distribution", "test_speculative_verify"],
    },
    {
        "name": "residual_is_target",
        "cell": "residual_distribution",
        "why": "resamples from the target p itself after a rejection",
        "hint": "Your function behaves like one that resamples from the target's own distribution after a rejection.",
        "source": '''def residual_distribution(p, q):
    return p.clone()
''',
        "loses": ["test_residual_distribution", "test_speculative_verify"],
    },
    {
        "name": "residual_softmax",
        "cell": "residual_distribution",
        "why": "normalises max(0, p - q) with a softmax instead of dividing by the sum",
        "hint": "Your residual gives mass to tokens where p <= q: check how you normalise.",
        "source": '''def residual_distribution(p, q):
    return torch.softmax((p - q).clamp_min(0), dim=-1)
''',
        "loses": ["test_residual_distribution", "test_speculative_verify"],
    },
    # ---- speculative_verify ---------------------------------------------------------------------------------
    {
        "name": "verify_resample_from_p",
        "cell": "speculative_verify",
        "why": "after a rejection samples the correction from p instead of the normalised residual",
        "hint": "Your step behaves like one that resamples a rejected position from the target's distribution, "
                "which counts the accepted mass twice.",
        "source": _verify(_GOOD_ACCEPT, '''    n_accepted = accepted.long().cumprod(dim=1).sum(dim=1)
    rows = torch.arange(B)
    stop = n_accepted.clamp(max=gamma - 1)
    next_probs = torch.where((n_accepted == gamma)[:, None], p_probs[:, gamma], p_probs[rows, stop])
    return n_accepted, next_probs
'''),
        "loses": ["test_speculative_verify"],
    },
    {
        "name": "verify_no_bonus",
        "cell": "speculative_verify",
        "why": "when every draft token is accepted returns no extra token (an all-zero distribution)",
        "hint": "When every drafted token is accepted, your step wastes something the target call already computed.",
        "source": _verify(_GOOD_ACCEPT, '''    n_accepted = accepted.long().cumprod(dim=1).sum(dim=1)
    rows = torch.arange(B)
    stop = n_accepted.clamp(max=gamma - 1)
    residual = residual_distribution(p_probs[rows, stop], q_probs[rows, stop])
    next_probs = torch.where((n_accepted == gamma)[:, None], torch.zeros_like(residual), residual)
    return n_accepted, next_probs
'''),
        "loses": ["test_speculative_verify"],
    },
    {
        "name": "verify_one_token_per_call",
        "cell": "speculative_verify",
        "why": "checks only the first drafted token per target call (exact, but at most 2 tokens per call)",
        "hint": "Your step is exact but uses only part of what one target call can verify: count the tokens per call.",
        "source": '''def speculative_verify(draft_tokens, q_probs, p_probs, u):
    B, gamma = draft_tokens.shape
    x = draft_tokens[:, 0]
    rows = torch.arange(B)
    ok = u[:, 0] < p_probs[rows, 0, x] / q_probs[rows, 0, x]
    residual = residual_distribution(p_probs[:, 0], q_probs[:, 0])
    return ok.long(), torch.where(ok[:, None], p_probs[:, 1], residual)
''',
        "loses": ["test_speculative_verify"],
    },
    {
        "name": "verify_ignores_draft",
        "cell": "speculative_verify",
        "why": "ignores the draft and samples one token from the target per call (plain decoding)",
        "hint": "Your step produces one token per target call, like plain decoding: the draft's work is thrown away.",
        "source": '''def speculative_verify(draft_tokens, q_probs, p_probs, u):
    return torch.zeros(draft_tokens.shape[0], dtype=torch.long), p_probs[:, 0]
''',
        "loses": ["test_speculative_verify"],
    },
    {
        "name": "verify_deterministic_p_ge_q",
        "cell": "speculative_verify",
        "why": "accepts a draft token iff p(x) >= q(x), ignoring the uniforms",
        "hint": "Your acceptance is deterministic; a token the target likes less than the draft must still be kept "
                "with some probability.",
        "source": _verify("accepted = p_drafted >= q_drafted"),
        "loses": ["test_speculative_verify"],
    },
    {
        "name": "verify_inverted_ratio",
        "cell": "speculative_verify",
        "why": "accepts with probability min(1, q/p) instead of min(1, p/q)",
        "hint": "Your acceptance ratio favours tokens the draft likes more than the target.",
        "source": _verify("accepted = u < q_drafted / p_drafted"),
        "loses": ["test_speculative_verify"],
    },
    {
        "name": "verify_accept_with_p_only",
        "cell": "speculative_verify",
        "why": "accepts with probability p(x), forgetting to divide by q(x)",
        "hint": "Your acceptance probability forgets how likely the draft was to propose the token.",
        "source": _verify("accepted = u < p_drafted"),
        "loses": ["test_speculative_verify"],
    },
    {
        "name": "verify_counts_all_accepts",
        "cell": "speculative_verify",
        "why": "counts every accepted position instead of the accepted prefix (keeps going after a rejection)",
        "hint": "Your step keeps drafted tokens that come after a rejected one.",
        "source": _verify(_GOOD_ACCEPT, '''    n_accepted = accepted.long().sum(dim=1)
    rows = torch.arange(B)
    stop = n_accepted.clamp(max=gamma - 1)
    residual = residual_distribution(p_probs[rows, stop], q_probs[rows, stop])
    next_probs = torch.where((n_accepted == gamma)[:, None], p_probs[:, gamma], residual)
    return n_accepted, next_probs
'''),
        "loses": ["test_speculative_verify"],
    },
    {
        "name": "verify_bonus_off_by_one",
        "cell": "speculative_verify",
        "why": "takes the bonus distribution from p_probs[:, gamma - 1] (the last drafted position) instead of gamma",
        "hint": "Your bonus token is drawn from the distribution of a position that is already filled.",
        "source": _verify(_GOOD_ACCEPT, '''    n_accepted = accepted.long().cumprod(dim=1).sum(dim=1)
    rows = torch.arange(B)
    stop = n_accepted.clamp(max=gamma - 1)
    residual = residual_distribution(p_probs[rows, stop], q_probs[rows, stop])
    next_probs = torch.where((n_accepted == gamma)[:, None], p_probs[:, gamma - 1], residual)
    return n_accepted, next_probs
'''),
        "loses": ["test_speculative_verify"],
    },
    {
        "name": "verify_residual_next_position",
        "cell": "speculative_verify",
        "why": "after a rejection at position i takes the residual of position i + 1",
        "hint": "After a rejection, your correction comes from the wrong position's distributions.",
        "source": _verify(_GOOD_ACCEPT, '''    n_accepted = accepted.long().cumprod(dim=1).sum(dim=1)
    rows = torch.arange(B)
    stop = n_accepted.clamp(max=gamma - 1)
    nxt = (stop + 1).clamp(max=gamma - 1)
    residual = residual_distribution(p_probs[rows, nxt], q_probs[rows, nxt])
    next_probs = torch.where((n_accepted == gamma)[:, None], p_probs[:, gamma], residual)
    return n_accepted, next_probs
'''),
        "loses": ["test_speculative_verify"],
    },
    {
        "name": "verify_same_uniform",
        "cell": "speculative_verify",
        "why": "uses the first uniform for every position (correlated acceptance decisions)",
        "hint": "Your acceptance decisions at different positions are not independent.",
        "source": _verify("accepted = u[:, :1] < p_drafted / q_drafted"),
        "loses": ["test_speculative_verify"],
    },
    # ---- acceptance_rate -------------------------------------------------------------------------------------
    {
        "name": "alpha_without_min",
        "cell": "acceptance_rate",
        "why": "averages the ratio p/q over x ~ q without the min(1, .): sum_x q (p/q) = 1",
        "hint": "Your acceptance rate treats the ratio p/q as a probability even where it exceeds 1.",
        "source": '''def acceptance_rate(p, q):
    return (q * (p / q)).sum(-1)
''',
        "loses": ["test_acceptance_rate"],
    },
    {
        "name": "alpha_max",
        "cell": "acceptance_rate",
        "why": "sums max(p, q) instead of min(p, q)",
        "hint": "Your rate exceeds 1 whenever p and q differ.",
        "source": '''def acceptance_rate(p, q):
    return torch.maximum(p, q).sum(-1)
''',
        "loses": ["test_acceptance_rate"],
    },
    {
        "name": "alpha_tv_without_half",
        "cell": "acceptance_rate",
        "why": "1 - sum |p - q| (forgets the 1/2 of the total-variation distance)",
        "hint": "Your rate relates to the total-variation distance with the wrong factor.",
        "source": '''def acceptance_rate(p, q):
    return 1 - (p - q).abs().sum(-1)
''',
        "loses": ["test_acceptance_rate"],
    },
    {
        "name": "alpha_mean_not_sum",
        "cell": "acceptance_rate",
        "why": "averages min(p, q) over the vocabulary instead of summing",
        "hint": "Your rate shrinks with the vocabulary size.",
        "source": '''def acceptance_rate(p, q):
    return torch.minimum(p, q).mean(-1)
''',
        "loses": ["test_acceptance_rate"],
    },
    {
        "name": "alpha_dot_product",
        "cell": "acceptance_rate",
        "why": "uses sum p q (the probability that p and q draw the same token) as the acceptance rate",
        "hint": "Your rate is the chance that two independent draws agree, not the chance that a draft token is kept.",
        "source": '''def acceptance_rate(p, q):
    return (p * q).sum(-1)
''',
        "loses": ["test_acceptance_rate"],
    },
    # ---- expected_tokens_per_call ----------------------------------------------------------------------------
    {
        "name": "tokens_no_bonus",
        "cell": "expected_tokens_per_call",
        "why": "(1 - alpha^gamma) / (1 - alpha): forgets the token every call adds",
        "hint": "Your count forgets the token that every target call adds after the accepted prefix.",
        "source": '''def expected_tokens_per_call(alpha, gamma):
    if alpha >= 1.0:
        return float(gamma)
    return (1.0 - alpha**gamma) / (1.0 - alpha)
''',
        "loses": ["test_expected_tokens_per_call", "test_walltime_speedup"],
    },
    {
        "name": "tokens_linear",
        "cell": "expected_tokens_per_call",
        "why": "1 + gamma * alpha: treats the acceptances as independent of the earlier rejections",
        "hint": "Your count keeps drafted tokens that come after a rejection.",
        "source": '''def expected_tokens_per_call(alpha, gamma):
    return 1.0 + gamma * alpha
''',
        "loses": ["test_expected_tokens_per_call", "test_walltime_speedup"],
    },
    {
        "name": "tokens_alpha_one_nan",
        "cell": "expected_tokens_per_call",
        "why": "the closed form without the alpha = 1 case (division by zero)",
        "hint": "Your formula breaks for a draft that always agrees with the target.",
        "source": '''def expected_tokens_per_call(alpha, gamma):
    try:
        return (1.0 - alpha ** (gamma + 1)) / (1.0 - alpha)
    except ZeroDivisionError:
        return float("nan")
''',
        "loses": ["test_expected_tokens_per_call", "test_walltime_speedup"],
    },
    {
        "name": "tokens_infinite_draft",
        "cell": "expected_tokens_per_call",
        "why": "1 / (1 - alpha): the mean for an unbounded draft, ignoring gamma",
        "hint": "Your count does not depend on how many tokens were drafted.",
        "source": '''def expected_tokens_per_call(alpha, gamma):
    return 1.0 / (1.0 - alpha) if alpha < 1 else float(gamma + 1)
''',
        "loses": ["test_expected_tokens_per_call", "test_walltime_speedup"],
    },
    # ---- walltime_speedup ------------------------------------------------------------------------------------
    {
        "name": "speedup_ignores_cost",
        "cell": "walltime_speedup",
        "why": "returns the tokens per call, as if draft calls were free",
        "hint": "Your speed-up treats the draft's calls as free.",
        "source": '''def walltime_speedup(alpha, gamma, c):
    return expected_tokens_per_call(alpha, gamma)
''',
        "loses": ["test_walltime_speedup"],
    },
    {
        "name": "speedup_forgets_target_call",
        "cell": "walltime_speedup",
        "why": "divides by gamma * c only, forgetting the target call of every round",
        "hint": "Your cost of a round leaves out one call.",
        "source": '''def walltime_speedup(alpha, gamma, c):
    return expected_tokens_per_call(alpha, gamma) / max(gamma * c, 1e-12)
''',
        "loses": ["test_walltime_speedup"],
    },
    {
        "name": "speedup_one_draft_call",
        "cell": "walltime_speedup",
        "why": "counts one draft call per round instead of gamma",
        "hint": "Your cost of a round counts the draft as if it drafted a single token.",
        "source": '''def walltime_speedup(alpha, gamma, c):
    return expected_tokens_per_call(alpha, gamma) / (c + 1.0)
''',
        "loses": ["test_walltime_speedup"],
    },
    # ---- medusa_loss -----------------------------------------------------------------------------------------
    {
        "name": "medusa_loss_shift_one",
        "cell": "medusa_loss",
        "why": "aligns head i with the token i + 1 ahead (as if head 0 were the LM head)",
        "hint": "Your heads are trained to predict tokens one position too early.",
        "source": '''def medusa_loss(head_logits, tokens, decay=0.8):
    H, B, T, V = head_logits.shape
    total = head_logits.new_zeros(())
    for i in range(H):
        shift = i + 1
        total = total + decay**i * F.cross_entropy(head_logits[i, :, : T - shift].reshape(-1, V), tokens[:, shift:].reshape(-1))
    return total
''',
        "loses": ["test_medusa_loss"],
    },
    {
        "name": "medusa_loss_no_decay",
        "cell": "medusa_loss",
        "why": "sums the heads' losses without the decay weights",
        "hint": "Your loss weighs the deep heads as much as the first one.",
        "source": '''def medusa_loss(head_logits, tokens, decay=0.8):
    H, B, T, V = head_logits.shape
    total = head_logits.new_zeros(())
    for i in range(H):
        shift = i + 2
        total = total + F.cross_entropy(head_logits[i, :, : T - shift].reshape(-1, V), tokens[:, shift:].reshape(-1))
    return total
''',
        "loses": ["test_medusa_loss"],
    },
    {
        "name": "medusa_loss_decay_from_one",
        "cell": "medusa_loss",
        "why": "weights head i by decay**(i + 1) (the first head already decayed)",
        "hint": "Your weights are off by one power.",
        "source": '''def medusa_loss(head_logits, tokens, decay=0.8):
    H, B, T, V = head_logits.shape
    total = head_logits.new_zeros(())
    for i in range(H):
        shift = i + 2
        total = total + decay ** (i + 1) * F.cross_entropy(head_logits[i, :, : T - shift].reshape(-1, V), tokens[:, shift:].reshape(-1))
    return total
''',
        "loses": ["test_medusa_loss"],
    },
    {
        "name": "medusa_loss_sum_positions",
        "cell": "medusa_loss",
        "why": "sums the cross-entropy over positions instead of averaging",
        "hint": "Your loss grows with the number of positions.",
        "source": '''def medusa_loss(head_logits, tokens, decay=0.8):
    H, B, T, V = head_logits.shape
    total = head_logits.new_zeros(())
    for i in range(H):
        shift = i + 2
        total = total + decay**i * F.cross_entropy(head_logits[i, :, : T - shift].reshape(-1, V), tokens[:, shift:].reshape(-1), reduction="sum")
    return total
''',
        "loses": ["test_medusa_loss"],
    },
    # ---- medusa_tree -----------------------------------------------------------------------------------------
    {
        "name": "tree_first_rank",
        "cell": "medusa_tree",
        "why": "takes the token from the first rank of the path instead of the last",
        "hint": "Your node tokens are read with the rank of the wrong step of the path.",
        "source": '''def medusa_tree(head_topk, choices):
    index = {tuple(c): i for i, c in enumerate(choices)}
    tokens = torch.tensor([int(head_topk[len(c) - 1, c[0]]) for c in choices], dtype=torch.long)
    parents = torch.tensor([index[tuple(c[:-1])] if len(c) > 1 else -1 for c in choices], dtype=torch.long)
    return tokens, parents
''',
        "loses": ["test_medusa_tree"],
    },
    {
        "name": "tree_head_zero",
        "cell": "medusa_tree",
        "why": "reads every depth from head 0",
        "hint": "Your deeper nodes do not use the head that guesses their depth.",
        "source": '''def medusa_tree(head_topk, choices):
    index = {tuple(c): i for i, c in enumerate(choices)}
    tokens = torch.tensor([int(head_topk[0, c[-1]]) for c in choices], dtype=torch.long)
    parents = torch.tensor([index[tuple(c[:-1])] if len(c) > 1 else -1 for c in choices], dtype=torch.long)
    return tokens, parents
''',
        "loses": ["test_medusa_tree"],
    },
    {
        "name": "tree_parent_previous_node",
        "cell": "medusa_tree",
        "why": "makes each deeper node a child of the node listed just before it",
        "hint": "Your parents follow the list order instead of the paths.",
        "source": '''def medusa_tree(head_topk, choices):
    tokens = torch.tensor([int(head_topk[len(c) - 1, c[-1]]) for c in choices], dtype=torch.long)
    parents = torch.tensor([i - 1 if len(c) > 1 else -1 for i, c in enumerate(choices)], dtype=torch.long)
    return tokens, parents
''',
        "loses": ["test_medusa_tree"],
    },
    # ---- tree_attention_mask ---------------------------------------------------------------------------------
    {
        "name": "mask_causal",
        "cell": "tree_attention_mask",
        "why": "uses a causal (lower-triangular) mask over the flattened tree",
        "hint": "Your mask lets a node see siblings and cousins that come before it in the list.",
        "source": '''def tree_attention_mask(parents):
    N = parents.shape[0]
    return torch.tril(torch.ones(N, N, dtype=torch.bool))
''',
        "loses": ["test_tree_attention_mask"],
    },
    {
        "name": "mask_no_self",
        "cell": "tree_attention_mask",
        "why": "marks the ancestors but not the node itself",
        "hint": "Your mask forgets one position every node must see.",
        "source": '''def tree_attention_mask(parents):
    N = parents.shape[0]
    mask = torch.zeros(N, N, dtype=torch.bool)
    for i in range(N):
        j = int(parents[i])
        while j >= 0:
            mask[i, j] = True
            j = int(parents[j])
    return mask
''',
        "loses": ["test_tree_attention_mask"],
    },
    {
        "name": "mask_parent_only",
        "cell": "tree_attention_mask",
        "why": "marks the node and its parent, not the older ancestors",
        "hint": "Your mask hides part of a node's path from the node.",
        "source": '''def tree_attention_mask(parents):
    N = parents.shape[0]
    mask = torch.eye(N, dtype=torch.bool)
    for i in range(N):
        if int(parents[i]) >= 0:
            mask[i, int(parents[i])] = True
    return mask
''',
        "loses": ["test_tree_attention_mask"],
    },
    {
        "name": "mask_descendants",
        "cell": "tree_attention_mask",
        "why": "marks descendants instead of ancestors (the transposed mask)",
        "hint": "Your mask lets a node look down the tree instead of up.",
        "source": '''def tree_attention_mask(parents):
    N = parents.shape[0]
    mask = torch.eye(N, dtype=torch.bool)
    for i in range(N):
        j = int(parents[i])
        while j >= 0:
            mask[j, i] = True
            j = int(parents[j])
    return mask
''',
        "loses": ["test_tree_attention_mask"],
    },
    {
        "name": "mask_causal_in_order_only",
        "cell": "tree_attention_mask",
        "why": "walks only the ancestors listed before the node (assumes parents come first)",
        "hint": "Your mask is right when parents are listed before their children, not for any node order.",
        "source": '''def tree_attention_mask(parents):
    N = parents.shape[0]
    mask = torch.eye(N, dtype=torch.bool)
    for i in range(N):
        p = int(parents[i])
        if 0 <= p < i:
            mask[i] |= mask[p]
    return mask
''',
        "loses": ["test_tree_attention_mask"],
    },
    # ---- medusa_accept ---------------------------------------------------------------------------------------
    {
        "name": "accept_ignores_ancestors",
        "cell": "medusa_accept",
        "why": "accepts the deepest node that passes its own test even if an ancestor failed",
        "hint": "Your accepted path can contain a node whose parent was rejected.",
        "source": _ACCEPT_HEAD + _GOOD_TYPICAL + '''        ok.append(good)
    best = []
    for i in range(N):
        path, j = [], i
        while j >= 0:
            path.append(j)
            j = int(parents[j])
        if ok[i] and len(path) > len(best):
            best = path[::-1]
    return best
''',
        "loses": ["test_medusa_accept"],
    },
    {
        "name": "accept_first_path",
        "cell": "medusa_accept",
        "why": "returns the first accepted path found rather than the longest",
        "hint": "Your choice among the accepted paths does not maximise the tokens gained.",
        "source": _ACCEPT_HEAD + _GOOD_TYPICAL + '''        ok.append(good)
    for i in range(N):
        path, j = [], i
        while j >= 0:
            path.append(j)
            j = int(parents[j])
        if all(ok[j] for j in path):
            return path[::-1]
    return []
''',
        "loses": ["test_medusa_accept"],
    },
    {
        "name": "accept_typical_max",
        "cell": "medusa_accept",
        "why": "typical threshold with max(epsilon, delta exp(-H)) instead of min",
        "hint": "Your typical threshold is too strict where the target is uncertain.",
        "source": _ACCEPT_HEAD
        + "            good = float(P[tokens[i]]) > max(epsilon, delta * math.exp(-float(entropy)))\n" + _ACCEPT_TAIL,
        "loses": ["test_medusa_accept"],
    },
    {
        "name": "accept_typical_no_entropy",
        "cell": "medusa_accept",
        "why": "typical acceptance with a fixed threshold epsilon, ignoring the entropy",
        "hint": "Your typical acceptance does not adapt to how uncertain the target is.",
        "show_hint": False,
        "source": _ACCEPT_HEAD + "            good = float(P[tokens[i]]) > epsilon\n" + _ACCEPT_TAIL,
        "loses": ["test_medusa_accept"],
    },
    {
        "name": "accept_reads_own_row",
        "cell": "medusa_accept",
        "why": "tests each node against the target's distribution after the node instead of at its parent",
        "hint": "Your test reads the distribution of the wrong position of the tree.",
        "source": _ACCEPT_HEAD.replace("P = node_probs[int(parents[i]) + 1]", "P = node_probs[i + 1]")
        + _GOOD_TYPICAL + _ACCEPT_TAIL,
        "loses": ["test_medusa_accept"],
    },
    {
        "name": "accept_typical_exp_plus_entropy",
        "cell": "medusa_accept",
        "why": "typical threshold delta * exp(+H): grows with the uncertainty",
        "hint": "Your typical threshold moves the wrong way with the entropy.",
        "source": _ACCEPT_HEAD
        + "            good = float(P[tokens[i]]) > min(epsilon, delta * math.exp(float(entropy)))\n" + _ACCEPT_TAIL,
        "loses": ["test_medusa_accept"],
    },
]
