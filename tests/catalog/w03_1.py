"""Wrong implementations for lab w03-1 (ENTP: encoder-only next-token prediction; Mamba's selective SSM).

Each entry replaces one answer cell of weeks/w03-1-entp-mamba/solution.ipynb (format: tests/catalog/__init__.py).
"""

# ---- transformer_forward ------------------------------------------------------------------------------------

_FORWARD = '''def transformer_forward(x, weights, n_head, allowed):
    B, T = x.shape
    n_layer = len({k.split(".")[1] for k in weights if k.startswith("blocks.")})
    h = weights["tok_emb.weight"][x] + weights["pos_emb.weight"][:T]
    C = h.shape[-1]
    d = C // n_head
    allowed = torch.as_tensor(allowed, dtype=torch.bool)
    mask = allowed if allowed.dim() == 2 else allowed[:, None]
    for i in range(n_layer):
        p = f"blocks.{i}."
        a = F.layer_norm(h, (C,), weights[p + "norm1.weight"])
        q, k, v = (a @ weights[p + "attn.qkv.weight"].T).split(C, dim=-1)
        q, k, v = (t.view(B, T, n_head, d).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(d)
        scores = scores.masked_fill(~mask, float("-inf"))
        y = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        h = h + y @ weights[p + "attn.proj.weight"].T
        m = F.layer_norm(h, (C,), weights[p + "norm2.weight"])
        h = h + F.gelu(m @ weights[p + "mlp.up.weight"].T) @ weights[p + "mlp.down.weight"].T
    return F.layer_norm(h, (C,), weights["norm_f.weight"]) @ weights["lm_head.weight"].T
'''


def _forward(old: str, new: str) -> str:
    assert old in _FORWARD, old
    return _FORWARD.replace(old, new)


_MIXER = '''def mamba_mixer(hidden, weights):
    batch, L, _ = hidden.shape
    u, z = (hidden @ weights["in_proj.weight"].T).chunk(2, dim=-1)
    channels = u.shape[-1]
    K = weights["conv1d.weight"].shape[-1]
    conv = F.conv1d(u.transpose(1, 2), weights["conv1d.weight"], weights["conv1d.bias"], padding=K - 1, groups=channels)
    u = F.silu(conv[..., :L]).transpose(1, 2)
    N, R = weights["A_log"].shape[-1], weights["dt_proj.weight"].shape[-1]
    dt, B, C = (u @ weights["x_proj.weight"].T).split([R, N, N], dim=-1)
    delta = F.softplus(dt @ weights["dt_proj.weight"].T + weights["dt_proj.bias"])
    A = -torch.exp(weights["A_log"])
    y, _ = selective_scan(u, delta, A, B, C, weights["D"])
    return (y * F.silu(z)) @ weights["out_proj.weight"].T
'''


def _mixer(old: str, new: str) -> str:
    assert old in _MIXER, old
    return _MIXER.replace(old, new)


_STEP = '''def mamba_step(hidden_t, conv_state, ssm_state, weights):
    u, z = (hidden_t @ weights["in_proj.weight"].T).chunk(2, dim=-1)
    window = torch.cat([conv_state, u[:, :, None]], dim=-1)
    u = F.silu((window * weights["conv1d.weight"][:, 0]).sum(-1) + weights["conv1d.bias"])
    N, R = weights["A_log"].shape[-1], weights["dt_proj.weight"].shape[-1]
    dt, B, C = (u @ weights["x_proj.weight"].T).split([R, N, N], dim=-1)
    delta = F.softplus(dt @ weights["dt_proj.weight"].T + weights["dt_proj.bias"])
    A_bar, B_bar = discretize(delta, -torch.exp(weights["A_log"]), B)
    ssm_state = A_bar * ssm_state + B_bar * u[..., None]
    y = (ssm_state * C[:, None, :]).sum(-1) + weights["D"] * u
    return (y * F.silu(z)) @ weights["out_proj.weight"].T, window[:, :, 1:], ssm_state
'''


def _step(old: str, new: str) -> str:
    assert old in _STEP, old
    return _STEP.replace(old, new)


_SCAN = '''def selective_scan(u, delta, A, B, C, D, h0=None):
    A_bar, B_bar = discretize(delta, A, B)
    batch, L, channels = u.shape
    h = torch.zeros(batch, channels, A.shape[-1], dtype=u.dtype) if h0 is None else h0
    ys = []
    for t in range(L):
        h = A_bar[:, t] * h + B_bar[:, t] * u[:, t, :, None]
        ys.append((h * C[:, t, None, :]).sum(-1) + D * u[:, t])
    return torch.stack(ys, dim=1), h
'''


def _scan(old: str, new: str) -> str:
    assert old in _SCAN, old
    return _SCAN.replace(old, new)


_SSM_USERS = ["test_discretize", "test_selective_scan", "test_ssm_conv_kernel", "test_mamba_mixer", "test_mamba_step"]

WRONG_IMPLEMENTATIONS = [
    {
        "name": "forward_no_sqrt_d_scale",
        "cell": "transformer_forward",
        "why": "forgets to divide the scores by sqrt(head_dim), so the softmax is too sharp",
        "source": _forward("q @ k.transpose(-2, -1) / math.sqrt(d)", "q @ k.transpose(-2, -1)"),
        "loses": ["test_transformer_forward", "test_entp_logits"],
    },
    {
        "name": "forward_mask_transposed",
        "cell": "transformer_forward",
        "why": "reads the mask as allowed[key, query], so the causal mask lets queries see the future",
        "source": _forward("mask = allowed if allowed.dim() == 2 else allowed[:, None]",
                           "mask = (allowed.T if allowed.dim() == 2 else allowed.transpose(-1, -2)[:, None])"),
        "loses": ["test_transformer_forward"],
    },
    {
        "name": "forward_softmax_over_queries",
        "cell": "transformer_forward",
        "why": "normalises the attention over the query axis (dim=-2) instead of the keys",
        "source": _forward("scores.softmax(dim=-1)", "scores.softmax(dim=-2).nan_to_num(0.0)"),
        "loses": ["test_transformer_forward", "test_entp_logits"],
    },
    {
        "name": "forward_no_final_norm",
        "cell": "transformer_forward",
        "why": "forgets the final LayerNorm before the output head",
        "source": _forward('return F.layer_norm(h, (C,), weights["norm_f.weight"]) @ weights["lm_head.weight"].T',
                           'return h @ weights["lm_head.weight"].T'),
        "loses": ["test_transformer_forward", "test_entp_logits"],
    },
    {
        "name": "forward_interleaved_heads",
        "cell": "transformer_forward",
        "why": "splits the heads as (d, H) instead of (H, d): each head gets every H-th coordinate",
        "source": _forward("t.view(B, T, n_head, d).transpose(1, 2)", "t.view(B, T, d, n_head).permute(0, 3, 1, 2)")
        .replace("y = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, T, C)",
                 "y = (scores.softmax(dim=-1) @ v).permute(0, 2, 3, 1).reshape(B, T, C)"),
        "loses": ["test_transformer_forward", "test_entp_logits"],
    },
    # ---- entp_logits ----------------------------------------------------------------------------------------
    {
        "name": "entp_is_the_decoder",
        "cell": "entp_logits",
        "why": "runs one causal pass and calls it ENTP (the representations of earlier positions are never redone)",
        "source": '''def entp_logits(x, weights, n_head):
    T = x.shape[1]
    return transformer_forward(x, weights, n_head, torch.ones(T, T, dtype=torch.bool).tril())
''',
        "loses": ["test_entp_logits"],
    },
    {
        "name": "entp_one_unmasked_pass",
        "cell": "entp_logits",
        "why": "runs a single full-attention pass over the whole sequence: every position sees the future",
        "source": '''def entp_logits(x, weights, n_head):
    T = x.shape[1]
    return transformer_forward(x, weights, n_head, torch.ones(T, T, dtype=torch.bool))
''',
        "loses": ["test_entp_logits"],
    },
    {
        "name": "entp_prefix_off_by_one",
        "cell": "entp_logits",
        "why": "feeds x[:, :t] (without token t) for row t, and the first token alone for row 0",
        "source": '''def entp_logits(x, weights, n_head):
    T = x.shape[1]
    rows = []
    for t in range(T):
        n = max(t, 1)
        rows.append(transformer_forward(x[:, :n], weights, n_head, torch.ones(n, n, dtype=torch.bool))[:, -1])
    return torch.stack(rows, dim=1)
''',
        "loses": ["test_entp_logits"],
    },
    {
        "name": "entp_reads_first_position",
        "cell": "entp_logits",
        "why": "reads the encoder's output at position 0 of each prefix instead of its last position",
        "source": '''def entp_logits(x, weights, n_head):
    T = x.shape[1]
    rows = []
    for t in range(T):
        full = torch.ones(t + 1, t + 1, dtype=torch.bool)
        rows.append(transformer_forward(x[:, : t + 1], weights, n_head, full)[:, 0])
    return torch.stack(rows, dim=1)
''',
        "loses": ["test_entp_logits"],
    },
    # ---- attention_cost -------------------------------------------------------------------------------------
    {
        "name": "cost_leading_terms_only",
        "cell": "attention_cost",
        "why": "returns the asymptotic n^2/2 and n^3/3 instead of exact counts",
        "source": '''def attention_cost(n, method):
    if method == "decoder":
        return n * n // 2
    if method == "decoder_no_cache":
        return n**3 // 6
    return n**3 // 3
''',
        "loses": ["test_attention_cost"],
    },
    {
        "name": "cost_entp_counts_causal_scores",
        "cell": "attention_cost",
        "why": "counts ENTP's prefix passes as causal (t(t+1)/2 scores each), forgetting the mask is gone",
        "source": '''def attention_cost(n, method):
    if method == "decoder":
        return n * (n + 1) // 2
    return n * (n + 1) * (n + 2) // 6
''',
        "loses": ["test_attention_cost"],
    },
    {
        "name": "cost_float_division",
        "cell": "attention_cost",
        "why": "uses / instead of //, returning floats that lose exactness for large n",
        "source": '''def attention_cost(n, method):
    if method == "decoder":
        return n * (n + 1) / 2
    if method == "decoder_no_cache":
        return n * (n + 1) * (n + 2) / 6
    return n * (n + 1) * (2 * n + 1) / 6
''',
        "loses": ["test_attention_cost"],
    },
    # ---- count3_labels --------------------------------------------------------------------------------------
    {
        "name": "count3_unordered_pairs",
        "cell": "count3_labels",
        "why": "counts unordered pairs i <= j instead of ordered pairs",
        "source": '''def count3_labels(x, M=None):
    x = torch.as_tensor(x, dtype=torch.long)
    B, T = x.shape
    y = torch.zeros(B, T, dtype=torch.long)
    for b in range(B):
        for t in range(T):
            m = M if M is not None else t + 1
            c = sum(int((x[b, i] + x[b, j] + x[b, t]) % m == 0) for i in range(t + 1) for j in range(i, t + 1))
            y[b, t] = c % m
    return y
''',
        "loses": ["test_count3_labels"],
    },
    {
        "name": "count3_excludes_current_token",
        "cell": "count3_labels",
        "why": "takes the pairs among the tokens strictly before t",
        "source": '''def count3_labels(x, M=None):
    x = torch.as_tensor(x, dtype=torch.long)
    B, T = x.shape
    y = torch.zeros(B, T, dtype=torch.long)
    for b in range(B):
        for t in range(T):
            m = M if M is not None else t + 1
            c = sum(int((x[b, i] + x[b, j] + x[b, t]) % m == 0) for i in range(t) for j in range(t))
            y[b, t] = c % m
    return y
''',
        "loses": ["test_count3_labels"],
    },
    {
        "name": "count3_no_modulo",
        "cell": "count3_labels",
        "why": "returns the raw number of pairs, forgetting the final modulo M",
        "source": '''def count3_labels(x, M=None):
    x = torch.as_tensor(x, dtype=torch.long)
    B, T = x.shape
    y = torch.zeros(B, T, dtype=torch.long)
    for b in range(B):
        for t in range(T):
            m = M if M is not None else t + 1
            y[b, t] = sum(int((x[b, i] + x[b, j] + x[b, t]) % m == 0) for i in range(t + 1) for j in range(t + 1))
    return y
''',
        "loses": ["test_count3_labels"],
    },
    {
        "name": "count3_whole_sequence",
        "cell": "count3_labels",
        "why": "counts pairs over the whole sequence instead of the prefix 0..t (a label that sees the future)",
        "source": '''def count3_labels(x, M=None):
    x = torch.as_tensor(x, dtype=torch.long)
    T = x.shape[1]
    m = torch.arange(1, T + 1) if M is None else torch.full((T,), M)
    hit = (x[:, None, :, None] + x[:, None, None, :] + x[:, :, None, None]) % m[None, :, None, None] == 0
    return hit.sum(dim=(-1, -2)) % m
''',
        "loses": ["test_count3_labels"],
    },
    {
        "name": "count3_distinct_indices",
        "cell": "count3_labels",
        "why": "requires i != j",
        "source": '''def count3_labels(x, M=None):
    x = torch.as_tensor(x, dtype=torch.long)
    B, T = x.shape
    y = torch.zeros(B, T, dtype=torch.long)
    for b in range(B):
        for t in range(T):
            m = M if M is not None else t + 1
            c = sum(int((x[b, i] + x[b, j] + x[b, t]) % m == 0)
                    for i in range(t + 1) for j in range(t + 1) if i != j)
            y[b, t] = c % m
    return y
''',
        "loses": ["test_count3_labels"],
    },
    {
        "name": "count3_paper_modulus_is_t",
        "cell": "count3_labels",
        "why": "uses the 0-based position t as the paper's modulus instead of the prefix length t + 1",
        "source": '''def count3_labels(x, M=None):
    x = torch.as_tensor(x, dtype=torch.long)
    B, T = x.shape
    y = torch.zeros(B, T, dtype=torch.long)
    for b in range(B):
        for t in range(T):
            m = M if M is not None else max(t, 1)
            c = sum(int((x[b, i] + x[b, j] + x[b, t]) % m == 0) for i in range(t + 1) for j in range(t + 1))
            y[b, t] = c % m
    return y
''',
        "loses": ["test_count3_labels"],
    },
    {
        "name": "count3_paper_modulus_whole_length",
        "cell": "count3_labels",
        "why": "takes the length T of the whole sequence as the modulus at every position (the modulus must grow with t)",
        "source": '''def count3_labels(x, M=None):
    x = torch.as_tensor(x, dtype=torch.long)
    B, T = x.shape
    m = T if M is None else M
    y = torch.zeros(B, T, dtype=torch.long)
    for b in range(B):
        for t in range(T):
            c = sum(int((x[b, i] + x[b, j] + x[b, t]) % m == 0) for i in range(t + 1) for j in range(t + 1))
            y[b, t] = c % m
    return y
''',
        "loses": ["test_count3_labels"],
    },
    {
        "name": "count3_paper_tokens_not_reduced",
        "cell": "count3_labels",
        "why": "histogram count that bins the raw tokens instead of their residues, wrong once a token reaches the modulus",
        "source": '''def count3_labels(x, M=None):
    x = torch.as_tensor(x, dtype=torch.long)
    B, T = x.shape
    y = torch.zeros(B, T, dtype=torch.long)
    for t in range(T):
        m = M if M is not None else t + 1
        size = max(m, int(x.max()) + 1)
        hist = torch.nn.functional.one_hot(x[:, : t + 1], size).sum(dim=1)[:, :m]
        partner = (-torch.arange(m)[None, :] - x[:, t, None]) % m
        y[:, t] = (hist * torch.gather(hist, 1, partner)).sum(-1) % m
    return y
''',
        "loses": ["test_count3_labels"],
    },
    # ---- discretize -----------------------------------------------------------------------------------------
    {
        "name": "discretize_exact_zoh_b",
        "cell": "discretize",
        "why": "uses the exact ZOH B_bar = (exp(delta A) - 1) / A * B, not the simplified delta B of Mamba's code",
        "source": '''def discretize(delta, A, B):
    dA = delta[..., None] * A
    A_bar = torch.exp(dA)
    B_bar = (A_bar - 1.0) / A * B[..., None, :]
    return A_bar, B_bar
''',
        "loses": _SSM_USERS,
    },
    {
        "name": "discretize_euler_a",
        "cell": "discretize",
        "why": "discretises A with Euler too: A_bar = 1 + delta A",
        "source": '''def discretize(delta, A, B):
    return 1.0 + delta[..., None] * A, delta[..., None] * B[..., None, :]
''',
        "loses": _SSM_USERS,
    },
    {
        "name": "discretize_forgets_delta_in_b",
        "cell": "discretize",
        "why": "uses B_bar = B, forgetting the step size on the input",
        "source": '''def discretize(delta, A, B):
    A_bar = torch.exp(delta[..., None] * A)
    return A_bar, B[..., None, :].expand_as(A_bar)
''',
        "loses": _SSM_USERS,
    },
    # ---- selective_scan -------------------------------------------------------------------------------------
    {
        "name": "scan_reads_state_before_update",
        "cell": "selective_scan",
        "why": "computes y_t = C_t . h_{t-1} (reads the state before adding the current input)",
        "source": _scan('''        h = A_bar[:, t] * h + B_bar[:, t] * u[:, t, :, None]
        ys.append((h * C[:, t, None, :]).sum(-1) + D * u[:, t])''',
                        '''        ys.append((h * C[:, t, None, :]).sum(-1) + D * u[:, t])
        h = A_bar[:, t] * h + B_bar[:, t] * u[:, t, :, None]'''),
        "loses": ["test_selective_scan", "test_mamba_mixer"],
    },
    {
        "name": "scan_no_skip",
        "cell": "selective_scan",
        "why": "forgets the skip term D * u",
        "source": _scan("ys.append((h * C[:, t, None, :]).sum(-1) + D * u[:, t])", "ys.append((h * C[:, t, None, :]).sum(-1))"),
        "loses": ["test_selective_scan", "test_mamba_mixer"],
    },
    {
        "name": "scan_ignores_h0",
        "cell": "selective_scan",
        "why": "always starts from a zero state, ignoring h0",
        "source": _scan("if h0 is None else h0", "if True else h0"),
        "loses": ["test_selective_scan"],
    },
    # ---- scan_round ------------------------------------------------------------------------------------------
    {
        "name": "scan_round_whole_loop_in_round_zero",
        "cell": "scan_round",
        "why": "runs the sequential loop over time inside round 0 and reports done: right values, one 'round', no parallel scan",
        "source": '''def scan_round(a, b, r):
    hs, prods = [b[:, 0]], [a[:, 0]]
    for t in range(1, a.shape[1]):
        hs.append(a[:, t] * hs[-1] + b[:, t])
        prods.append(prods[-1] * a[:, t])
    return torch.stack(prods, dim=1), torch.stack(hs, dim=1), True
''',
        "loses": ["test_scan_round"],
    },
    {
        "name": "scan_round_loop_spread_over_log_rounds",
        "cell": "scan_round",
        "why": "a sequential loop split into ceil(log2 L) 'rounds' (round r extends the prefixes from 2^r to 2^(r+1))",
        "source": '''def scan_round(a, b, r):
    L = a.shape[1]
    a, b = a.clone(), b.clone()
    for t in range(max(1, 2**r), min(L, 2 ** (r + 1))):
        b[:, t] = a[:, t] * b[:, t - 1] + b[:, t]
        a[:, t] = a[:, t] * a[:, t - 1]
    return a, b, 2 ** (r + 1) >= L
''',
        "loses": ["test_scan_round"],
    },
    {
        "name": "scan_round_one_time_step_per_round",
        "cell": "scan_round",
        "why": "advances the recurrence by one time step per round: an honest loop, L - 1 rounds instead of O(log L)",
        "source": '''def scan_round(a, b, r):
    a, b = a.clone(), b.clone()
    t = r + 1
    b[:, t] = a[:, t] * b[:, t - 1] + b[:, t]
    a[:, t] = a[:, t] * a[:, t - 1]
    return a, b, t == a.shape[1] - 1
''',
        "loses": ["test_scan_round"],
    },
    {
        "name": "scan_round_combine_order_swapped",
        "cell": "scan_round",
        "why": "combines as a' b + b' (applies the later map first), treating the operation as commutative",
        "source": '''def scan_round(a, b, r):
    L = a.shape[1]
    offset = 2**r
    if offset < L:
        b = torch.cat([b[:, :offset], a[:, :-offset] * b[:, offset:] + b[:, :-offset]], dim=1)
        a = torch.cat([a[:, :offset], a[:, offset:] * a[:, :-offset]], dim=1)
    return a, b, 2 * offset >= L
''',
        "loses": ["test_scan_round"],
    },
    {
        "name": "scan_round_updates_a_first",
        "cell": "scan_round",
        "why": "updates a before computing b, so b is combined with this round's a instead of the previous one",
        "source": '''def scan_round(a, b, r):
    L = a.shape[1]
    offset = 2**r
    if offset < L:
        a = torch.cat([a[:, :offset], a[:, offset:] * a[:, :-offset]], dim=1)
        b = torch.cat([b[:, :offset], a[:, offset:] * b[:, :-offset] + b[:, offset:]], dim=1)
    return a, b, 2 * offset >= L
''',
        "loses": ["test_scan_round"],
    },
    {
        "name": "scan_round_done_one_round_early",
        "cell": "scan_round",
        "why": "reports done when the offset reaches L / 2, one round too early when L is not a power of two",
        "source": '''def scan_round(a, b, r):
    L = a.shape[1]
    offset = 2**r
    if offset < L:
        b = torch.cat([b[:, :offset], a[:, offset:] * b[:, :-offset] + b[:, offset:]], dim=1)
        a = torch.cat([a[:, :offset], a[:, offset:] * a[:, :-offset]], dim=1)
    return a, b, 2 * offset >= L // 2
''',
        "loses": ["test_scan_round"],
    },
    {
        "name": "scan_round_roll_wraps_around",
        "cell": "scan_round",
        "why": "shifts with torch.roll and forgets that the first 2^r elements have no partner (the end wraps around)",
        "source": '''def scan_round(a, b, r):
    offset = 2**r
    a_prev, b_prev = torch.roll(a, offset, dims=1), torch.roll(b, offset, dims=1)
    return a * a_prev, a * b_prev + b, 2 * offset >= a.shape[1]
''',
        "loses": ["test_scan_round"],
    },
    # ---- ssm_conv_kernel ------------------------------------------------------------------------------------
    {
        "name": "kernel_powers_start_at_one",
        "cell": "ssm_conv_kernel",
        "why": "uses A_bar^(k+1): the current input already decayed once",
        "source": '''def ssm_conv_kernel(delta, A, B, C, L):
    A_bar, B_bar = discretize(delta, A, B)
    k = torch.arange(1, L + 1, dtype=A_bar.dtype)
    return ((A_bar[None] ** k[:, None, None]) * B_bar * C).sum(-1).T
''',
        "loses": ["test_ssm_conv_kernel"],
    },
    {
        "name": "kernel_without_delta_in_b",
        "cell": "ssm_conv_kernel",
        "why": "uses B instead of B_bar = delta B in the kernel",
        "source": '''def ssm_conv_kernel(delta, A, B, C, L):
    A_bar = torch.exp(delta[:, None] * A)
    k = torch.arange(L, dtype=A_bar.dtype)
    return ((A_bar[None] ** k[:, None, None]) * B * C).sum(-1).T
''',
        "loses": ["test_ssm_conv_kernel"],
    },
    {
        "name": "kernel_time_first",
        "cell": "ssm_conv_kernel",
        "why": "returns the kernel as (L, D) instead of (D, L)",
        "source": '''def ssm_conv_kernel(delta, A, B, C, L):
    A_bar, B_bar = discretize(delta, A, B)
    k = torch.arange(L, dtype=A_bar.dtype)
    return ((A_bar[None] ** k[:, None, None]) * B_bar * C).sum(-1)
''',
        "loses": ["test_ssm_conv_kernel"],
    },
    # ---- mamba_mixer ----------------------------------------------------------------------------------------
    {
        "name": "mixer_conv_not_causal",
        "cell": "mamba_mixer",
        "why": "keeps the last L outputs of the padded convolution, so output t mixes inputs t..t+K-1 (the future)",
        "source": _mixer("u = F.silu(conv[..., :L])", "u = F.silu(conv[..., -L:])"),
        "loses": ["test_mamba_mixer"],
    },
    {
        "name": "mixer_no_softplus",
        "cell": "mamba_mixer",
        "why": "uses the raw projection as the step size, forgetting softplus (negative steps)",
        "source": _mixer('delta = F.softplus(dt @ weights["dt_proj.weight"].T + weights["dt_proj.bias"])',
                         'delta = dt @ weights["dt_proj.weight"].T + weights["dt_proj.bias"]'),
        "loses": ["test_mamba_mixer"],
    },
    {
        "name": "mixer_no_gate",
        "cell": "mamba_mixer",
        "why": "forgets the gate silu(z)",
        "source": _mixer('return (y * F.silu(z)) @ weights["out_proj.weight"].T', 'return y @ weights["out_proj.weight"].T'),
        "loses": ["test_mamba_mixer"],
    },
    {
        "name": "mixer_positive_a",
        "cell": "mamba_mixer",
        "why": "uses A = exp(A_log) (forgets the minus sign): the state grows instead of decaying",
        "source": _mixer('A = -torch.exp(weights["A_log"])', 'A = torch.exp(weights["A_log"])'),
        "loses": ["test_mamba_mixer"],
    },
    {
        "name": "mixer_swaps_u_and_gate",
        "cell": "mamba_mixer",
        "why": "takes the gate from the first half of in_proj and the SSM input from the second",
        "source": _mixer('u, z = (hidden @ weights["in_proj.weight"].T).chunk(2, dim=-1)',
                         'z, u = (hidden @ weights["in_proj.weight"].T).chunk(2, dim=-1)'),
        "loses": ["test_mamba_mixer"],
    },
    {
        "name": "mixer_no_conv_activation",
        "cell": "mamba_mixer",
        "why": "forgets the SiLU after the short convolution",
        "source": _mixer("u = F.silu(conv[..., :L]).transpose(1, 2)", "u = conv[..., :L].transpose(1, 2)"),
        "loses": ["test_mamba_mixer"],
    },
    # ---- mamba_step -----------------------------------------------------------------------------------------
    {
        "name": "step_conv_state_not_shifted",
        "cell": "mamba_step",
        "why": "returns the old conv_state, so the convolution never sees the previous tokens",
        "source": _step("window[:, :, 1:], ssm_state", "conv_state, ssm_state"),
        "loses": ["test_mamba_step"],
    },
    {
        "name": "step_window_newest_first",
        "cell": "mamba_step",
        "why": "puts the new input first in the window, reversing the order the conv weights expect",
        "source": _step("window = torch.cat([conv_state, u[:, :, None]], dim=-1)",
                        "window = torch.cat([u[:, :, None], conv_state], dim=-1)")
        .replace("window[:, :, 1:], ssm_state", "window[:, :, :-1], ssm_state"),
        "loses": ["test_mamba_step"],
    },
    {
        "name": "step_no_decay",
        "cell": "mamba_step",
        "why": "adds the input to the state without multiplying the old state by A_bar",
        "source": _step("ssm_state = A_bar * ssm_state + B_bar * u[..., None]", "ssm_state = ssm_state + B_bar * u[..., None]"),
        "loses": ["test_mamba_step"],
    },
]


# ----------------------------------------------------------------------------------------------- hints
# One sentence per entry for the student who made that mistake, shown under the failed test (issue 23).
# Entries in _HINTS_NOT_SHOWN keep their hint for the class report only: any useful hint would give the fix away.
_HINTS = {
    "forward_no_sqrt_d_scale": "Your attention scores are missing the usual scale by the head dimension, so the softmax is too sharp.",
    "forward_mask_transposed": "Check which axis of the mask is the query and which is the key: yours lets queries see the future.",
    "forward_softmax_over_queries": "Check which dimension your softmax normalises over: each query's weights over the keys should sum to 1.",
    "forward_no_final_norm": "Your output head reads the residual stream without the final normalisation.",
    "forward_interleaved_heads": "Check how you split the channels into heads: each head should own a contiguous block of coordinates.",
    "entp_is_the_decoder": "Your ENTP runs one causal pass, so the representations of earlier positions are never recomputed with the new token.",
    "entp_one_unmasked_pass": "Your single unmasked pass lets every position see the future.",
    "entp_prefix_off_by_one": "The prefix you encode for position t does not end at token t.",
    "entp_reads_first_position": "You read the encoder's output at the start of each prefix instead of at its end.",
    "cost_leading_terms_only": "Your counts are asymptotic approximations; the function should return exact counts.",
    "cost_entp_counts_causal_scores": "Your ENTP count treats each prefix pass as causal, but ENTP's passes have no mask.",
    "cost_float_division": "Your counts are floats, which lose exactness for large n; counts should be integers.",
    "count3_unordered_pairs": "You count unordered pairs, but the task counts ordered pairs (i, j).",
    "count3_excludes_current_token": "Your pairs leave out the current token, which belongs to the prefix too.",
    "count3_no_modulo": "Your label is the raw count; the task reduces it modulo M.",
    "count3_whole_sequence": "Your label at position t looks at tokens after t.",
    "count3_distinct_indices": "Your count skips pairs with i = j, which the task allows.",
    "count3_paper_modulus_is_t": "Without M, your modulus is the 0-based position, not the prefix length.",
    "count3_paper_modulus_whole_length": "Without M, your modulus is the same at every position, but it should grow with the prefix.",
    "count3_paper_tokens_not_reduced": "Your histogram bins the raw tokens rather than their residues, which breaks once a token reaches the modulus.",
    "discretize_exact_zoh_b": "Your B_bar is the exact zero-order hold; the lab uses the simpler form of Mamba's code.",
    "discretize_euler_a": "Your A_bar is a first-order approximation, not the exponential the lab uses.",
    "discretize_forgets_delta_in_b": "Your B_bar ignores the step size.",
    "scan_reads_state_before_update": "Your output at step t reads the state before the current input has been added.",
    "scan_no_skip": "Your output is missing the skip term.",
    "scan_ignores_h0": "Your scan always starts from a zero state, whatever h0 is.",
    "scan_round_whole_loop_in_round_zero": "Your round runs the whole sequential recurrence; a parallel scan round combines all positions at once, and needs about log2 L rounds.",
    "scan_round_loop_spread_over_log_rounds": "Your rounds are a sequential loop cut into pieces; a parallel scan round combines all positions at once.",
    "scan_round_one_time_step_per_round": "Your rounds advance one time step each, so the scan needs L - 1 rounds instead of about log2 L.",
    "scan_round_combine_order_swapped": "The combine of two affine maps is not commutative: check which one is applied first.",
    "scan_round_updates_a_first": "Your b is combined with a values that were already updated in this round.",
    "scan_round_done_one_round_early": "Your scan reports done before every prefix is complete when L is not a power of two.",
    "scan_round_roll_wraps_around": "Your shift wraps around, so the first positions are combined with elements from the end.",
    "kernel_powers_start_at_one": "In your kernel, the current input is already decayed once.",
    "kernel_without_delta_in_b": "Your kernel uses the continuous B rather than the discretised one.",
    "kernel_time_first": "Your kernel has its dimensions in the wrong order.",
    "mixer_conv_not_causal": "Your convolution mixes in future inputs: keep the outputs that only see the past.",
    "mixer_no_softplus": "Your step sizes can be negative.",
    "mixer_no_gate": "Your mixer forgets the gate branch.",
    "mixer_positive_a": "Your state grows instead of decaying.",
    "mixer_swaps_u_and_gate": "Check which half of the input projection is the SSM input and which is the gate.",
    "mixer_no_conv_activation": "Your mixer skips the activation after the short convolution.",
    "step_conv_state_not_shifted": "The convolution state you return never changes, so the next step forgets the previous tokens.",
    "step_window_newest_first": "Your convolution window is in the opposite time order from what the weights expect.",
    "step_no_decay": "Your state update never decays the old state.",
}
_HINTS_NOT_SHOWN = {
    "entp_prefix_off_by_one",  # prefix off-by-one: any hint names the slice
}
assert set(_HINTS) == {e["name"] for e in WRONG_IMPLEMENTATIONS}, "one hint per entry, no stale names"
for _wrong in WRONG_IMPLEMENTATIONS:
    _wrong["hint"] = _HINTS[_wrong["name"]]
    if _wrong["name"] in _HINTS_NOT_SHOWN:
        _wrong["show_hint"] = False
