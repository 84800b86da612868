"""Wrong implementations for lab w06-2 (Megatron-LM tensor parallelism, ZeRO, Dion, MoE capacity vs dropless).

Each entry replaces one answer cell of weeks/w06-2-efficient-training/solution.ipynb (format: tests/catalog/__init__.py);
`hint` is one student-facing sentence naming the likely mistake.
"""

# ----------------------------------------------------------------------------------------------- Megatron forward
_FWD = '''def megatron_mlp_forward(rank, world_size, x, w1_shard, b1_shard, w2_shard, b2):
    hidden = F.gelu(x @ w1_shard.T + b1_shard)
    partial = hidden @ w2_shard.T
    {body}
'''


def _fwd(body: str) -> str:
    return _FWD.format(body=body)


# ----------------------------------------------------------------------------------------------- Megatron backward
_BWD_AUTOGRAD = '''def megatron_mlp_backward(rank, world_size, x, w1_shard, b1_shard, w2_shard, grad_y):
    x = x.detach().clone().requires_grad_(True)
    w1 = w1_shard.detach().clone().requires_grad_(True)
    b1 = b1_shard.detach().clone().requires_grad_(True)
    w2 = w2_shard.detach().clone().requires_grad_(True)
    (F.gelu(x @ w1.T + b1) @ w2.T).backward(grad_y)
    grad_x, grad_w1, grad_b1, grad_w2, grad_b2 = x.grad, w1.grad, b1.grad, w2.grad, grad_y.sum(dim=0)
    {body}
    return {{"x": grad_x, "w1": grad_w1, "b1": grad_b1, "w2": grad_w2, "b2": grad_b2}}
'''


def _bwd(body: str) -> str:
    return _BWD_AUTOGRAD.format(body=body)


_BWD_MANUAL = '''def megatron_mlp_backward(rank, world_size, x, w1_shard, b1_shard, w2_shard, grad_y):
    pre = x @ w1_shard.T + b1_shard
    hidden = F.gelu(pre)
    grad_hidden = grad_y @ w2_shard
    {dpre}
    grad_x = grad_pre @ w1_shard
    dist.all_reduce(grad_x)
    return {{"x": grad_x, "w1": grad_pre.T @ x, "b1": {b1}, "w2": grad_y.T @ hidden, "b2": grad_y.sum(dim=0)}}
'''

_GELU_PRIME = "cdf = 0.5 * (1 + torch.erf(pre / math.sqrt(2)))\n    pdf = torch.exp(-pre**2 / 2) / math.sqrt(2 * math.pi)\n    grad_pre = grad_hidden * (cdf + pre * pdf)"

# ----------------------------------------------------------------------------------------------- ZeRO memory
_ZMEM = '''def zero_memory_bytes(num_params, num_devices, stage, weight_bytes=2, grad_bytes=2, optimizer_bytes=12):
    {body}
'''

# ----------------------------------------------------------------------------------------------- ZeRO-1 AdamW
_Z1 = '''def zero1_adamw_train(rank, world_size, w0, x_local, y_local, steps, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    shard = w0.numel() // world_size
    lo, hi = rank * shard, (rank + 1) * shard
    w = w0.clone()
    m = torch.zeros({state}, dtype=w0.dtype)
    v = torch.zeros({state}, dtype=w0.dtype)
    for t in range(1, steps + 1):
        grad = 2 * x_local.T @ (x_local @ w - y_local) / x_local.shape[0]
        {reduce}
        {update}
    return w, m, v
'''
_REDUCE = '''grad_shard = torch.empty(shard, dtype=w0.dtype)
        dist.reduce_scatter(grad_shard, list(grad.chunk(world_size)))
        grad_shard /= world_size'''
_ADAMW = '''p = w[lo:hi] * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * grad_shard
        v = beta2 * v + (1 - beta2) * grad_shard**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        p = p - lr * m_hat / (v_hat.sqrt() + eps)
        gathered = [torch.empty(shard, dtype=w0.dtype) for _ in range(world_size)]
        dist.all_gather(gathered, p.contiguous())
        w = torch.cat(gathered)'''


def _z1(reduce=_REDUCE, update=_ADAMW, state="shard") -> str:
    return _Z1.format(reduce=reduce, update=update, state=state)


# ----------------------------------------------------------------------------------------------- Dion
_DION = '''def dion_step(momentum, grad, q, mu):
    b = {b}
    p = {p}
    r = b.T @ p
    new_momentum = {new_m}
    new_q = {new_q}
    return {update}, new_momentum, new_q
'''


def _dion(b="momentum + grad", p="torch.linalg.qr(b @ q).Q", new_m="b - (1 - mu) * (p @ r.T)",
          new_q="r / r.norm(dim=0, keepdim=True)", update="p @ new_q.T") -> str:
    return _DION.format(b=b, p=p, new_m=new_m, new_q=new_q, update=update)


# ----------------------------------------------------------------------------------------------- MoE
_GATE = '''def noisy_top_k_gating(x, w_gate, w_noise, noise, k):
    logits = {logits}
    top = {select}.topk(k, dim=-1).indices
    masked = torch.full_like(logits, float("-inf")).scatter(-1, top, logits.gather(-1, top))
    return masked.softmax(dim=-1)
'''


def _gate(logits="x @ w_gate + noise * F.softplus(x @ w_noise)", select="logits") -> str:
    return _GATE.format(logits=logits, select=select)


_CAP_LOOP = '''def capacity_keep_mask(top_experts, num_experts, capacity):
    T, k = top_experts.shape
    load = [0] * num_experts
    keep = torch.zeros(T, k, dtype=torch.bool)
    for {outer} in {outer_range}:
        for {inner} in {inner_range}:
            e = int(top_experts[t, j])
            if load[e] {cmp} capacity:
                load[e] += 1
                keep[t, j] = True
    return keep
'''


def _cap(outer="j", outer_range="range(k)", inner="t", inner_range="range(T)", cmp="<") -> str:
    return _CAP_LOOP.format(outer=outer, outer_range=outer_range, inner=inner, inner_range=inner_range, cmp=cmp)


_MOE_GROUPED = '''def dropless_moe(x, top_experts, gates, w_in, w_out):
    y = torch.zeros_like(x)
    for e in range(w_in.shape[0]):
        token, slot = torch.nonzero(top_experts == e, as_tuple=True)
        {guard}
        out = {act}(x[token] @ w_in[e]) @ w_out[e]
        y.index_add_(0, token, out * {weight})
    return y
'''


def _moe(guard="if token.numel() == 0:\n            continue", act="F.gelu", weight="gates[token, slot, None]") -> str:
    return _MOE_GROUPED.format(guard=guard, act=act, weight=weight)


FWD, BWD, ZMEM, Z1 = "test_megatron_mlp_forward", "test_megatron_mlp_backward", "test_zero_memory_bytes", "test_zero1_adamw_train"
DION, GATE, CAP, MOE = "test_dion_step", "test_noisy_top_k_gating", "test_capacity_keep_mask", "test_dropless_moe"

WRONG_IMPLEMENTATIONS = [
    # --- Megatron forward
    {"name": "tp_forward_no_allreduce", "cell": "megatron_mlp_forward", "loses": [FWD],
     "why": "returns each rank's partial output: forgets the all-reduce of the row-parallel layer",
     "hint": "Your output is only this rank's share of the second layer's sum.",
     "source": _fwd("return partial + b2")},
    {"name": "tp_forward_bias_every_rank", "cell": "megatron_mlp_forward", "loses": [FWD],
     "why": "adds the output bias on every rank before the all-reduce, so it is summed world_size times",
     "hint": "Check how many times the output bias ends up in the sum over ranks.",
     "source": _fwd("partial = partial + b2\n    dist.all_reduce(partial)\n    return partial")},
    {"name": "tp_forward_average", "cell": "megatron_mlp_forward", "loses": [FWD],
     "why": "averages the partial outputs instead of summing them (data-parallel habit)",
     "hint": "Your function averages over ranks where the row-parallel layer needs a plain sum.",
     "source": _fwd("dist.all_reduce(partial)\n    return partial / world_size + b2")},
    {"name": "tp_forward_tanh_gelu", "cell": "megatron_mlp_forward", "loses": [FWD],
     "why": "uses the tanh approximation of GeLU instead of the exact erf form asked for",
     "hint": "Your activation is an approximation of the one the docstring asks for.",
     "source": _FWD.replace("F.gelu(x @ w1_shard.T + b1_shard)", "F.gelu(x @ w1_shard.T + b1_shard, approximate=\"tanh\")").format(
         body="dist.all_reduce(partial)\n    return partial + b2")},
    {"name": "tp_forward_no_hidden_bias", "cell": "megatron_mlp_forward", "loses": [FWD],
     "why": "forgets the first layer's bias shard",
     "hint": "One of the arguments your function receives never reaches the output.",
     "source": _FWD.replace("x @ w1_shard.T + b1_shard", "x @ w1_shard.T").format(body="dist.all_reduce(partial)\n    return partial + b2")},
    # --- Megatron backward
    {"name": "tp_backward_no_allreduce_x", "cell": "megatron_mlp_backward", "loses": [BWD],
     "why": "returns each rank's partial dL/dx: forgets the backward all-reduce of Megatron's f operator",
     "hint": "The input gradient you return comes from your shard of the hidden units only.",
     "source": _bwd("pass")},
    {"name": "tp_backward_allreduce_weights", "cell": "megatron_mlp_backward", "loses": [BWD],
     "why": "all-reduces every gradient, data-parallel style, summing different shards' weight gradients",
     "hint": "Some of the gradients you communicate belong to different parameters on each rank.",
     "source": _bwd("for g in (grad_x, grad_w1, grad_b1, grad_w2):\n        dist.all_reduce(g)")},
    {"name": "tp_backward_b2_allreduced", "cell": "megatron_mlp_backward", "loses": [BWD],
     "why": "all-reduces the output-bias gradient as well, though every rank already holds all of it",
     "hint": "Check whether the output bias's gradient needs anything from the other rank.",
     "source": _bwd("dist.all_reduce(grad_x)\n    dist.all_reduce(grad_b2)")},
    {"name": "tp_backward_average_x", "cell": "megatron_mlp_backward", "loses": [BWD],
     "why": "averages dL/dx over ranks instead of summing",
     "hint": "Your input gradient is an average over ranks where the chain rule gives a sum.",
     "source": _bwd("dist.all_reduce(grad_x)\n    grad_x = grad_x / world_size")},
    {"name": "tp_backward_gelu_as_identity", "cell": "megatron_mlp_backward", "loses": [BWD],
     "why": "hand-written backward that forgets GeLU's derivative",
     "hint": "Your hand-written backward skips the derivative of one operation of the forward pass.",
     "source": _BWD_MANUAL.format(dpre="grad_pre = grad_hidden", b1="grad_pre.sum(dim=0)")},
    {"name": "tp_backward_b1_before_gelu", "cell": "megatron_mlp_backward", "loses": [BWD],
     "why": "hand-written backward that takes the hidden bias gradient from dL/d(hidden) instead of dL/d(pre-activation)",
     "hint": "The hidden bias's gradient is taken on the wrong side of the activation.",
     "source": _BWD_MANUAL.format(dpre=_GELU_PRIME, b1="grad_hidden.sum(dim=0)")},
    # --- ZeRO memory
    {"name": "zero_mem_stage_off_by_one", "cell": "zero_memory_bytes", "loses": [ZMEM],
     "why": "stage s shards s + 1 kinds of state (stage 1 already shards gradients)",
     "hint": "Your stage numbers are shifted: compare what stage 1 shards with the table.",
     "source": _ZMEM.format(body="kinds = [optimizer_bytes, grad_bytes, weight_bytes]\n    return float(sum(num_params * b / (num_devices if i <= stage else 1) for i, b in enumerate(kinds)))")},
    {"name": "zero_mem_stage2_shards_weights", "cell": "zero_memory_bytes", "loses": [ZMEM],
     "why": "stage 2 shards the weights instead of the gradients (equal at 2 + 2 bytes, not in general)",
     "hint": "At stage 2 your function shards a different kind of state than the paper does.",
     "source": _ZMEM.format(body="""if stage == 0:
        return float(num_params * (weight_bytes + grad_bytes + optimizer_bytes))
    if stage == 1:
        return float(num_params * (weight_bytes + grad_bytes) + num_params * optimizer_bytes / num_devices)
    if stage == 2:
        return float(num_params * grad_bytes + num_params * (weight_bytes + optimizer_bytes) / num_devices)
    return float(num_params * (weight_bytes + grad_bytes + optimizer_bytes) / num_devices)""")},
    {"name": "zero_mem_hardcoded_k12", "cell": "zero_memory_bytes", "loses": [ZMEM],
     "why": "hard-codes the paper's 2 + 2 + 12 bytes and ignores the byte arguments (wrong for fp32)",
     "hint": "Your function gives the same answer whatever precision it is told.",
     "source": _ZMEM.format(body="""sharded = {0: 0, 1: 12, 2: 14, 3: 16}[stage]
    return float(num_params * (16 - sharded) + num_params * sharded / num_devices)""")},
    {"name": "zero_mem_stage3_keeps_grads", "cell": "zero_memory_bytes", "loses": [ZMEM],
     "why": "stage 3 shards weights and optimiser states but keeps full gradients",
     "hint": "At stage 3 one kind of state is still counted in full on every device.",
     "source": _ZMEM.format(body="""sharded = {0: set(), 1: {"o"}, 2: {"o", "g"}, 3: {"o", "w"}}[stage]
    parts = {"w": weight_bytes, "g": grad_bytes, "o": optimizer_bytes}
    return float(sum(num_params * b / (num_devices if k in sharded else 1) for k, b in parts.items()))""")},
    # --- ZeRO stage 1 AdamW
    {"name": "zero1_sum_not_mean", "cell": "zero1_adamw_train", "loses": [Z1],
     "why": "uses the summed gradient of the ranks, forgetting that the global loss is a mean",
     "hint": "Your gradient is world_size times the gradient of the global mean loss.",
     "source": _z1(reduce=_REDUCE.replace("\n        grad_shard /= world_size", ""))},
    {"name": "zero1_full_state", "cell": "zero1_adamw_train", "loses": [Z1],
     "why": "all-reduces the gradient and keeps AdamW states for every parameter on every rank (plain DP, no ZeRO)",
     "hint": "Each rank still holds optimiser states for parameters it does not own.",
     "source": _z1(state="w0.numel()", reduce="dist.all_reduce(grad)\n        grad = grad / world_size",
                   update="""w = w * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        w = w - lr * (m / (1 - beta1**t)) / ((v / (1 - beta2**t)).sqrt() + eps)""")},
    {"name": "zero1_no_bias_correction", "cell": "zero1_adamw_train", "loses": [Z1],
     "why": "forgets Adam's bias correction of the moments",
     "hint": "The early steps of your optimiser are the wrong size: something in Adam's moment estimates is missing.",
     "source": _z1(update=_ADAMW.replace("m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)", "m_hat, v_hat = m, v"))},
    {"name": "zero1_coupled_weight_decay", "cell": "zero1_adamw_train", "loses": [Z1],
     "why": "adds weight decay to the gradient (Adam with L2) instead of decaying the weights (AdamW)",
     "hint": "Your weight decay goes through the adaptive moments; AdamW's does not.",
     "source": _z1(update=_ADAMW.replace("p = w[lo:hi] * (1 - lr * weight_decay)", "p = w[lo:hi]\n        grad_shard = grad_shard + weight_decay * p"))},
    {"name": "zero1_eps_inside_sqrt", "cell": "zero1_adamw_train", "loses": [Z1],
     "why": "puts eps inside the square root",
     "hint": "Your eps sits in a different place in the denominator than torch.optim.AdamW's.",
     "source": _z1(update=_ADAMW.replace("(v_hat.sqrt() + eps)", "(v_hat + eps).sqrt()"))},
    {"name": "zero1_no_allgather", "cell": "zero1_adamw_train", "loses": [Z1],
     "why": "updates its own shard in place but never all-gathers, so the other shard stays stale",
     "hint": "After the update, each rank only knows the new values of its own shard.",
     "source": _z1(update=_ADAMW.split("\n        gathered")[0] + "\n        w = w.clone()\n        w[lo:hi] = p")},
    {"name": "zero1_local_gradient", "cell": "zero1_adamw_train", "loses": [Z1],
     "why": "updates its shard with its local gradient only, never combining the ranks' gradients",
     "hint": "Your update only ever sees this rank's part of the batch.",
     "source": _z1(reduce="grad_shard = grad[lo:hi]")},
    {"name": "zero1_decay_after_step", "cell": "zero1_adamw_train", "loses": [Z1],
     "why": "applies the weight decay to the already-updated parameters",
     "hint": "Your weight decay is applied at a different moment of the step than torch.optim.AdamW's.",
     "source": _z1(update=_ADAMW.replace("p = w[lo:hi] * (1 - lr * weight_decay)", "p = w[lo:hi]").replace(
         "p = p - lr * m_hat / (v_hat.sqrt() + eps)", "p = p - lr * m_hat / (v_hat.sqrt() + eps)\n        p = p - lr * weight_decay * p"))},
    # --- Dion
    {"name": "dion_no_error_feedback", "cell": "dion_step", "loses": [DION],
     "why": "plain momentum decay: M = mu * (M + G), the residual outside the update is not carried",
     "hint": "Your momentum forgets what the low-rank update did not apply at the same rate as what it did.",
     "source": _dion(new_m="mu * b")},
    {"name": "dion_residual_dropped", "cell": "dion_step", "loses": [DION],
     "why": "keeps only the captured part in the momentum (M = mu P R^T): the residual is thrown away",
     "hint": "Your momentum keeps only what fits in the low-rank subspace.",
     "source": _dion(new_m="mu * (p @ r.T)")},
    {"name": "dion_mu_swapped", "cell": "dion_step", "loses": [DION],
     "why": "subtracts mu P R^T instead of (1 - mu) P R^T",
     "hint": "The captured part of your momentum decays by the wrong factor.",
     "source": _dion(new_m="b - mu * (p @ r.T)")},
    {"name": "dion_q_not_normalized", "cell": "dion_step", "loses": [DION],
     "why": "uses R itself as the new right factor, without normalising its columns",
     "hint": "Your right factor keeps the scale of the momentum.",
     "source": _dion(new_q="r")},
    {"name": "dion_column_normalize_p", "cell": "dion_step", "loses": [DION],
     "why": "normalises the columns of B Q instead of orthogonalising them (QR)",
     "hint": "The columns of your left factor have unit length but are not orthogonal to each other.",
     "source": _dion(p="(b @ q) / (b @ q).norm(dim=0, keepdim=True)")},
    {"name": "dion_update_old_q", "cell": "dion_step", "loses": [DION],
     "why": "builds the update from the previous right factor instead of the new one",
     "hint": "Your update mixes the new left factor with a right factor from the previous step.",
     "source": _dion(update="p @ q.T")},
    {"name": "dion_momentum_decayed_first", "cell": "dion_step", "loses": [DION],
     "why": "decays the momentum before adding the gradient (B = mu M + G) and then uses plain error feedback",
     "hint": "Your buffer B is not the plain sum of the stored momentum and the new gradient.",
     "source": _dion(b="mu * momentum + grad", new_m="b - (p @ r.T)")},
    # --- noisy top-k gating
    {"name": "gate_softmax_then_topk", "cell": "noisy_top_k_gating", "loses": [GATE],
     "why": "softmax over all experts, then zeroes all but the top k without renormalising",
     "hint": "Your gates of a token do not sum to one.",
     "source": '''def noisy_top_k_gating(x, w_gate, w_noise, noise, k):
    probs = (x @ w_gate + noise * F.softplus(x @ w_noise)).softmax(dim=-1)
    top = probs.topk(k, dim=-1).indices
    return torch.zeros_like(probs).scatter(-1, top, probs.gather(-1, top))
'''},
    {"name": "gate_noise_without_softplus", "cell": "noisy_top_k_gating", "loses": [GATE],
     "why": "scales the noise by x W_noise directly (can be negative) instead of Softplus(x W_noise)",
     "hint": "Your noise scale can be negative.",
     "source": _gate(logits="x @ w_gate + noise * (x @ w_noise)")},
    {"name": "gate_select_on_clean_logits", "cell": "noisy_top_k_gating", "loses": [GATE],
     "why": "chooses the top k on the clean logits and uses the noisy ones only inside the softmax",
     "hint": "The noise in your gating never changes which experts are chosen.",
     "source": _gate(select="(x @ w_gate)")},
    {"name": "gate_exp_noise_scale", "cell": "noisy_top_k_gating", "loses": [GATE],
     "why": "uses exp instead of Softplus for the noise scale",
     "hint": "Your noise scale uses a different positive function than the paper's.",
     "source": _gate(logits="x @ w_gate + noise * torch.exp(x @ w_noise)")},
    # --- capacity
    {"name": "cap_token_major_order", "cell": "capacity_keep_mask", "loses": [CAP],
     "why": "fills experts token by token (all of token 0's choices, then token 1's, ...)",
     "hint": "In your priority order a token's second choice can take a place another token's first choice needed.",
     "source": _cap(outer="t", outer_range="range(T)", inner="j", inner_range="range(k)")},
    {"name": "cap_off_by_one", "cell": "capacity_keep_mask", "loses": [CAP],
     "why": "lets an expert take capacity + 1 tokens",
     "hint": "Count how many tokens your experts accept when they are full.",
     "source": _cap(cmp="<=")},
    {"name": "cap_latest_tokens_win", "cell": "capacity_keep_mask", "loses": [CAP],
     "why": "gives later tokens priority (reversed token order)",
     "hint": "Your experts fill up in the opposite token order from the papers'.",
     "source": _cap(inner_range="reversed(range(T))")},
    {"name": "cap_per_slot_capacity", "cell": "capacity_keep_mask", "loses": [CAP],
     "why": "gives each choice slot its own capacity instead of one capacity per expert",
     "hint": "Your experts can hold more than their capacity when counted over all choices.",
     "source": _cap().replace("    for j in range(k):\n", "    for j in range(k):\n        load = [0] * num_experts\n")},
    # --- dropless MoE
    {"name": "moe_dense_all_experts", "cell": "dropless_moe", "loses": [MOE],
     "why": "computes every expert on every token and masks with the gates (dense, not grouped)",
     "hint": "Your layer computes experts on tokens that were not routed to them.",
     "source": '''def dropless_moe(x, top_experts, gates, w_in, w_out):
    outs = torch.stack([F.gelu(x @ w_in[e]) @ w_out[e] for e in range(w_in.shape[0])], dim=1)
    weights = torch.zeros(x.shape[0], w_in.shape[0], dtype=x.dtype).scatter_add(1, top_experts, gates)
    return (weights[..., None] * outs).sum(dim=1)
'''},
    {"name": "moe_einsum_dispatch_no_drop", "cell": "dropless_moe", "loses": [MOE],
     "why": "GShard-style one-hot dispatch/combine einsums with a capacity of T per expert: nothing dropped, but every expert runs on its full padded buffer",
     "hint": "Your layer still runs experts on padding, including an expert that no token chose.",
     "source": '''def dropless_moe(x, top_experts, gates, w_in, w_out):
    E = w_in.shape[0]
    T, k = top_experts.shape
    dispatch = torch.zeros(T, E, T * k, dtype=x.dtype)
    combine = torch.zeros(T, E, T * k, dtype=x.dtype)
    fill = [0] * E
    for j in range(k):
        for t in range(T):
            e = int(top_experts[t, j])
            dispatch[t, e, fill[e]] = 1.0
            combine[t, e, fill[e]] = gates[t, j]
            fill[e] += 1
    expert_in = torch.einsum("tec,td->ecd", dispatch, x)
    expert_out = torch.bmm(F.gelu(torch.bmm(expert_in, w_in)), w_out)
    return torch.einsum("tec,ecd->td", combine, expert_out)
'''},
    {"name": "moe_capacity_drop", "cell": "dropless_moe", "loses": [MOE],
     "why": "keeps a capacity of ceil(k T / E) per expert and drops the rest (capacity factor 1)",
     "hint": "Your layer loses some tokens when an expert is popular.",
     "source": _moe(guard="cap = math.ceil(top_experts.numel() / w_in.shape[0])\n        token, slot = token[:cap], slot[:cap]\n        if token.numel() == 0:\n            continue")},
    {"name": "moe_gates_ignored", "cell": "dropless_moe", "loses": [MOE],
     "why": "sums the expert outputs without weighting them by the gates",
     "hint": "Your combination of expert outputs ignores one of the inputs.",
     "source": _moe(weight="1.0")},
    {"name": "moe_relu_experts", "cell": "dropless_moe", "loses": [MOE],
     "why": "uses ReLU inside the experts instead of GeLU",
     "hint": "Your experts use a different activation from the one in the docstring.",
     "source": _moe(act="torch.relu")},
]

WRONG_IMPLEMENTATIONS += [
    {"name": "tp_forward_gather_weights", "cell": "megatron_mlp_forward", "loses": [FWD],
     "why": "all-gathers the weight shards and runs the whole MLP on every rank (right values, weights on the wire)",
     "hint": "Your ranks exchange weights, not activations: count what crosses the network.",
     "source": '''def megatron_mlp_forward(rank, world_size, x, w1_shard, b1_shard, w2_shard, b2):
    w1s = [torch.empty_like(w1_shard) for _ in range(world_size)]
    b1s = [torch.empty_like(b1_shard) for _ in range(world_size)]
    w2s = [torch.empty_like(w2_shard) for _ in range(world_size)]
    dist.all_gather(w1s, w1_shard.contiguous())
    dist.all_gather(b1s, b1_shard.contiguous())
    dist.all_gather(w2s, w2_shard.contiguous())
    return F.gelu(x @ torch.cat(w1s).T + torch.cat(b1s)) @ torch.cat(w2s, dim=1).T + b2
'''},
    {"name": "tp_backward_gather_weights", "cell": "megatron_mlp_backward", "loses": [BWD],
     "why": "all-gathers the weights, runs autograd on the whole MLP and slices out its shard's gradients",
     "hint": "Your ranks exchange weights, not activations: count what crosses the network.",
     "source": '''def megatron_mlp_backward(rank, world_size, x, w1_shard, b1_shard, w2_shard, grad_y):
    w1s = [torch.empty_like(w1_shard) for _ in range(world_size)]
    b1s = [torch.empty_like(b1_shard) for _ in range(world_size)]
    w2s = [torch.empty_like(w2_shard) for _ in range(world_size)]
    dist.all_gather(w1s, w1_shard.contiguous())
    dist.all_gather(b1s, b1_shard.contiguous())
    dist.all_gather(w2s, w2_shard.contiguous())
    w1 = torch.cat(w1s).requires_grad_(True)
    b1 = torch.cat(b1s).requires_grad_(True)
    w2 = torch.cat(w2s, dim=1).requires_grad_(True)
    x = x.detach().clone().requires_grad_(True)
    (F.gelu(x @ w1.T + b1) @ w2.T).backward(grad_y)
    n = w1_shard.shape[0]
    s = slice(rank * n, (rank + 1) * n)
    return {"x": x.grad, "w1": w1.grad[s], "b1": b1.grad[s], "w2": w2.grad[:, s], "b2": grad_y.sum(dim=0)}
'''},
]
