"""Wrong implementations for lab w12-1 (LoRA, DoRA, the expressive power and the convergence of LoRA).

Each entry replaces one answer cell of weeks/w12-1-peft/solution.ipynb (format: tests/catalog/__init__.py).
Every entry also has a `hint`: one student-facing sentence naming the likely mistake without giving the fix.
"""


def _entry(name, cell, why, source, hint, show_hint=True):
    entry = {"name": name, "cell": cell, "why": why, "source": source, "loses": [f"test_{cell}"], "hint": hint}
    if not show_hint:
        entry["show_hint"] = False
    return entry


# ---- lora_init -------------------------------------------------------------------------------------------------

_INIT_HEAD = "def lora_init(in_features, out_features, r, seed=0):\n    gen = torch.Generator().manual_seed(seed)\n"

# ---- lora_forward ----------------------------------------------------------------------------------------------

_FWD_HEAD = "def lora_forward(x, weight, bias, lora_A, lora_B, alpha, rslora=False):\n"

# ---- dora_forward ----------------------------------------------------------------------------------------------

_DORA_HEAD = "def dora_forward(x, weight, bias, lora_A, lora_B, magnitude, alpha):\n"

# ---- linear_lora_updates ---------------------------------------------------------------------------------------

_LINEAR_TEMPLATE = '''def linear_lora_updates(target, frozen_layers, rank):
    D, L = target.shape[0], len(frozen_layers)
    eye = torch.eye(D, dtype=target.dtype)
    frozen_product = eye
    for W in frozen_layers:
        frozen_product = {PRODUCT}
    U, S, Vh = torch.linalg.svd(target - frozen_product)
    updates, adapted_below = [], eye
    for l, W in enumerate(frozen_layers):
        keep = {KEEP}
        piece = U[:, keep] @ torch.diag(S[keep]) @ Vh[keep]
        above = eye
        for W_up in frozen_layers[l + 1:]:
            above = W_up @ above
        dW = {DW}
        updates.append(dW)
        adapted_below = {BELOW}
    return updates
'''


def _linear(product="W @ frozen_product", keep="slice(l * rank, min((l + 1) * rank, D))",
            dw="torch.linalg.solve(above, piece) @ torch.linalg.inv(adapted_below)", below="(W + dW) @ adapted_below"):
    return (_LINEAR_TEMPLATE.replace("{PRODUCT}", product).replace("{KEEP}", keep).replace("{DW}", dw)
            .replace("{BELOW}", below))


WRONG_IMPLEMENTATIONS = [
    # lora_init
    _entry("init_swapped_zero_factor", "lora_init", "initialises A to zero and B at random (the roles swapped)",
           _INIT_HEAD + "    lora_A = torch.zeros(r, in_features)\n"
           "    lora_B = torch.randn(out_features, r, generator=gen) / math.sqrt(r)\n    return lora_A, lora_B\n",
           "Your function zeroes the factor that LoRA (and peft) keeps random, and keeps random the one it zeroes."),
    _entry("init_both_random", "lora_init", "draws both factors at random, so the adapted model does not start at W0",
           _INIT_HEAD + "    lora_A = torch.randn(r, in_features, generator=gen) / math.sqrt(in_features)\n"
           "    lora_B = torch.randn(out_features, r, generator=gen) / math.sqrt(r)\n    return lora_A, lora_B\n",
           "At initialisation your adapted layer is not the pretrained layer: B A should be exactly zero."),
    _entry("init_both_zero", "lora_init", "zero for both factors: B A = 0 but both gradients vanish forever",
           _INIT_HEAD + "    return torch.zeros(r, in_features), torch.zeros(out_features, r)\n",
           "With both factors at zero no gradient ever reaches either of them: training could not start."),
    _entry("init_global_rng", "lora_init", "ignores the seed and draws from the global random generator",
           "def lora_init(in_features, out_features, r, seed=0):\n"
           "    lora_A = (torch.rand(r, in_features) * 2 - 1) / math.sqrt(in_features)\n"
           "    return lora_A, torch.zeros(out_features, r)\n",
           "Calling your function twice with the same seed gives different factors: the seed is not used."),
    _entry("init_transposed_shapes", "lora_init", "returns A as (in, r) and B as (r, out), the x @ A @ B layout",
           _INIT_HEAD + "    lora_A = (torch.rand(in_features, r, generator=gen) * 2 - 1) / math.sqrt(in_features)\n"
           "    return lora_A, torch.zeros(r, out_features)\n",
           "Your factors are in the x @ A @ B layout; this lab (and peft) stores them like nn.Linear weights, (out, in)."),
    # lora_forward
    _entry("forward_scale_alpha", "lora_forward", "scales the LoRA path by alpha instead of alpha / r",
           _FWD_HEAD + "    out = x @ weight.T + (x @ lora_A.T) @ lora_B.T * alpha\n"
           "    return out if bias is None else out + bias\n",
           "Your LoRA path is r times too large: check the scale factor against the rank."),
    _entry("forward_scale_inverted", "lora_forward", "scales by r / alpha",
           _FWD_HEAD + "    out = x @ weight.T + (x @ lora_A.T) @ lora_B.T * (lora_A.shape[0] / alpha)\n"
           "    return out if bias is None else out + bias\n",
           "Your scale factor is upside down."),
    _entry("forward_ignores_rslora", "lora_forward", "always uses alpha / r, even when rslora=True",
           _FWD_HEAD + "    out = x @ weight.T + (x @ lora_A.T) @ lora_B.T * (alpha / lora_A.shape[0])\n"
           "    return out if bias is None else out + bias\n",
           "With rslora=True your layer still uses plain LoRA's scale."),
    _entry("forward_rslora_sqrt_of_ratio", "lora_forward", "rsLoRA as sqrt(alpha / r) instead of alpha / sqrt(r)",
           _FWD_HEAD + "    r = lora_A.shape[0]\n    scaling = math.sqrt(alpha / r) if rslora else alpha / r\n"
           "    out = x @ weight.T + (x @ lora_A.T) @ lora_B.T * scaling\n    return out if bias is None else out + bias\n",
           "Your rsLoRA scale takes the square root of the wrong quantity."),
    _entry("forward_scales_frozen_path", "lora_forward", "multiplies the whole pre-bias output (frozen path too) by the scale",
           _FWD_HEAD + "    out = (x @ weight.T + (x @ lora_A.T) @ lora_B.T) * (alpha / lora_A.shape[0])\n"
           "    return out if bias is None else out + bias\n",
           "Your scale also multiplies the frozen W0 x: only the low-rank path is scaled."),
    _entry("forward_rank_from_B", "lora_forward", "reads the rank from lora_B.shape[0] (that is out_features)",
           _FWD_HEAD + "    r = lora_B.shape[0]\n    scaling = alpha / math.sqrt(r) if rslora else alpha / r\n"
           "    out = x @ weight.T + (x @ lora_A.T) @ lora_B.T * scaling\n    return out if bias is None else out + bias\n",
           "The rank you divide by is not r: look again at which dimension of which factor is the rank."),
    _entry("forward_drops_bias", "lora_forward", "forgets the frozen bias",
           _FWD_HEAD + "    return x @ weight.T + (x @ lora_A.T) @ lora_B.T * (alpha / (math.sqrt(lora_A.shape[0]) if rslora "
           "else lora_A.shape[0]))\n",
           "Your output misses the frozen layer's bias."),
    # lora_merge
    _entry("merge_ignores_unmerge", "lora_merge", "always adds the update, even with unmerge=True",
           "def lora_merge(weight, lora_A, lora_B, alpha, unmerge=False):\n"
           "    return weight + (alpha / lora_A.shape[0]) * (lora_B @ lora_A)\n",
           "With unmerge=True your function does not give W0 back."),
    _entry("merge_no_scale", "lora_merge", "merges B A without the alpha / r scale the forward uses",
           "def lora_merge(weight, lora_A, lora_B, alpha, unmerge=False):\n"
           "    delta = lora_B @ lora_A\n    return weight - delta if unmerge else weight + delta\n",
           "Your merged layer does not compute what the unmerged LoRA layer computes: compare the scale of the update."),
    _entry("merge_returns_delta", "lora_merge", "returns the update alone instead of the merged weight",
           "def lora_merge(weight, lora_A, lora_B, alpha, unmerge=False):\n"
           "    delta = (alpha / lora_A.shape[0]) * (lora_B @ lora_A)\n    return -delta if unmerge else delta\n",
           "Your function returns the low-rank update, not the weight that replaces W0."),
    # lora_trainable_parameters
    _entry("params_counts_bias", "lora_trainable_parameters", "counts each layer's bias as trainable",
           "def lora_trainable_parameters(layer_shapes, r, dora=False):\n"
           "    return sum(r * (i + o) + o + (o if dora else 0) for o, i in layer_shapes)\n",
           "Your count includes parameters that LoRA keeps frozen."),
    _entry("params_dora_per_input", "lora_trainable_parameters", "gives DoRA one magnitude per input feature",
           "def lora_trainable_parameters(layer_shapes, r, dora=False):\n"
           "    return sum(r * (i + o) + (i if dora else 0) for o, i in layer_shapes)\n",
           "Your DoRA count has the wrong number of magnitudes per layer: which dimension does each magnitude belong to?"),
    _entry("params_ignores_dora", "lora_trainable_parameters", "forgets DoRA's magnitude vector",
           "def lora_trainable_parameters(layer_shapes, r, dora=False):\n"
           "    return sum(r * (i + o) for o, i in layer_shapes)\n",
           "With dora=True your count is the same as LoRA's, but DoRA trains something more."),
    _entry("params_square_factors", "lora_trainable_parameters", "counts A as r x r instead of r x in_features",
           "def lora_trainable_parameters(layer_shapes, r, dora=False):\n"
           "    return sum(r * r + r * o + (o if dora else 0) for o, i in layer_shapes)\n",
           "The size you give one of the two factors is not its real shape."),
    # dora_forward
    _entry("dora_column_norm", "dora_forward", "takes the paper's column norm literally in torch's (out, in) layout (norm over dim 0)",
           _DORA_HEAD + "    adapted = weight + (alpha / lora_A.shape[0]) * (lora_B @ lora_A)\n"
           "    direction = adapted / adapted.norm(dim=0, keepdim=True)\n"
           "    out = x @ (magnitude[:, None] * direction).T\n    return out if bias is None else out + bias\n",
           "Your norm is taken over the wrong axis for torch's (out, in) layout: one magnitude belongs to one output feature."),
    _entry("dora_norm_of_frozen", "dora_forward", "normalises W0 + sBA by the norm of W0 alone",
           _DORA_HEAD + "    adapted = weight + (alpha / lora_A.shape[0]) * (lora_B @ lora_A)\n"
           "    direction = adapted / weight.norm(dim=1, keepdim=True)\n"
           "    out = x @ (magnitude[:, None] * direction).T\n    return out if bias is None else out + bias\n",
           "Once B is no longer zero your direction is not a unit vector: which weight's norm should divide it?"),
    _entry("dora_scales_bias", "dora_forward", "rescales the bias along with the weight",
           _DORA_HEAD + "    adapted = weight + (alpha / lora_A.shape[0]) * (lora_B @ lora_A)\n"
           "    norm = adapted.norm(dim=1)\n    out = x @ adapted.T\n    if bias is not None:\n        out = out + bias\n"
           "    return out * (magnitude / norm)\n",
           "Your layer rescales the bias too; in peft's DoRA only the weight is decomposed."),
    _entry("dora_no_lora_scale", "dora_forward", "adds B A without the alpha / r scale",
           _DORA_HEAD + "    adapted = weight + lora_B @ lora_A\n"
           "    direction = adapted / adapted.norm(dim=1, keepdim=True)\n"
           "    out = x @ (magnitude[:, None] * direction).T\n    return out if bias is None else out + bias\n",
           "The direction you build uses a LoRA update of the wrong size."),
    _entry("dora_frobenius_norm", "dora_forward", "one norm for the whole matrix (weight normalisation of the matrix)",
           _DORA_HEAD + "    adapted = weight + (alpha / lora_A.shape[0]) * (lora_B @ lora_A)\n"
           "    direction = adapted / adapted.norm()\n"
           "    out = x @ (magnitude[:, None] * direction).T\n    return out if bias is None else out + bias\n",
           "You normalise the matrix as a whole; DoRA normalises each output feature's weight vector separately."),
    _entry("dora_no_normalisation", "dora_forward", "multiplies the adapted weight by the magnitude without normalising it",
           _DORA_HEAD + "    adapted = weight + (alpha / lora_A.shape[0]) * (lora_B @ lora_A)\n"
           "    out = x @ (magnitude[:, None] * adapted).T\n    return out if bias is None else out + bias\n",
           "Your magnitude multiplies a vector that is not of unit length.", show_hint=False),
    # best_low_rank_update
    _entry("svd_keeps_smallest", "best_low_rank_update", "keeps the last r singular triplets (as if SVD were ascending)",
           "def best_low_rank_update(delta, r):\n    U, S, Vh = torch.linalg.svd(delta, full_matrices=False)\n"
           "    return U[:, -r:] * S[-r:], Vh[-r:]\n",
           "Your update keeps singular directions, but not the ones that matter most: check the order of the singular values."),
    _entry("svd_forgets_sigma", "best_low_rank_update", "B = U_r, A = V_r^T, without the singular values",
           "def best_low_rank_update(delta, r):\n    U, S, Vh = torch.linalg.svd(delta, full_matrices=False)\n"
           "    return U[:, :r], Vh[:r]\n",
           "Your factors have the right directions but not the right size."),
    _entry("svd_sigma_twice", "best_low_rank_update", "puts Sigma in both factors",
           "def best_low_rank_update(delta, r):\n    U, S, Vh = torch.linalg.svd(delta, full_matrices=False)\n"
           "    return U[:, :r] * S[:r], S[:r, None] * Vh[:r]\n",
           "Your product B @ A counts the singular values more than once."),
    _entry("svd_torch_svd_rows", "best_low_rank_update", "uses torch.svd (which returns V, not V^T) and takes its rows",
           "def best_low_rank_update(delta, r):\n    U, S, V = torch.svd(delta)\n"
           "    return U[:, :r] * S[:r], V[:r]\n",
           "The right singular vectors you use are rows of the wrong matrix: check what your SVD routine returns."),
    # linear_lora_updates
    _entry("linear_all_in_last_layer", "linear_lora_updates", "puts the whole rank-RL correction into the last layer",
           "def linear_lora_updates(target, frozen_layers, rank):\n    D, L = target.shape[0], len(frozen_layers)\n"
           "    below = torch.eye(D, dtype=target.dtype)\n    for W in frozen_layers[:-1]:\n        below = W @ below\n"
           "    frozen = frozen_layers[-1] @ below\n    U, S, Vh = torch.linalg.svd(target - frozen)\n    k = rank * L\n"
           "    piece = U[:, :k] @ torch.diag(S[:k]) @ Vh[:k]\n"
           "    updates = [torch.zeros(D, D, dtype=target.dtype) for _ in frozen_layers]\n"
           "    updates[-1] = piece @ torch.linalg.inv(below)\n    return updates\n",
           "One of your updates has a rank above the LoRA rank: each layer may only carry its own share."),
    _entry("linear_no_correction", "linear_lora_updates", "sets dW_l = E_l, forgetting the layers above and below",
           _linear(dw="piece"),
           "Each of your pieces is right on its own, but the layers around it change what it adds to the product."),
    _entry("linear_reversed_product", "linear_lora_updates", "multiplies the frozen layers in reverse order (W_1 ... W_L)",
           _linear(product="frozen_product @ W"),
           "Your network applies its layers in the wrong order: frozen_layers[0] acts first on x."),
    _entry("linear_frozen_below", "linear_lora_updates", "uses the frozen layers below l instead of the adapted ones",
           _linear(below="W @ adapted_below"),
           "When you adapt layer l, the layers under it have already been changed: your construction ignores that."),
    _entry("linear_same_piece", "linear_lora_updates", "gives every layer the top-R piece of E",
           _linear(keep="slice(0, rank)"),
           "Your layers all correct the same singular directions, so the rest of E is never corrected."),
    # balanced_factors
    _entry("balanced_unbalanced", "balanced_factors", "B = U Sigma, A = V^T: a valid but unbalanced factorisation",
           "def balanced_factors(X, r):\n    U, S, Vh = torch.linalg.svd(X, full_matrices=False)\n"
           "    B = torch.zeros(X.shape[0], r, dtype=X.dtype)\n    A = torch.zeros(r, X.shape[1], dtype=X.dtype)\n"
           "    k = min(r, S.shape[0])\n    B[:, :k] = U[:, :k] * S[:k]\n    A[:k] = Vh[:k]\n    return B, A\n",
           "Your factors multiply to X, but one of them carries all the size: their squared norms are not as small as possible."),
    _entry("balanced_no_sqrt", "balanced_factors", "splits Sigma as Sigma and Sigma instead of two square roots",
           "def balanced_factors(X, r):\n    U, S, Vh = torch.linalg.svd(X, full_matrices=False)\n"
           "    B = torch.zeros(X.shape[0], r, dtype=X.dtype)\n    A = torch.zeros(r, X.shape[1], dtype=X.dtype)\n"
           "    k = min(r, S.shape[0])\n    B[:, :k] = U[:, :k] * S[:k]\n    A[:k] = S[:k, None] * Vh[:k]\n    return B, A\n",
           "Your product B @ A is not X."),
    # lora_factor_gradients
    _entry("grads_forget_scaling", "lora_factor_gradients", "drops the scaling factor of the chain rule",
           "def lora_factor_gradients(grad_weight, lora_A, lora_B, weight_decay, scaling=1.0):\n"
           "    return lora_B.T @ grad_weight + weight_decay * lora_A, grad_weight @ lora_A.T + weight_decay * lora_B\n",
           "Your gradients are right only when the LoRA scale is 1."),
    _entry("grads_half_decay", "lora_factor_gradients", "uses weight_decay / 2 (the coefficient of the penalty) as the decay gradient",
           "def lora_factor_gradients(grad_weight, lora_A, lora_B, weight_decay, scaling=1.0):\n"
           "    return (scaling * lora_B.T @ grad_weight + weight_decay / 2 * lora_A,\n"
           "            scaling * grad_weight @ lora_A.T + weight_decay / 2 * lora_B)\n",
           "The weight-decay part of your gradients is off by a constant factor."),
    _entry("grads_decay_on_B_only", "lora_factor_gradients", "applies the weight decay to B only",
           "def lora_factor_gradients(grad_weight, lora_A, lora_B, weight_decay, scaling=1.0):\n"
           "    return scaling * lora_B.T @ grad_weight, scaling * grad_weight @ lora_A.T + weight_decay * lora_B\n",
           "The penalty is on both factors, but only one of your gradients has its derivative."),
]
