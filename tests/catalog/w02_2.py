"""Wrong implementations for lab w02-2 (LayerNorm/RMSNorm forward and backward from saved statistics, Post-LN/Pre-LN, gpt-oss attention).

Each entry replaces one answer cell of weeks/w02-2-norms-gpt-oss/solution.ipynb (format: tests/catalog/__init__.py).
"""

_BLOCKS = ["test_post_ln_block", "test_pre_ln_block"]

WRONG_IMPLEMENTATIONS = [
    # ---- layer_norm -------------------------------------------------------------------------------------------
    {
        "name": "ln_unbiased_variance",
        "cell": "layer_norm",
        "why": "uses torch.var's default (unbiased, 1/(n-1)) variance",
        "source": """def layer_norm(x, weight, bias, eps=1e-5):
    mu = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * weight + bias
""",
        "loses": ["test_layer_norm", *_BLOCKS],
    },
    {
        "name": "ln_eps_outside_sqrt",
        "cell": "layer_norm",
        "why": "adds eps to the standard deviation instead of to the variance",
        "source": """def layer_norm(x, weight, bias, eps=1e-5):
    mu = x.mean(dim=-1, keepdim=True)
    std = ((x - mu) ** 2).mean(dim=-1, keepdim=True).sqrt()
    return (x - mu) / (std + eps) * weight + bias
""",
        "loses": ["test_layer_norm"],
    },
    {
        "name": "ln_over_batch_dim",
        "cell": "layer_norm",
        "why": "normalises over the batch dimension (dim 0, BatchNorm-style) instead of the features",
        "source": """def layer_norm(x, weight, bias, eps=1e-5):
    mu = x.mean(dim=0, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=0, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * weight + bias
""",
        "loses": ["test_layer_norm", *_BLOCKS],
    },
    {
        "name": "ln_no_centring",
        "cell": "layer_norm",
        "why": "forgets to subtract the mean (divides by the std but keeps x's offset)",
        "source": """def layer_norm(x, weight, bias, eps=1e-5):
    mu = x.mean(dim=-1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)
    return x / torch.sqrt(var + eps) * weight + bias
""",
        "loses": ["test_layer_norm", *_BLOCKS],
    },
    # ---- rms_norm ---------------------------------------------------------------------------------------------
    {
        "name": "rms_subtracts_mean",
        "cell": "rms_norm",
        "why": "centres x first (that is LayerNorm without a bias, not RMSNorm)",
        "source": """def rms_norm(x, weight, eps=1e-6):
    x = x - x.mean(dim=-1, keepdim=True)
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps) * weight
""",
        "loses": ["test_rms_norm", *_BLOCKS],
    },
    {
        "name": "rms_uses_l2_norm",
        "cell": "rms_norm",
        "why": "divides by the L2 norm (sum of squares) instead of the root *mean* square",
        "source": """def rms_norm(x, weight, eps=1e-6):
    return x / torch.sqrt((x * x).sum(dim=-1, keepdim=True) + eps) * weight
""",
        "loses": ["test_rms_norm", *_BLOCKS],
    },
    {
        "name": "rms_eps_outside_sqrt",
        "cell": "rms_norm",
        "why": "adds eps after the square root",
        "source": """def rms_norm(x, weight, eps=1e-6):
    return x / (torch.sqrt((x * x).mean(dim=-1, keepdim=True)) + eps) * weight
""",
        "loses": ["test_rms_norm"],
    },
    # ---- layer_norm_backward -----------------------------------------------------------------------------------
    {
        "name": "ln_bwd_missing_mean_term",
        "cell": "layer_norm_backward",
        "why": "differentiates through the variance but forgets that the mean depends on x too",
        "source": """def layer_norm_backward(xhat, rstd, weight, grad_out):
    lead = tuple(range(xhat.dim() - 1))
    g = grad_out * weight
    grad_x = rstd * (g - xhat * (g * xhat).mean(dim=-1, keepdim=True))
    return grad_x, (grad_out * xhat).sum(dim=lead), grad_out.sum(dim=lead)
""",
        "loses": ["test_layer_norm_backward"],
    },
    {
        "name": "ln_bwd_missing_variance_term",
        "cell": "layer_norm_backward",
        "why": "treats the standard deviation as a constant (only the centring is differentiated)",
        "source": """def layer_norm_backward(xhat, rstd, weight, grad_out):
    lead = tuple(range(xhat.dim() - 1))
    g = grad_out * weight
    grad_x = rstd * (g - g.mean(dim=-1, keepdim=True))
    return grad_x, (grad_out * xhat).sum(dim=lead), grad_out.sum(dim=lead)
""",
        "loses": ["test_layer_norm_backward"],
    },
    {
        "name": "ln_bwd_forgets_weight",
        "cell": "layer_norm_backward",
        "why": "back-propagates grad_out into x_hat without multiplying by the gain",
        "source": """def layer_norm_backward(xhat, rstd, weight, grad_out):
    lead = tuple(range(xhat.dim() - 1))
    g = grad_out
    grad_x = rstd * (g - g.mean(dim=-1, keepdim=True) - xhat * (g * xhat).mean(dim=-1, keepdim=True))
    return grad_x, (grad_out * xhat).sum(dim=lead), grad_out.sum(dim=lead)
""",
        "loses": ["test_layer_norm_backward"],
    },
    {
        "name": "ln_bwd_sums_only_dim0",
        "cell": "layer_norm_backward",
        "why": "sums the parameter gradients over dim 0 only, which is right for 2-D inputs but not for (batch, seq, n)",
        "source": """def layer_norm_backward(xhat, rstd, weight, grad_out):
    g = grad_out * weight
    grad_x = rstd * (g - g.mean(dim=-1, keepdim=True) - xhat * (g * xhat).mean(dim=-1, keepdim=True))
    return grad_x, (grad_out * xhat).sum(dim=0), grad_out.sum(dim=0)
""",
        "loses": ["test_layer_norm_backward"],
    },
    {
        "name": "ln_bwd_autograd",
        "cell": "layer_norm_backward",
        "why": "not by hand: rebuilds an input x = xhat / rstd and runs autograd through torch's layer_norm (default eps)",
        "source": """def layer_norm_backward(xhat, rstd, weight, grad_out):
    x = (xhat / rstd).detach().requires_grad_()
    w = weight.detach().clone().requires_grad_()
    b = torch.zeros_like(w, requires_grad=True)
    F.layer_norm(x, (x.shape[-1],), w, b).backward(grad_out)
    return x.grad, w.grad, b.grad
""",
        "loses": ["test_layer_norm_backward"],
    },
    {
        "name": "ln_bwd_autograd_recomputed_stats",
        "cell": "layer_norm_backward",
        "why": "not by hand: runs autograd through its own layer_norm on xhat, which recomputes r = 1/std(xhat) instead of using rstd",
        "source": """def layer_norm_backward(xhat, rstd, weight, grad_out):
    x = xhat.detach().clone().requires_grad_()
    w = weight.detach().clone().requires_grad_()
    b = torch.zeros_like(w, requires_grad=True)
    layer_norm(x, w, b).backward(grad_out)
    return x.grad, w.grad, b.grad
""",
        "loses": ["test_layer_norm_backward"],
    },
    # ---- rms_norm_backward -------------------------------------------------------------------------------------
    {
        "name": "rms_bwd_layernorm_formula",
        "cell": "rms_norm_backward",
        "why": "copies LayerNorm's backward, subtracting the mean of g although RMSNorm never centres",
        "source": """def rms_norm_backward(xhat, rrms, weight, grad_out):
    lead = tuple(range(xhat.dim() - 1))
    g = grad_out * weight
    grad_x = rrms * (g - g.mean(dim=-1, keepdim=True) - xhat * (g * xhat).mean(dim=-1, keepdim=True))
    return grad_x, (grad_out * xhat).sum(dim=lead)
""",
        "loses": ["test_rms_norm_backward"],
    },
    {
        "name": "rms_bwd_constant_rms",
        "cell": "rms_norm_backward",
        "why": "treats 1/RMS(x) as a constant: grad_x = w * grad_out / RMS(x)",
        "source": """def rms_norm_backward(xhat, rrms, weight, grad_out):
    lead = tuple(range(xhat.dim() - 1))
    return rrms * grad_out * weight, (grad_out * xhat).sum(dim=lead)
""",
        "loses": ["test_rms_norm_backward"],
    },
    {
        "name": "rms_bwd_grad_weight_uses_x",
        "cell": "rms_norm_backward",
        "why": "uses the un-normalised x = xhat / rrms instead of x_hat in grad_weight",
        "source": """def rms_norm_backward(xhat, rrms, weight, grad_out):
    lead = tuple(range(xhat.dim() - 1))
    g = grad_out * weight
    grad_x = rrms * (g - xhat * (g * xhat).mean(dim=-1, keepdim=True))
    return grad_x, (grad_out * xhat / rrms).sum(dim=lead)
""",
        "loses": ["test_rms_norm_backward"],
    },
    {
        "name": "rms_bwd_autograd",
        "cell": "rms_norm_backward",
        "why": "not by hand: rebuilds x = xhat / rrms and runs autograd through torch's rms_norm (eps 1e-6)",
        "source": """def rms_norm_backward(xhat, rrms, weight, grad_out):
    x = (xhat / rrms).detach().requires_grad_()
    w = weight.detach().clone().requires_grad_()
    F.rms_norm(x, (x.shape[-1],), w, 1e-6).backward(grad_out)
    return x.grad, w.grad
""",
        "loses": ["test_rms_norm_backward"],
    },
    # ---- post_ln_block -----------------------------------------------------------------------------------------
    {
        "name": "post_is_pre",
        "cell": "post_ln_block",
        "why": "puts the norms in front of the sublayers (that is Pre-LN)",
        "source": """def post_ln_block(x, weights, n_heads, norm="layernorm", eps=1e-5):
    def normalise(h, i):
        if norm == "rmsnorm":
            return rms_norm(h, weights[f"norm{i}_w"], eps)
        return layer_norm(h, weights[f"norm{i}_w"], weights[f"norm{i}_b"], eps)
    h = x + self_attention_sublayer(normalise(x, 1), weights, n_heads)
    return h + ffn_sublayer(normalise(h, 2), weights)
""",
        "loses": ["test_post_ln_block"],
    },
    {
        "name": "post_normalises_branch_only",
        "cell": "post_ln_block",
        "why": "normalises the sublayer's output before adding it, x + N(A(x)), so the residual stream is never normalised",
        "source": """def post_ln_block(x, weights, n_heads, norm="layernorm", eps=1e-5):
    def normalise(h, i):
        if norm == "rmsnorm":
            return rms_norm(h, weights[f"norm{i}_w"], eps)
        return layer_norm(h, weights[f"norm{i}_w"], weights[f"norm{i}_b"], eps)
    h = x + normalise(self_attention_sublayer(x, weights, n_heads), 1)
    return h + normalise(ffn_sublayer(h, weights), 2)
""",
        "loses": ["test_post_ln_block"],
    },
    {
        "name": "post_residual_skips_norm1",
        "cell": "post_ln_block",
        "why": "feeds the normalised h to the FFN but adds the un-normalised x + A(x) as its residual",
        "source": """def post_ln_block(x, weights, n_heads, norm="layernorm", eps=1e-5):
    def normalise(h, i):
        if norm == "rmsnorm":
            return rms_norm(h, weights[f"norm{i}_w"], eps)
        return layer_norm(h, weights[f"norm{i}_w"], weights[f"norm{i}_b"], eps)
    r = x + self_attention_sublayer(x, weights, n_heads)
    h = normalise(r, 1)
    return normalise(r + ffn_sublayer(h, weights), 2)
""",
        "loses": ["test_post_ln_block"],
    },
    {
        "name": "post_same_norm_twice",
        "cell": "post_ln_block",
        "why": "uses norm1's gain and bias for both norms",
        "source": """def post_ln_block(x, weights, n_heads, norm="layernorm", eps=1e-5):
    def normalise(h):
        if norm == "rmsnorm":
            return rms_norm(h, weights["norm1_w"], eps)
        return layer_norm(h, weights["norm1_w"], weights["norm1_b"], eps)
    h = normalise(x + self_attention_sublayer(x, weights, n_heads))
    return normalise(h + ffn_sublayer(h, weights))
""",
        "loses": ["test_post_ln_block"],
    },
    # ---- pre_ln_block ------------------------------------------------------------------------------------------
    {
        "name": "pre_is_post",
        "cell": "pre_ln_block",
        "why": "normalises after the residual addition (that is Post-LN)",
        "source": """def pre_ln_block(x, weights, n_heads, norm="layernorm", eps=1e-5):
    def normalise(h, i):
        if norm == "rmsnorm":
            return rms_norm(h, weights[f"norm{i}_w"], eps)
        return layer_norm(h, weights[f"norm{i}_w"], weights[f"norm{i}_b"], eps)
    h = normalise(x + self_attention_sublayer(x, weights, n_heads), 1)
    return normalise(h + ffn_sublayer(h, weights), 2)
""",
        "loses": ["test_pre_ln_block"],
    },
    {
        "name": "pre_residual_from_normalised",
        "cell": "pre_ln_block",
        "why": "overwrites x with its normalised version, so the residual carries N(x) instead of x",
        "source": """def pre_ln_block(x, weights, n_heads, norm="layernorm", eps=1e-5):
    def normalise(h, i):
        if norm == "rmsnorm":
            return rms_norm(h, weights[f"norm{i}_w"], eps)
        return layer_norm(h, weights[f"norm{i}_w"], weights[f"norm{i}_b"], eps)
    x = normalise(x, 1)
    h = x + self_attention_sublayer(x, weights, n_heads)
    h = normalise(h, 2)
    return h + ffn_sublayer(h, weights)
""",
        "loses": ["test_pre_ln_block"],
    },
    {
        "name": "pre_same_norm_twice",
        "cell": "pre_ln_block",
        "why": "uses norm1's gain and bias in front of both sublayers",
        "source": """def pre_ln_block(x, weights, n_heads, norm="layernorm", eps=1e-5):
    def normalise(h):
        if norm == "rmsnorm":
            return rms_norm(h, weights["norm1_w"], eps)
        return layer_norm(h, weights["norm1_w"], weights["norm1_b"], eps)
    h = x + self_attention_sublayer(normalise(x), weights, n_heads)
    return h + ffn_sublayer(normalise(h), weights)
""",
        "loses": ["test_pre_ln_block"],
    },
    {
        "name": "pre_ffn_reads_block_input",
        "cell": "pre_ln_block",
        "why": "runs the FFN on N2(x) (the block's input) instead of N2(h) (after the attention residual)",
        "source": """def pre_ln_block(x, weights, n_heads, norm="layernorm", eps=1e-5):
    def normalise(h, i):
        if norm == "rmsnorm":
            return rms_norm(h, weights[f"norm{i}_w"], eps)
        return layer_norm(h, weights[f"norm{i}_w"], weights[f"norm{i}_b"], eps)
    h = x + self_attention_sublayer(normalise(x, 1), weights, n_heads)
    return h + ffn_sublayer(normalise(x, 2), weights)
""",
        "loses": ["test_pre_ln_block"],
    },
    # ---- repeat_kv ---------------------------------------------------------------------------------------------
    {
        "name": "repeat_kv_tiles",
        "cell": "repeat_kv",
        "why": "uses Tensor.repeat, which tiles the heads [k0, k1, k0, k1] instead of grouping them [k0, k0, k1, k1]",
        "source": """def repeat_kv(kv, n_rep):
    return kv.repeat(1, n_rep, 1, 1)
""",
        "loses": ["test_repeat_kv", "test_gpt_oss_attention"],
    },
    {
        "name": "repeat_kv_wrong_dim",
        "cell": "repeat_kv",
        "why": "repeats along the sequence dimension instead of the head dimension",
        "source": """def repeat_kv(kv, n_rep):
    return kv.repeat_interleave(n_rep, dim=2)
""",
        "loses": ["test_repeat_kv", "test_gpt_oss_attention"],
    },
    # ---- sliding_window_causal_mask ----------------------------------------------------------------------------
    {
        "name": "window_off_by_one",
        "cell": "sliding_window_causal_mask",
        "why": "keeps keys t - w <= s <= t, i.e. w + 1 keys per query",
        "source": """def sliding_window_causal_mask(seq_len, window=None):
    t = torch.arange(seq_len)[:, None]
    s = torch.arange(seq_len)[None, :]
    allowed = s <= t
    if window is not None:
        allowed = allowed & (s >= t - window)
    return allowed
""",
        "loses": ["test_sliding_window_causal_mask", "test_gpt_oss_attention"],
    },
    {
        "name": "window_not_causal",
        "cell": "sliding_window_causal_mask",
        "why": "builds a symmetric band |t - s| < w and forgets the causal part when a window is given",
        "source": """def sliding_window_causal_mask(seq_len, window=None):
    t = torch.arange(seq_len)[:, None]
    s = torch.arange(seq_len)[None, :]
    if window is None:
        return s <= t
    return (t - s).abs() < window
""",
        "loses": ["test_sliding_window_causal_mask", "test_gpt_oss_attention"],
    },
    {
        "name": "mask_inverted",
        "cell": "sliding_window_causal_mask",
        "why": "returns True where attention is forbidden (the masked_fill convention) instead of where it is allowed",
        "source": """def sliding_window_causal_mask(seq_len, window=None):
    t = torch.arange(seq_len)[:, None]
    s = torch.arange(seq_len)[None, :]
    allowed = s <= t
    if window is not None:
        allowed = allowed & (s > t - window)
    return ~allowed
""",
        "loses": ["test_sliding_window_causal_mask", "test_gpt_oss_attention"],
    },
    # ---- sink_softmax ------------------------------------------------------------------------------------------
    {
        "name": "sink_renormalised",
        "cell": "sink_softmax",
        "why": "drops the sink column and renormalises the rest, which gives back the ordinary softmax",
        "source": """def sink_softmax(scores, sinks):
    B, H, T, S = scores.shape
    logits = torch.cat([scores, sinks.to(scores.dtype).view(1, H, 1, 1).expand(B, H, T, 1)], dim=-1)
    probs = logits.softmax(dim=-1)[..., :-1]
    return probs / probs.sum(dim=-1, keepdim=True)
""",
        "loses": ["test_sink_softmax", "test_gpt_oss_attention"],
    },
    {
        "name": "sink_added_to_logits",
        "cell": "sink_softmax",
        "why": "adds the sink to every logit as a bias, which the softmax cancels",
        "source": """def sink_softmax(scores, sinks):
    H = scores.shape[1]
    return (scores + sinks.to(scores.dtype).view(1, H, 1, 1)).softmax(dim=-1)
""",
        "loses": ["test_sink_softmax", "test_gpt_oss_attention"],
    },
    {
        "name": "sink_no_max_subtraction",
        "cell": "sink_softmax",
        "why": "exponentiates the raw logits, so logits of a few hundred overflow to inf and give nan",
        "source": """def sink_softmax(scores, sinks):
    H = scores.shape[1]
    e = scores.exp()
    denom = e.sum(dim=-1, keepdim=True) + sinks.to(scores.dtype).view(1, H, 1, 1).exp()
    return e / denom
""",
        "loses": ["test_sink_softmax"],
    },
    {
        "name": "sink_of_head0_everywhere",
        "cell": "sink_softmax",
        "why": "uses one sink (the first head's) for every head",
        "source": """def sink_softmax(scores, sinks):
    B, H, T, S = scores.shape
    sink = sinks[0].to(scores.dtype).expand(B, H, T, 1)
    logits = torch.cat([scores, sink], dim=-1)
    return logits.softmax(dim=-1)[..., :-1]
""",
        "loses": ["test_sink_softmax", "test_gpt_oss_attention"],
    },
    # ---- gpt_oss_attention -------------------------------------------------------------------------------------
    {
        "name": "attn_missing_scale",
        "cell": "gpt_oss_attention",
        "why": "forgets the 1/sqrt(head_dim) scale of the logits",
        "source": """def gpt_oss_attention(x, weights, n_heads, n_kv_heads, sliding_window=None, rope_theta=10000.0):
    B, T, _ = x.shape
    d = weights["q_w"].shape[0] // n_heads
    q = (x @ weights["q_w"].T + weights["q_b"]).view(B, T, n_heads, d).transpose(1, 2)
    k = (x @ weights["k_w"].T + weights["k_b"]).view(B, T, n_kv_heads, d).transpose(1, 2)
    v = (x @ weights["v_w"].T + weights["v_b"]).view(B, T, n_kv_heads, d).transpose(1, 2)
    cos, sin = rope_tables(T, d, rope_theta, dtype=x.dtype)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    k, v = repeat_kv(k, n_heads // n_kv_heads), repeat_kv(v, n_heads // n_kv_heads)
    scores = q @ k.transpose(-2, -1)
    scores = scores.masked_fill(~sliding_window_causal_mask(T, sliding_window), float("-inf"))
    probs = sink_softmax(scores, weights["sinks"])
    return (probs @ v).transpose(1, 2).reshape(B, T, n_heads * d) @ weights["o_w"].T + weights["o_b"]
""",
        "loses": ["test_gpt_oss_attention"],
    },
    {
        "name": "attn_rope_only_on_queries",
        "cell": "gpt_oss_attention",
        "why": "rotates the queries but not the keys",
        "source": """def gpt_oss_attention(x, weights, n_heads, n_kv_heads, sliding_window=None, rope_theta=10000.0):
    B, T, _ = x.shape
    d = weights["q_w"].shape[0] // n_heads
    q = (x @ weights["q_w"].T + weights["q_b"]).view(B, T, n_heads, d).transpose(1, 2)
    k = (x @ weights["k_w"].T + weights["k_b"]).view(B, T, n_kv_heads, d).transpose(1, 2)
    v = (x @ weights["v_w"].T + weights["v_b"]).view(B, T, n_kv_heads, d).transpose(1, 2)
    cos, sin = rope_tables(T, d, rope_theta, dtype=x.dtype)
    q = apply_rope(q, cos, sin)
    k, v = repeat_kv(k, n_heads // n_kv_heads), repeat_kv(v, n_heads // n_kv_heads)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    scores = scores.masked_fill(~sliding_window_causal_mask(T, sliding_window), float("-inf"))
    probs = sink_softmax(scores, weights["sinks"])
    return (probs @ v).transpose(1, 2).reshape(B, T, n_heads * d) @ weights["o_w"].T + weights["o_b"]
""",
        "loses": ["test_gpt_oss_attention"],
    },
    {
        "name": "attn_ignores_sinks",
        "cell": "gpt_oss_attention",
        "why": "uses a plain softmax, leaving the learned sinks out",
        "source": """def gpt_oss_attention(x, weights, n_heads, n_kv_heads, sliding_window=None, rope_theta=10000.0):
    B, T, _ = x.shape
    d = weights["q_w"].shape[0] // n_heads
    q = (x @ weights["q_w"].T + weights["q_b"]).view(B, T, n_heads, d).transpose(1, 2)
    k = (x @ weights["k_w"].T + weights["k_b"]).view(B, T, n_kv_heads, d).transpose(1, 2)
    v = (x @ weights["v_w"].T + weights["v_b"]).view(B, T, n_kv_heads, d).transpose(1, 2)
    cos, sin = rope_tables(T, d, rope_theta, dtype=x.dtype)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    k, v = repeat_kv(k, n_heads // n_kv_heads), repeat_kv(v, n_heads // n_kv_heads)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    scores = scores.masked_fill(~sliding_window_causal_mask(T, sliding_window), float("-inf"))
    probs = scores.softmax(dim=-1)
    return (probs @ v).transpose(1, 2).reshape(B, T, n_heads * d) @ weights["o_w"].T + weights["o_b"]
""",
        "loses": ["test_gpt_oss_attention"],
    },
    {
        "name": "attn_window_ignored",
        "cell": "gpt_oss_attention",
        "why": "always uses the full causal mask, so sliding layers see the whole prefix",
        "source": """def gpt_oss_attention(x, weights, n_heads, n_kv_heads, sliding_window=None, rope_theta=10000.0):
    B, T, _ = x.shape
    d = weights["q_w"].shape[0] // n_heads
    q = (x @ weights["q_w"].T + weights["q_b"]).view(B, T, n_heads, d).transpose(1, 2)
    k = (x @ weights["k_w"].T + weights["k_b"]).view(B, T, n_kv_heads, d).transpose(1, 2)
    v = (x @ weights["v_w"].T + weights["v_b"]).view(B, T, n_kv_heads, d).transpose(1, 2)
    cos, sin = rope_tables(T, d, rope_theta, dtype=x.dtype)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    k, v = repeat_kv(k, n_heads // n_kv_heads), repeat_kv(v, n_heads // n_kv_heads)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    scores = scores.masked_fill(~sliding_window_causal_mask(T), float("-inf"))
    probs = sink_softmax(scores, weights["sinks"])
    return (probs @ v).transpose(1, 2).reshape(B, T, n_heads * d) @ weights["o_w"].T + weights["o_b"]
""",
        "loses": ["test_gpt_oss_attention"],
    },
    {
        "name": "attn_head_dim_from_width",
        "cell": "gpt_oss_attention",
        "why": "takes head_dim = D // n_heads, which is wrong when n_heads * head_dim != D (as in gpt-oss: 64 * 64 != 2880)",
        "source": """def gpt_oss_attention(x, weights, n_heads, n_kv_heads, sliding_window=None, rope_theta=10000.0):
    B, T, D = x.shape
    d = D // n_heads
    q = (x @ weights["q_w"].T + weights["q_b"]).view(B, T, n_heads, -1).transpose(1, 2)
    k = (x @ weights["k_w"].T + weights["k_b"]).view(B, T, n_kv_heads, -1).transpose(1, 2)
    v = (x @ weights["v_w"].T + weights["v_b"]).view(B, T, n_kv_heads, -1).transpose(1, 2)
    hd = q.shape[-1]
    cos, sin = rope_tables(T, hd, rope_theta, dtype=x.dtype)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    k, v = repeat_kv(k, n_heads // n_kv_heads), repeat_kv(v, n_heads // n_kv_heads)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    scores = scores.masked_fill(~sliding_window_causal_mask(T, sliding_window), float("-inf"))
    probs = sink_softmax(scores, weights["sinks"])
    return (probs @ v).transpose(1, 2).reshape(B, T, -1) @ weights["o_w"].T + weights["o_b"]
""",
        "loses": ["test_gpt_oss_attention"],
    },
    {
        "name": "attn_no_biases",
        "cell": "gpt_oss_attention",
        "why": "drops the projection biases (Llama has none; gpt-oss has them)",
        "source": """def gpt_oss_attention(x, weights, n_heads, n_kv_heads, sliding_window=None, rope_theta=10000.0):
    B, T, _ = x.shape
    d = weights["q_w"].shape[0] // n_heads
    q = (x @ weights["q_w"].T).view(B, T, n_heads, d).transpose(1, 2)
    k = (x @ weights["k_w"].T).view(B, T, n_kv_heads, d).transpose(1, 2)
    v = (x @ weights["v_w"].T).view(B, T, n_kv_heads, d).transpose(1, 2)
    cos, sin = rope_tables(T, d, rope_theta, dtype=x.dtype)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    k, v = repeat_kv(k, n_heads // n_kv_heads), repeat_kv(v, n_heads // n_kv_heads)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    scores = scores.masked_fill(~sliding_window_causal_mask(T, sliding_window), float("-inf"))
    probs = sink_softmax(scores, weights["sinks"])
    return (probs @ v).transpose(1, 2).reshape(B, T, n_heads * d) @ weights["o_w"].T
""",
        "loses": ["test_gpt_oss_attention"],
    },
]


# ----------------------------------------------------------------------------------------------- hints
# One sentence per entry for the student who made that mistake, shown under the failed test (issue 23).
# Entries in _HINTS_NOT_SHOWN keep their hint for the class report only: any useful hint would give the fix away.
_HINTS = {
    "ln_unbiased_variance": "Your variance uses a different divisor than LayerNorm's.",
    "ln_eps_outside_sqrt": "Your eps sits in a different place in the denominator than LayerNorm's.",
    "ln_over_batch_dim": "Check which dimension you normalise over: LayerNorm normalises each token over its features.",
    "ln_no_centring": "Your output keeps the input's mean offset.",
    "rms_subtracts_mean": "Your function centres its input, which RMSNorm does not do.",
    "rms_uses_l2_norm": "You divide by a norm that grows with the width; RMSNorm divides by a root mean square.",
    "rms_eps_outside_sqrt": "Your eps sits in a different place in the denominator than RMSNorm's.",
    "ln_bwd_missing_mean_term": "Your gradient forgets that the mean also depends on x.",
    "ln_bwd_missing_variance_term": "Your gradient treats the standard deviation as a constant, but it depends on x too.",
    "ln_bwd_forgets_weight": "The gradient reaching x_hat has not gone through the gain.",
    "ln_bwd_sums_only_dim0": "Your parameter gradients are only right for 2-D inputs: sum over every leading dimension.",
    "ln_bwd_autograd": "This function must be written by hand from the saved statistics, not by running autograd.",
    "ln_bwd_autograd_recomputed_stats": "This function must be written by hand from the saved statistics, not by running autograd on recomputed ones.",
    "rms_bwd_layernorm_formula": "Your backward is LayerNorm's: RMSNorm never subtracts a mean, so its gradient has no such term.",
    "rms_bwd_constant_rms": "Your gradient treats the RMS as a constant, but it depends on x too.",
    "rms_bwd_grad_weight_uses_x": "Your gain gradient uses the un-normalised input instead of x_hat.",
    "rms_bwd_autograd": "This function must be written by hand from the saved statistics, not by running autograd.",
    "post_is_pre": "Your norms sit in front of the sublayers, which is the Pre-LN arrangement.",
    "post_normalises_branch_only": "Your norms are applied to the sublayer outputs only, so the residual stream itself is never normalised.",
    "post_residual_skips_norm1": "The residual around your FFN starts from the stream before the first norm.",
    "post_same_norm_twice": "Your two norms share the same parameters.",
    "pre_is_post": "Your norms sit after the residual additions, which is the Post-LN arrangement.",
    "pre_residual_from_normalised": "Your residual stream carries the normalised input instead of the input itself.",
    "pre_same_norm_twice": "Your two norms share the same parameters.",
    "pre_ffn_reads_block_input": "Your FFN reads the block's input rather than the stream after the attention residual.",
    "repeat_kv_tiles": "Your heads come out tiled rather than grouped: each KV head should serve a contiguous group of query heads.",
    "repeat_kv_wrong_dim": "You repeat along the wrong dimension of the tensor.",
    "window_off_by_one": "Your window keeps one key too many for each query.",
    "window_not_causal": "With a window, your mask lets tokens look at the future.",
    "mask_inverted": "Your mask is True where attention is forbidden; the docstring asks for True where it is allowed.",
    "sink_renormalised": "After you drop the sink, your probabilities sum to 1 again, which gives back the ordinary softmax.",
    "sink_added_to_logits": "Adding the same value to every logit changes nothing after a softmax, so your sinks have no effect.",
    "sink_no_max_subtraction": "Your softmax overflows for large logits.",
    "sink_of_head0_everywhere": "Every head uses the same sink, but each head has its own.",
    "attn_missing_scale": "Your logits are missing the usual scale by the head dimension.",
    "attn_rope_only_on_queries": "Only one of queries and keys is rotated.",
    "attn_ignores_sinks": "Your attention leaves the learned sinks out.",
    "attn_window_ignored": "Your sliding-window layers see the whole prefix.",
    "attn_head_dim_from_width": "Your head dimension is derived from the model width, which differs from n_heads * head_dim in gpt-oss.",
    "attn_no_biases": "gpt-oss's projections have biases and yours drop them.",
}
_HINTS_NOT_SHOWN = {
    "window_off_by_one",  # window boundary off-by-one: any hint names the comparison
}
assert set(_HINTS) == {e["name"] for e in WRONG_IMPLEMENTATIONS}, "one hint per entry, no stale names"
for _wrong in WRONG_IMPLEMENTATIONS:
    _wrong["hint"] = _HINTS[_wrong["name"]]
    if _wrong["name"] in _HINTS_NOT_SHOWN:
        _wrong["show_hint"] = False
