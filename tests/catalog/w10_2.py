"""Wrong implementations for lab w10-2 (LLM.int8(), GPTQ, AWQ).

Each entry replaces one answer cell of weeks/w10-2-quantization/solution.ipynb (format: tests/catalog/__init__.py).
"""

_BLOCKS = '''    rows, cols = w.shape
    if granularity == "tensor":
        blocks = w.reshape(1, 1, -1)
    elif granularity == "row":
        blocks = w.reshape(rows, 1, cols)
    else:
        blocks = w.reshape(rows, cols // granularity, granularity)
'''


def _absmax(body):
    return "def absmax_quantize(w, bits, granularity='row'):\n" + _BLOCKS + body


def _zp(body):
    return "def zeropoint_quantize(w, bits, granularity='row'):\n" + _BLOCKS + body


_GPTQ_LOOP = '''def gptq_quantize(W, U, scale, zero, maxq, block_size=128):
    W = W.clone()
    rows, cols = W.shape
    group = cols // scale.shape[1]
    scale_c = scale.repeat_interleave(group, dim=1)
    zero_c = zero.repeat_interleave(group, dim=1)
    Q = torch.zeros_like(W)
    for a in range(0, cols, block_size):
        b = min(a + block_size, cols)
'''

_BLOCK_HEAD = '''def gptq_block(W, U, scale, zero, maxq):
    W = W.clone()
    Q = torch.zeros_like(W)
    Err = torch.zeros_like(W)
    for i in range(W.shape[1]):
        w = W[:, i]
'''

_AWQ_HEAD = '''def awq_search_scale(X, W, bits, granularity=32, n_grid=20):
    s_x = X.abs().mean(dim=0)
    ref = X @ W.T
    best = None
'''


def _awq_loop(range_expr="range(n_grid)", alpha="r / n_grid", scale="s = s_x.pow(alpha).clamp(min=1e-4)\n        s = s / (s.max() * s.min()).sqrt()",
              cand="deq / s", loss="((X @ cand.T - ref) ** 2).mean().item()", better="loss < best[0]"):
    return _AWQ_HEAD + f'''    for r in {range_expr}:
        alpha = {alpha}
        {scale}
        q, sc, z = zeropoint_quantize(W * s, bits, granularity)
        group = W.shape[1] // sc.shape[1]
        deq = sc.repeat_interleave(group, dim=1) * (q - z.repeat_interleave(group, dim=1))
        cand = {cand}
        loss = {loss}
        if best is None or {better}:
            best = (loss, alpha, s)
    return best[1], best[2]
'''


WRONG_IMPLEMENTATIONS = [
    # ---- absmax -------------------------------------------------------------------------------------------------
    {
        "name": "absmax_full_range_2_pow_bits_minus_1",
        "cell": "absmax_quantize",
        "why": "divides the absmax by 2^(b-1) (e.g. 128 for int8) instead of 2^(b-1) - 1",
        "hint": "Your absmax scale maps the largest |w| to a code that is not the top of the symmetric range.",
        "source": _absmax('''    qmax = 2 ** (bits - 1)
    scale = blocks.abs().amax(dim=-1) / qmax
    q = torch.round(blocks / scale[..., None]).clamp(-qmax, qmax - 1)
    return q.reshape(rows, cols), scale
'''),
        "loses": ["test_absmax_quantize"],
    },
    {
        "name": "absmax_groups_across_rows",
        "cell": "absmax_quantize",
        "why": "forms groups from the flattened tensor in column-major order, mixing rows",
        "hint": "Your groups do not consist of consecutive columns of one row.",
        "source": '''def absmax_quantize(w, bits, granularity="row"):
    rows, cols = w.shape
    qmax = 2 ** (bits - 1) - 1
    if granularity == "tensor":
        blocks = w.reshape(1, 1, -1)
    elif granularity == "row":
        blocks = w.reshape(rows, 1, cols)
    else:
        blocks = w.T.reshape(rows, cols // granularity, granularity)
    scale = blocks.abs().amax(dim=-1) / qmax
    q = torch.round(blocks / scale[..., None]).clamp(-qmax, qmax)
    if granularity not in ("tensor", "row"):
        return q.reshape(cols, rows).T, scale
    return q.reshape(rows, cols), scale
''',
        "loses": ["test_absmax_quantize"],
    },
    {
        "name": "absmax_uses_max_not_absmax",
        "cell": "absmax_quantize",
        "why": "takes the block's max instead of its max absolute value",
        "hint": "Your scale ignores how large the negative values of a block are.",
        "source": _absmax('''    qmax = 2 ** (bits - 1) - 1
    scale = blocks.amax(dim=-1) / qmax
    q = torch.round(blocks / scale[..., None]).clamp(-qmax, qmax)
    return q.reshape(rows, cols), scale
'''),
        "loses": ["test_absmax_quantize"],
    },
    {
        "name": "absmax_floor_instead_of_round",
        "cell": "absmax_quantize",
        "why": "truncates towards zero instead of rounding to nearest",
        "hint": "Your quantiser does not map each value to its nearest grid point.",
        "source": _absmax('''    qmax = 2 ** (bits - 1) - 1
    scale = blocks.abs().amax(dim=-1) / qmax
    q = torch.trunc(blocks / scale[..., None]).clamp(-qmax, qmax)
    return q.reshape(rows, cols), scale
'''),
        "loses": ["test_absmax_quantize"],
    },
    {
        "name": "absmax_returns_inverse_scale",
        "cell": "absmax_quantize",
        "why": "returns the paper's quantisation constant 127/absmax instead of the dequantisation scale",
        "hint": "The scale you return is the reciprocal of the one that reconstructs w as q * scale.",
        "source": _absmax('''    qmax = 2 ** (bits - 1) - 1
    c = qmax / blocks.abs().amax(dim=-1)
    q = torch.round(blocks * c[..., None]).clamp(-qmax, qmax)
    return q.reshape(rows, cols), c
'''),
        "loses": ["test_absmax_quantize"],
    },
    # ---- zero-point ---------------------------------------------------------------------------------------------
    {
        "name": "zeropoint_range_without_zero",
        "cell": "zeropoint_quantize",
        "why": "uses the raw min and max (AWQ's convention), so an all-positive block does not contain 0",
        "hint": "Your range does not always include 0, which the convention here requires.",
        "source": _zp('''    maxq = 2**bits - 1
    xmin = blocks.amin(dim=-1)
    xmax = blocks.amax(dim=-1)
    scale = (xmax - xmin) / maxq
    zero = torch.round(-xmin / scale)
    q = (torch.round(blocks / scale[..., None]) + zero[..., None]).clamp(0, maxq)
    return q.reshape(rows, cols), scale, zero
'''),
        "loses": ["test_zeropoint_quantize"],
    },
    {
        "name": "zeropoint_no_clamp",
        "cell": "zeropoint_quantize",
        "why": "forgets to clamp the codes to [0, 2^b - 1]",
        "hint": "Some of your codes fall outside the range a b-bit integer can hold.",
        "source": _zp('''    maxq = 2**bits - 1
    xmin = blocks.amin(dim=-1).clamp(max=0)
    xmax = blocks.amax(dim=-1).clamp(min=0)
    scale = (xmax - xmin) / maxq
    zero = -xmin / scale
    q = torch.round(blocks / scale[..., None] + zero[..., None])
    return q.reshape(rows, cols), scale, zero
'''),
        "loses": ["test_zeropoint_quantize"],
    },
    {
        "name": "zeropoint_divides_by_2_pow_bits",
        "cell": "zeropoint_quantize",
        "why": "divides the range by 2^b instead of 2^b - 1 (the number of steps)",
        "hint": "Your scale counts the grid's points instead of the steps between them.",
        "source": _zp('''    maxq = 2**bits - 1
    xmin = blocks.amin(dim=-1).clamp(max=0)
    xmax = blocks.amax(dim=-1).clamp(min=0)
    scale = (xmax - xmin) / 2**bits
    zero = torch.round(-xmin / scale)
    q = (torch.round(blocks / scale[..., None]) + zero[..., None]).clamp(0, maxq)
    return q.reshape(rows, cols), scale, zero
'''),
        "loses": ["test_zeropoint_quantize"],
    },
    {
        "name": "zeropoint_sign_flipped",
        "cell": "zeropoint_quantize",
        "why": "subtracts the zero point when quantising instead of adding it",
        "hint": "Your codes shift in the wrong direction: check the sign of the zero point in q.",
        "source": _zp('''    maxq = 2**bits - 1
    xmin = blocks.amin(dim=-1).clamp(max=0)
    xmax = blocks.amax(dim=-1).clamp(min=0)
    scale = (xmax - xmin) / maxq
    zero = torch.round(-xmin / scale)
    q = (torch.round(blocks / scale[..., None]) - zero[..., None]).clamp(0, maxq)
    return q.reshape(rows, cols), scale, zero
'''),
        "loses": ["test_zeropoint_quantize"],
    },
    # ---- int8 vector-wise ---------------------------------------------------------------------------------------
    {
        "name": "int8_per_tensor",
        "cell": "int8_vectorwise_matmul",
        "why": "one absmax constant for all of X and one for all of W (tensor-wise, not vector-wise)",
        "hint": "Your scales are shared by all tokens (or all output channels), so one loud row spoils the others.",
        "source": '''def int8_vectorwise_matmul(X, W):
    cx = X.abs().max() / 127
    cw = W.abs().max() / 127
    xq = torch.round(X / cx)
    wq = torch.round(W / cw)
    return (xq @ wq.T) * cx * cw
''',
        "loses": ["test_int8_vectorwise_matmul"],
    },
    {
        "name": "int8_weight_scale_per_input_column",
        "cell": "int8_vectorwise_matmul",
        "why": "takes W's absmax over output channels (per input column), which cannot be factored out of the sum",
        "hint": "Your weight constants run along the inner (summed) dimension, so they cannot be applied after the product.",
        "source": '''def int8_vectorwise_matmul(X, W):
    cx = X.abs().amax(dim=1, keepdim=True) / 127
    cw = W.abs().amax(dim=0, keepdim=True) / 127
    xq = torch.round(X / cx)
    wq = torch.round(W / cw)
    return (xq @ (wq * cw).T) * cx
''',
        "loses": ["test_int8_vectorwise_matmul"],
    },
    {
        "name": "int8_float_product",
        "cell": "int8_vectorwise_matmul",
        "why": "returns the floating-point product (no quantisation at all)",
        "hint": "Your result is not an integer product rescaled by the row and column constants.",
        "source": '''def int8_vectorwise_matmul(X, W):
    return X @ W.T
''',
        "loses": ["test_int8_vectorwise_matmul"],
    },
    {
        "name": "int8_zero_row_nan",
        "cell": "int8_vectorwise_matmul",
        "why": "divides by a zero absmax for an all-zero row and returns NaN",
        "hint": "A row that is entirely zero breaks your function.",
        "source": '''def int8_vectorwise_matmul(X, W):
    cx = X.abs().amax(dim=1, keepdim=True) / 127
    cw = W.abs().amax(dim=1, keepdim=True) / 127
    return (torch.round(X / cx) @ torch.round(W / cw).T) * cx * cw.T
''',
        "loses": ["test_int8_vectorwise_matmul"],
    },
    {
        "name": "int8_returns_float64_for_float32",
        "cell": "int8_vectorwise_matmul",
        "why": "always returns float64",
        "hint": "Your result's dtype does not follow the input's.",
        "source": '''def int8_vectorwise_matmul(X, W):
    X, W = X.double(), W.double()
    cx = X.abs().amax(dim=1, keepdim=True) / 127
    cw = W.abs().amax(dim=1, keepdim=True) / 127
    xq = torch.where(cx > 0, torch.round(X / cx.clamp(min=1e-30)), 0)
    wq = torch.where(cw > 0, torch.round(W / cw.clamp(min=1e-30)), 0)
    return (xq @ wq.T) * cx * cw.T
''',
        "loses": ["test_int8_vectorwise_matmul"],
    },
    # ---- LLM.int8() decomposition ------------------------------------------------------------------------------
    {
        "name": "llmint8_strict_threshold",
        "cell": "llm_int8_matmul",
        "why": "uses |x| > threshold, so a value of exactly 6 is not an outlier",
        "hint": "A value exactly at the threshold is treated differently from the rule stated in the docstring.",
        "source": '''def llm_int8_matmul(X, W, threshold=6.0):
    outlier = (X.abs() > threshold).any(dim=0)
    out = X[:, outlier] @ W[:, outlier].T
    if (~outlier).any():
        out = out + int8_vectorwise_matmul(X[:, ~outlier], W[:, ~outlier])
    return out
''',
        "loses": ["test_llm_int8_matmul"],
    },
    {
        "name": "llmint8_scales_over_all_columns",
        "cell": "llm_int8_matmul",
        "why": "quantises the full X and W (scales include the outliers) and only zeroes the outlier columns afterwards",
        "hint": "The int8 part of your product still lets the outlier columns set its scales.",
        "source": '''def llm_int8_matmul(X, W, threshold=6.0):
    outlier = (X.abs() >= threshold).any(dim=0)
    cx = X.abs().amax(dim=1, keepdim=True) / 127
    cw = W.abs().amax(dim=1, keepdim=True) / 127
    xq = torch.round(X / cx) * (~outlier)
    wq = torch.round(W / cw)
    return X[:, outlier] @ W[:, outlier].T + (xq @ wq.T) * cx * cw.T
''',
        "loses": ["test_llm_int8_matmul"],
    },
    {
        "name": "llmint8_outlier_elements_not_columns",
        "cell": "llm_int8_matmul",
        "why": "splits out individual outlier values instead of whole feature columns",
        "hint": "Your decomposition separates single values, but the paper separates whole feature dimensions.",
        "source": '''def llm_int8_matmul(X, W, threshold=6.0):
    big = X.abs() >= threshold
    Xo = torch.where(big, X, torch.zeros_like(X))
    return Xo @ W.T + int8_vectorwise_matmul(X - Xo, W)
''',
        "loses": ["test_llm_int8_matmul"],
    },
    {
        "name": "llmint8_outlier_part_also_int8",
        "cell": "llm_int8_matmul",
        "why": "quantises the outlier part too (separately), instead of keeping it in floating point",
        "hint": "The outlier part of your product is not computed in floating point.",
        "source": '''def llm_int8_matmul(X, W, threshold=6.0):
    outlier = (X.abs() >= threshold).any(dim=0)
    out = int8_vectorwise_matmul(X[:, outlier], W[:, outlier]) if outlier.any() else 0
    if (~outlier).any():
        out = out + int8_vectorwise_matmul(X[:, ~outlier], W[:, ~outlier])
    return out
''',
        "loses": ["test_llm_int8_matmul"],
    },
    {
        "name": "llmint8_rows_not_columns",
        "cell": "llm_int8_matmul",
        "why": "picks outlier tokens (rows of X) and keeps them in float instead of outlier feature columns",
        "hint": "Your function looks for outliers along the wrong axis of X.",
        "source": '''def llm_int8_matmul(X, W, threshold=6.0):
    outlier = (X.abs() >= threshold).any(dim=1)
    out = torch.zeros(X.shape[0], W.shape[0], dtype=X.dtype)
    out[outlier] = X[outlier] @ W.T
    if (~outlier).any():
        out[~outlier] = int8_vectorwise_matmul(X[~outlier], W)
    return out
''',
        "loses": ["test_llm_int8_matmul"],
    },
    # ---- GPTQ: inverse Hessian factor ---------------------------------------------------------------------------
    {
        "name": "hinv_lower_factor",
        "cell": "gptq_inverse_hessian_factor",
        "why": "returns the lower Cholesky factor L of H^-1 (L L^T = H^-1)",
        "hint": "Your factor is triangular on the wrong side for the U^T U = H^-1 convention.",
        "source": '''def gptq_inverse_hessian_factor(X, percdamp=0.01):
    H = 2.0 / X.shape[0] * X.T @ X
    dead = torch.diag(H) == 0
    H[dead, dead] = 1.0
    H = H + percdamp * torch.mean(torch.diag(H)) * torch.eye(H.shape[0], dtype=H.dtype)
    return torch.linalg.cholesky(torch.linalg.inv(H))
''',
        "loses": ["test_gptq_inverse_hessian_factor"],
    },
    {
        "name": "hinv_cholesky_of_h",
        "cell": "gptq_inverse_hessian_factor",
        "why": "returns the upper Cholesky factor of H itself, not of its inverse",
        "hint": "You factorised the Hessian, but GPTQ needs the factor of its inverse.",
        "source": '''def gptq_inverse_hessian_factor(X, percdamp=0.01):
    H = 2.0 / X.shape[0] * X.T @ X
    dead = torch.diag(H) == 0
    H[dead, dead] = 1.0
    H = H + percdamp * torch.mean(torch.diag(H)) * torch.eye(H.shape[0], dtype=H.dtype)
    return torch.linalg.cholesky(H, upper=True)
''',
        "loses": ["test_gptq_inverse_hessian_factor"],
    },
    {
        "name": "hinv_absolute_damping",
        "cell": "gptq_inverse_hessian_factor",
        "why": "adds percdamp * I instead of percdamp times the mean diagonal",
        "hint": "Your dampening does not scale with the size of the Hessian's diagonal.",
        "source": '''def gptq_inverse_hessian_factor(X, percdamp=0.01):
    H = 2.0 / X.shape[0] * X.T @ X
    dead = torch.diag(H) == 0
    H[dead, dead] = 1.0
    H = H + percdamp * torch.eye(H.shape[0], dtype=H.dtype)
    return torch.linalg.cholesky(torch.linalg.inv(H), upper=True)
''',
        "loses": ["test_gptq_inverse_hessian_factor"],
    },
    {
        "name": "hinv_no_dead_fix",
        "cell": "gptq_inverse_hessian_factor",
        "why": "leaves never-active features at H_ii = 0 (only the dampening keeps H invertible)",
        "hint": "A feature that is never active in the calibration data is not handled as the docstring says.",
        "source": '''def gptq_inverse_hessian_factor(X, percdamp=0.01):
    H = 2.0 / X.shape[0] * X.T @ X
    H = H + percdamp * torch.mean(torch.diag(H)) * torch.eye(H.shape[0], dtype=H.dtype)
    return torch.linalg.cholesky(torch.linalg.inv(H), upper=True)
''',
        "loses": ["test_gptq_inverse_hessian_factor"],
    },
    {
        "name": "hinv_sum_not_mean",
        "cell": "gptq_inverse_hessian_factor",
        "why": "H = 2 X^T X summed over samples, not averaged",
        "hint": "Your Hessian grows with the number of calibration samples.",
        "source": '''def gptq_inverse_hessian_factor(X, percdamp=0.01):
    H = 2.0 * X.T @ X
    dead = torch.diag(H) == 0
    H[dead, dead] = 1.0
    H = H + percdamp * torch.mean(torch.diag(H)) * torch.eye(H.shape[0], dtype=H.dtype)
    return torch.linalg.cholesky(torch.linalg.inv(H), upper=True)
''',
        "loses": ["test_gptq_inverse_hessian_factor"],
    },
    # ---- GPTQ: one block -----------------------------------------------------------------------------------------
    {
        "name": "block_no_feedback",
        "cell": "gptq_block",
        "why": "quantises each column independently (round-to-nearest) without updating the later columns",
        "hint": "Your block ignores the error of the columns already quantised.",
        "source": _BLOCK_HEAD + '''        q = scale[:, i] * (torch.clamp(torch.round(w / scale[:, i]) + zero[:, i], 0, maxq) - zero[:, i])
        Q[:, i] = q
        Err[:, i] = (w - q) / U[i, i]
    return Q, Err
''',
        "loses": ["test_gptq_block"],
    },
    {
        "name": "block_err_unscaled",
        "cell": "gptq_block",
        "why": "stores and propagates the raw error w - q without dividing by U[i, i]",
        "hint": "The error you feed back is not normalised by the diagonal of the factor.",
        "source": _BLOCK_HEAD + '''        q = scale[:, i] * (torch.clamp(torch.round(w / scale[:, i]) + zero[:, i], 0, maxq) - zero[:, i])
        err = w - q
        Q[:, i] = q
        Err[:, i] = err
        W[:, i + 1:] -= err[:, None] * U[i, i + 1:][None, :]
    return Q, Err
''',
        "loses": ["test_gptq_block"],
    },
    {
        "name": "block_feedback_wrong_sign",
        "cell": "gptq_block",
        "why": "adds the correction instead of subtracting it",
        "hint": "Your error feedback pushes the later columns in the wrong direction.",
        "source": _BLOCK_HEAD + '''        q = scale[:, i] * (torch.clamp(torch.round(w / scale[:, i]) + zero[:, i], 0, maxq) - zero[:, i])
        err = (w - q) / U[i, i]
        Q[:, i] = q
        Err[:, i] = err
        W[:, i + 1:] += err[:, None] * U[i, i + 1:][None, :]
    return Q, Err
''',
        "loses": ["test_gptq_block"],
    },
    {
        "name": "block_uses_column_of_u",
        "cell": "gptq_block",
        "why": "reads the update weights from column i of U (U[i+1:, i], all zeros) instead of row i",
        "hint": "Your update reads the part of the triangular factor that holds no information.",
        "source": _BLOCK_HEAD + '''        q = scale[:, i] * (torch.clamp(torch.round(w / scale[:, i]) + zero[:, i], 0, maxq) - zero[:, i])
        err = (w - q) / U[i, i]
        Q[:, i] = q
        Err[:, i] = err
        W[:, i + 1:] -= err[:, None] * U[i + 1:, i][None, :]
    return Q, Err
''',
        "loses": ["test_gptq_block"],
    },
    {
        "name": "block_err_before_feedback",
        "cell": "gptq_block",
        "why": "records Err from the block's original columns, not from the columns after in-block feedback",
        "hint": "The errors you return do not describe the columns as they were when you quantised them.",
        "source": _BLOCK_HEAD.replace("    W = W.clone()\n", "    W0 = W\n    W = W.clone()\n") + '''        q = scale[:, i] * (torch.clamp(torch.round(w / scale[:, i]) + zero[:, i], 0, maxq) - zero[:, i])
        Q[:, i] = q
        Err[:, i] = (W0[:, i] - q) / U[i, i]
        W[:, i + 1:] -= ((w - q) / U[i, i])[:, None] * U[i, i + 1:][None, :]
    return Q, Err
''',
        "loses": ["test_gptq_block"],
    },
    # ---- GPTQ: full pass ------------------------------------------------------------------------------------------
    {
        "name": "gptq_no_lazy_update",
        "cell": "gptq_quantize",
        "why": "forgets to propagate a block's errors to the later columns",
        "hint": "The columns after each block never learn about the block's quantisation error.",
        "source": _GPTQ_LOOP + '''        Q[:, a:b], err = gptq_block(W[:, a:b], U[a:b, a:b], scale_c[:, a:b], zero_c[:, a:b], maxq)
    return Q
''',
        "loses": ["test_gptq_quantize"],
    },
    {
        "name": "gptq_lazy_update_unscaled_u",
        "cell": "gptq_quantize",
        "why": "uses the full inverse Hessian H^-1 = U^T U for the cross-block update instead of U",
        "hint": "Your cross-block update multiplies the errors by a different matrix than the in-block one.",
        "source": _GPTQ_LOOP + '''        Q[:, a:b], err = gptq_block(W[:, a:b], U[a:b, a:b], scale_c[:, a:b], zero_c[:, a:b], maxq)
        Hinv = U.T @ U
        W[:, b:] -= err @ Hinv[a:b, b:]
    return Q
''',
        "loses": ["test_gptq_quantize"],
    },
    {
        "name": "gptq_groups_tiled_not_repeated",
        "cell": "gptq_quantize",
        "why": "expands group scales with repeat (tiling) instead of repeat_interleave",
        "hint": "Your columns read the grid of the wrong group.",
        "source": '''def gptq_quantize(W, U, scale, zero, maxq, block_size=128):
    W = W.clone()
    rows, cols = W.shape
    group = cols // scale.shape[1]
    scale_c = scale.repeat(1, group)
    zero_c = zero.repeat(1, group)
    Q = torch.zeros_like(W)
    for a in range(0, cols, block_size):
        b = min(a + block_size, cols)
        Q[:, a:b], err = gptq_block(W[:, a:b], U[a:b, a:b], scale_c[:, a:b], zero_c[:, a:b], maxq)
        W[:, b:] -= err @ U[a:b, b:]
    return Q
''',
        "loses": ["test_gptq_quantize"],
    },
    {
        "name": "gptq_drops_last_partial_block",
        "cell": "gptq_quantize",
        "why": "loops over whole blocks only and leaves the last partial block unquantised",
        "hint": "Part of your matrix is never quantised when the block size does not divide the width.",
        "source": _GPTQ_LOOP.replace("range(0, cols, block_size)", "range(0, cols - cols % block_size, block_size)") + '''        Q[:, a:b], err = gptq_block(W[:, a:b], U[a:b, a:b], scale_c[:, a:b], zero_c[:, a:b], maxq)
        W[:, b:] -= err @ U[a:b, b:]
    return Q
''',
        "loses": ["test_gptq_quantize"],
    },
    # ---- AWQ -----------------------------------------------------------------------------------------------------
    {
        "name": "awq_weight_magnitude",
        "cell": "awq_search_scale",
        "why": "derives the scales from the weights' magnitudes instead of the activations'",
        "hint": "Your saliency statistic is not the one AWQ argues for.",
        "source": _awq_loop().replace("s_x = X.abs().mean(dim=0)", "s_x = W.abs().mean(dim=0)"),
        "loses": ["test_awq_search_scale"],
    },
    {
        "name": "awq_no_normalisation",
        "cell": "awq_search_scale",
        "why": "forgets to normalise s by sqrt(max * min)",
        "hint": "Your scales are not normalised as AWQ's code normalises them.",
        "source": _awq_loop(scale="s = s_x.pow(alpha).clamp(min=1e-4)"),
        "loses": ["test_awq_search_scale"],
    },
    {
        "name": "awq_forgets_to_unscale",
        "cell": "awq_search_scale",
        "why": "scores Q(W * s) directly, without dividing by s again (the activations are not rescaled)",
        "hint": "The candidate you score does not compute the same function as the original layer before rounding.",
        "source": _awq_loop(cand="deq"),
        "loses": ["test_awq_search_scale"],
    },
    {
        "name": "awq_grid_excludes_zero",
        "cell": "awq_search_scale",
        "why": "searches alpha = (r + 1) / n_grid, so the no-scaling option alpha = 0 is missing",
        "hint": "Your grid of exponents misses a value that guarantees AWQ never loses to plain rounding.",
        "source": _awq_loop(alpha="(r + 1) / n_grid"),
        "loses": ["test_awq_search_scale"],
    },
    {
        "name": "awq_weight_error_objective",
        "cell": "awq_search_scale",
        "why": "minimises the weight reconstruction error instead of the layer's output error on X",
        "hint": "The loss you minimise does not involve the calibration activations.",
        "source": _awq_loop(loss="((cand - W) ** 2).mean().item()"),
        "loses": ["test_awq_search_scale"],
    },
    {
        "name": "awq_picks_last_alpha",
        "cell": "awq_search_scale",
        "why": "returns the last alpha of the grid instead of the best one",
        "hint": "Your search does not keep the best candidate.",
        "source": _awq_loop(better="True"),
        "loses": ["test_awq_search_scale"],
    },
    # ---- AWQ fold ------------------------------------------------------------------------------------------------
    {
        "name": "fold_prev_multiplied",
        "cell": "awq_fold_scales",
        "why": "multiplies the previous op by s as well, instead of dividing",
        "hint": "After your fold the network no longer computes the same function.",
        "source": '''def awq_fold_scales(prev, next_weights, s):
    new_prev = prev * s if prev.dim() == 1 else prev * s[:, None]
    return new_prev, [Wn * s[None, :] for Wn in next_weights]
''',
        "loses": ["test_awq_fold_scales"],
    },
    {
        "name": "fold_linear_prev_columns",
        "cell": "awq_fold_scales",
        "why": "divides the previous linear layer's input columns by s instead of its output rows",
        "hint": "For a previous linear layer you rescale the side that does not produce the scaled channels.",
        "source": '''def awq_fold_scales(prev, next_weights, s):
    new_prev = prev / s if prev.dim() == 1 else prev / s[None, :]
    return new_prev, [Wn * s[None, :] for Wn in next_weights]
''',
        "loses": ["test_awq_fold_scales"],
    },
    {
        "name": "fold_scales_rows_of_next",
        "cell": "awq_fold_scales",
        "why": "scales the next layers' output rows instead of their input columns",
        "hint": "You scale the next layers along the wrong dimension.",
        "source": '''def awq_fold_scales(prev, next_weights, s):
    new_prev = prev / s if prev.dim() == 1 else prev / s[:, None]
    return new_prev, [Wn * s[:Wn.shape[0], None] if Wn.shape[0] <= s.shape[0] else Wn * s.mean() for Wn in next_weights]
''',
        "loses": ["test_awq_fold_scales"],
    },
]
