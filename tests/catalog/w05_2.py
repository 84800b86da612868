"""Wrong implementations for lab w05-2 (Muon, SOAP, Kimi K2's MuonClip).

Each entry replaces one answer cell of weeks/w05-2-muon-soap/solution.ipynb (format: tests/catalog/__init__.py).
"""

_NS = '''def newton_schulz(G, steps=5, coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7):
    a, b, c = coefficients
    X = G.to(torch.float32)
    tall = X.shape[0] > X.shape[1]
    if tall:
        X = X.T
    X = X / (X.norm() + eps)
    for _ in range(steps):
        A = X @ X.T
        B = b * A + c * A @ A
        X = a * X + B @ X
    if tall:
        X = X.T
    return X
'''

_SCALE = '''def muon_lr_scale(shape, adjust_lr_fn="original"):
    A, B = shape[0], shape[1]
    if adjust_lr_fn == "original":
        return math.sqrt(max(1.0, A / B))
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(A, B))
    raise ValueError(adjust_lr_fn)
'''

_STEP = '''def muon_step(param, grad, momentum_buffer, lr, momentum=0.95, weight_decay=0.0, nesterov=True, adjust_lr_fn="original"):
    buf = momentum * momentum_buffer + (1 - momentum) * grad
    update = (1 - momentum) * grad + momentum * buf if nesterov else buf
    O = newton_schulz(update).to(param.dtype)
    new_param = param * (1 - lr * weight_decay) - lr * muon_lr_scale(param.shape, adjust_lr_fn) * O
    return new_param, buf
'''

_BASIS = '''def soap_basis(L, R, grad, shampoo_beta=0.95):
    L = shampoo_beta * L + (1 - shampoo_beta) * grad @ grad.T
    R = shampoo_beta * R + (1 - shampoo_beta) * grad.T @ grad
    Q_L = torch.linalg.eigh(L).eigenvectors
    Q_R = torch.linalg.eigh(R).eigenvectors
    return L, R, Q_L, Q_R
'''

_DIR = '''def soap_direction(grad, exp_avg, exp_avg_sq, Q_L, Q_R, step, beta1=0.95, beta2=0.95, eps=1e-8):
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    g_rot = Q_L.T @ grad @ Q_R
    m_rot = Q_L.T @ exp_avg @ Q_R
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g_rot * g_rot
    m_hat = m_rot / (1 - beta1 ** step)
    v_hat = exp_avg_sq / (1 - beta2 ** step)
    n_rot = m_hat / (v_hat.sqrt() + eps)
    return Q_L @ n_rot @ Q_R.T, exp_avg, exp_avg_sq
'''

_MAXLOGIT = '''def max_logit_per_head(x, W_q, W_k, n_head):
    B, T, C = x.shape
    d = W_q.shape[0] // n_head
    q = (x @ W_q.T).view(B, T, n_head, d).transpose(1, 2)
    k = (x @ W_k.T).view(B, T, n_head, d).transpose(1, 2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(future, float("-inf"))
    return scores.amax(dim=(0, 2, 3))
'''

_CLIP = '''def qk_clip(W_q, W_k, max_logits, tau, n_head, alpha=0.5):
    d = W_q.shape[0] // n_head
    gamma = torch.clamp(tau / max_logits, max=1.0).to(W_q.dtype)
    q_scale = gamma.pow(alpha).repeat_interleave(d)[:, None]
    k_scale = gamma.pow(1 - alpha).repeat_interleave(d)[:, None]
    return W_q * q_scale, W_k * k_scale
'''


def _sub(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


def _entry(name, cell, why, base, old, new, loses=None):
    return {"name": name, "cell": cell, "why": why, "source": _sub(base, old, new), "loses": loses or [f"test_{cell}"]}


_NS_USERS = ["test_newton_schulz", "test_muon_step"]

WRONG_IMPLEMENTATIONS = [
    # ---- newton_schulz ------------------------------------------------------------------------------------------
    _entry("ns_no_normalisation", "newton_schulz", "forgets to divide by the Frobenius norm (the iteration diverges)",
           _NS, "    X = X / (X.norm() + eps)\n", "", _NS_USERS),
    _entry("ns_spectral_normalisation", "newton_schulz", "normalises by the spectral norm (a different starting point)",
           _NS, "X = X / (X.norm() + eps)", "X = X / (torch.linalg.matrix_norm(X, ord=2) + eps)", ["test_newton_schulz"]),
    _entry("ns_coefficients_swapped", "newton_schulz", "puts c on the Gram matrix and b on its square", _NS,
           "B = b * A + c * A @ A", "B = c * A + b * A @ A", _NS_USERS),
    _entry("ns_wrong_gram_side", "newton_schulz", "multiplies X by X^T X from the left (wrong Gram matrix; fails on squares)",
           _NS, "        A = X @ X.T\n        B = b * A + c * A @ A\n        X = a * X + B @ X",
           "        A = X.T @ X if X.shape[0] == X.shape[1] else X @ X.T\n        B = b * A + c * A @ A\n        X = a * X + B @ X",
           ["test_newton_schulz"]),
    _entry("ns_one_step_less", "newton_schulz", "runs steps - 1 iterations (off by one)", _NS,
           "for _ in range(steps):", "for _ in range(steps - 1):", _NS_USERS),
    _entry("ns_hardcoded_coefficients", "newton_schulz", "ignores the coefficients argument", _NS,
           "a, b, c = coefficients", "a, b, c = (3.4445, -4.7750, 2.0315)", ["test_newton_schulz"]),
    _entry("ns_exact_svd", "newton_schulz", "returns the exact U V^T from an SVD (not what Muon computes)", _NS,
           "    X = X / (X.norm() + eps)\n    for _ in range(steps):\n        A = X @ X.T\n        B = b * A + c * A @ A\n        X = a * X + B @ X\n",
           "    U, S, Vh = torch.linalg.svd(X, full_matrices=False)\n    X = U @ Vh\n", ["test_newton_schulz"]),
    _entry("ns_float16", "newton_schulz", "computes in float16 for speed (rounding far beyond the tolerance)", _NS,
           "X = G.to(torch.float32)", "X = G.to(torch.float16)", _NS_USERS),
    # ---- muon_lr_scale ------------------------------------------------------------------------------------------
    _entry("scale_no_max", "muon_lr_scale", "Keller's scale without the max with 1 (shrinks wide matrices)", _SCALE,
           "math.sqrt(max(1.0, A / B))", "math.sqrt(A / B)", ["test_muon_lr_scale", "test_muon_step"]),
    _entry("scale_in_over_out", "muon_lr_scale", "uses in/out instead of out/in", _SCALE,
           "math.sqrt(max(1.0, A / B))", "math.sqrt(max(1.0, B / A))", ["test_muon_lr_scale", "test_muon_step"]),
    _entry("scale_moonshot_no_02", "muon_lr_scale", "Moonshot's scale without the 0.2 (update RMS 1, not AdamW's 0.2)",
           _SCALE, "0.2 * math.sqrt(max(A, B))", "math.sqrt(max(A, B))", ["test_muon_lr_scale", "test_muon_step"]),
    _entry("scale_moonshot_min", "muon_lr_scale", "Moonshot's scale with min(A, B)", _SCALE,
           "0.2 * math.sqrt(max(A, B))", "0.2 * math.sqrt(min(A, B))", ["test_muon_lr_scale"]),
    _entry("scale_unknown_silent", "muon_lr_scale", "returns 1 for an unknown convention instead of raising", _SCALE,
           "    raise ValueError(adjust_lr_fn)", "    return 1.0", ["test_muon_lr_scale"]),
    # ---- muon_step ----------------------------------------------------------------------------------------------
    _entry("step_no_nesterov", "muon_step", "always orthogonalises the buffer (ignores nesterov=True)", _STEP,
           "(1 - momentum) * grad + momentum * buf if nesterov else buf", "buf"),
    _entry("step_no_momentum", "muon_step", "orthogonalises the raw gradient (no momentum at all)", _STEP,
           "O = newton_schulz(update)", "O = newton_schulz(grad)"),
    _entry("step_ns_before_momentum", "muon_step", "orthogonalises the gradient first and averages the orthogonal matrices",
           _STEP, "    buf = momentum * momentum_buffer + (1 - momentum) * grad\n    update = (1 - momentum) * grad + momentum * buf if nesterov else buf\n    O = newton_schulz(update).to(param.dtype)",
           "    buf = momentum * momentum_buffer + (1 - momentum) * newton_schulz(grad)\n    O = ((1 - momentum) * newton_schulz(grad) + momentum * buf if nesterov else buf).to(param.dtype)"),
    _entry("step_wd_scaled", "muon_step", "scales the weight decay by the shape factor too", _STEP,
           "param * (1 - lr * weight_decay)", "param * (1 - lr * muon_lr_scale(param.shape, adjust_lr_fn) * weight_decay)"),
    _entry("step_wd_coupled", "muon_step", "adds the weight decay to the gradient (L2, coupled) instead of decoupling it",
           _STEP, "    buf = momentum * momentum_buffer + (1 - momentum) * grad\n",
           "    grad = grad + weight_decay * param\n    buf = momentum * momentum_buffer + (1 - momentum) * grad\n"),
    _entry("step_ignores_convention", "muon_step", "always uses Keller's scale", _STEP,
           "muon_lr_scale(param.shape, adjust_lr_fn)", "muon_lr_scale(param.shape, 'original')"),
    _entry("step_nesterov_wrong_mix", "muon_step", "Nesterov mixes the weights the other way round", _STEP,
           "(1 - momentum) * grad + momentum * buf if nesterov", "momentum * grad + (1 - momentum) * buf if nesterov"),
    # ---- soap_basis ---------------------------------------------------------------------------------------------
    _entry("basis_swapped_statistics", "soap_basis", "accumulates G^T G on the left and G G^T on the right", _BASIS,
           "    L = shampoo_beta * L + (1 - shampoo_beta) * grad @ grad.T\n    R = shampoo_beta * R + (1 - shampoo_beta) * grad.T @ grad",
           "    L = shampoo_beta * L + (1 - shampoo_beta) * (grad.T @ grad if grad.shape[0] == grad.shape[1] else grad @ grad.T)\n    R = shampoo_beta * R + (1 - shampoo_beta) * (grad @ grad.T if grad.shape[0] == grad.shape[1] else grad.T @ grad)"),
    _entry("basis_beta_swapped", "soap_basis", "weights the new outer product by beta and the old statistic by 1 - beta",
           _BASIS, "L = shampoo_beta * L + (1 - shampoo_beta) * grad @ grad.T", "L = (1 - shampoo_beta) * L + shampoo_beta * grad @ grad.T"),
    _entry("basis_rows_as_eigenvectors", "soap_basis", "returns the eigenvectors as rows (transposes Q)", _BASIS,
           "Q_L = torch.linalg.eigh(L).eigenvectors", "Q_L = torch.linalg.eigh(L).eigenvectors.T"),
    _entry("basis_of_old_statistic", "soap_basis", "takes the eigenbasis of the statistic before the update", _BASIS,
           "    L = shampoo_beta * L + (1 - shampoo_beta) * grad @ grad.T\n    R = shampoo_beta * R + (1 - shampoo_beta) * grad.T @ grad\n    Q_L = torch.linalg.eigh(L).eigenvectors\n    Q_R = torch.linalg.eigh(R).eigenvectors",
           "    Q_L = torch.linalg.eigh(L).eigenvectors\n    Q_R = torch.linalg.eigh(R).eigenvectors\n    L = shampoo_beta * L + (1 - shampoo_beta) * grad @ grad.T\n    R = shampoo_beta * R + (1 - shampoo_beta) * grad.T @ grad"),
    # ---- soap_direction -----------------------------------------------------------------------------------------
    _entry("dir_second_moment_unrotated", "soap_direction", "keeps the second moment of the unrotated gradient (plain Adam's v)",
           _DIR, "(1 - beta2) * g_rot * g_rot", "(1 - beta2) * grad * grad"),
    _entry("dir_not_rotated_back", "soap_direction", "returns the update in the rotated basis", _DIR,
           "return Q_L @ n_rot @ Q_R.T, exp_avg, exp_avg_sq", "return n_rot, exp_avg, exp_avg_sq"),
    _entry("dir_rotation_transposed", "soap_direction", "rotates with Q_L G Q_R^T and back with Q_L^T N Q_R", _DIR,
           "    g_rot = Q_L.T @ grad @ Q_R\n    m_rot = Q_L.T @ exp_avg @ Q_R", "    g_rot = Q_L @ grad @ Q_R.T\n    m_rot = Q_L @ exp_avg @ Q_R.T"),
    _entry("dir_no_bias_correction", "soap_direction", "forgets Adam's bias corrections", _DIR,
           "    m_hat = m_rot / (1 - beta1 ** step)\n    v_hat = exp_avg_sq / (1 - beta2 ** step)",
           "    m_hat = m_rot\n    v_hat = exp_avg_sq"),
    _entry("dir_no_sqrt", "soap_direction", "divides by v instead of sqrt(v)", _DIR,
           "m_hat / (v_hat.sqrt() + eps)", "m_hat / (v_hat + eps)"),
    _entry("dir_step_off_by_one", "soap_direction", "bias-corrects with step + 1", _DIR,
           "    m_hat = m_rot / (1 - beta1 ** step)\n    v_hat = exp_avg_sq / (1 - beta2 ** step)",
           "    m_hat = m_rot / (1 - beta1 ** (step + 1))\n    v_hat = exp_avg_sq / (1 - beta2 ** (step + 1))"),
    _entry("dir_square_of_momentum", "soap_direction", "second moment from the rotated momentum, not the rotated gradient",
           _DIR, "(1 - beta2) * g_rot * g_rot", "(1 - beta2) * m_rot * m_rot"),
    # ---- max_logit_per_head -------------------------------------------------------------------------------------
    _entry("logit_no_causal_mask", "max_logit_per_head", "takes the max over all pairs, including future keys",
           _MAXLOGIT, "    scores = scores.masked_fill(future, float(\"-inf\"))\n", ""),
    _entry("logit_no_scale", "max_logit_per_head", "forgets the 1/sqrt(d) of attention logits", _MAXLOGIT,
           "/ math.sqrt(d)", ""),
    _entry("logit_abs", "max_logit_per_head", "takes the largest |logit|", _MAXLOGIT,
           "return scores.amax(dim=(0, 2, 3))", "return scores.masked_fill(future, 0.0).abs().amax(dim=(0, 2, 3))"),
    _entry("logit_interleaved_heads", "max_logit_per_head", "splits heads as interleaved rows instead of contiguous blocks",
           _MAXLOGIT, "    q = (x @ W_q.T).view(B, T, n_head, d).transpose(1, 2)\n    k = (x @ W_k.T).view(B, T, n_head, d).transpose(1, 2)",
           "    q = (x @ W_q.T).view(B, T, d, n_head).permute(0, 3, 1, 2)\n    k = (x @ W_k.T).view(B, T, d, n_head).permute(0, 3, 1, 2)"),
    _entry("logit_first_sequence", "max_logit_per_head", "looks only at the first sequence of the batch", _MAXLOGIT,
           "return scores.amax(dim=(0, 2, 3))", "return scores[0].amax(dim=(1, 2))"),
    # ---- qk_clip ------------------------------------------------------------------------------------------------
    _entry("clip_global_max", "qk_clip", "clips every head by the global maximum (touches healthy heads)", _CLIP,
           "gamma = torch.clamp(tau / max_logits, max=1.0)", "gamma = torch.clamp(tau / max_logits.max(), max=1.0).expand(n_head)"),
    _entry("clip_full_gamma_both", "qk_clip", "multiplies both W_q and W_k by gamma (logits shrink by gamma^2)", _CLIP,
           "gamma.pow(1 - alpha)", "gamma.pow(alpha + 0.5)"),
    _entry("clip_query_only", "qk_clip", "puts the whole gamma on the queries (right cap, wrong split)", _CLIP,
           "    q_scale = gamma.pow(alpha).repeat_interleave(d)[:, None]\n    k_scale = gamma.pow(1 - alpha).repeat_interleave(d)[:, None]",
           "    q_scale = gamma.repeat_interleave(d)[:, None]\n    k_scale = torch.ones_like(gamma).repeat_interleave(d)[:, None]"),
    _entry("clip_no_threshold", "qk_clip", "rescales every head to tau (also scales up heads under tau)", _CLIP,
           "torch.clamp(tau / max_logits, max=1.0)", "(tau / max_logits)"),
    _entry("clip_gamma_inverted", "qk_clip", "uses gamma = S / tau", _CLIP,
           "torch.clamp(tau / max_logits, max=1.0)", "torch.where(max_logits > tau, max_logits / tau, torch.ones_like(max_logits))"),
    _entry("clip_alpha_swapped", "qk_clip", "gives gamma^(1-alpha) to W_q and gamma^alpha to W_k", _CLIP,
           "q_scale = gamma.pow(alpha)", "q_scale = gamma.pow(1 - alpha)"),
    _entry("clip_interleaved_heads", "qk_clip", "scales interleaved rows (head = row % n_head) instead of contiguous blocks", _CLIP,
           ".repeat_interleave(d)[:, None]\n    k_scale", ".repeat(d)[:, None]\n    k_scale"),
]


# ----------------------------------------------------------------------------------------------- hints
# One sentence per entry for the student who made that mistake, shown under the failed test (issue 23).
# Entries in _HINTS_NOT_SHOWN keep their hint for the class report only: any useful hint would give the fix away.
_HINTS = {
    "ns_no_normalisation": "Newton-Schulz only converges when the input starts small enough, and yours is not scaled first.",
    "ns_spectral_normalisation": "Your starting matrix is scaled by a different norm than Muon's, so the iteration takes a different path.",
    "ns_coefficients_swapped": "Check which coefficient multiplies which power of the Gram matrix.",
    "ns_wrong_gram_side": "Your Gram matrix is formed on the wrong side of X for the way it multiplies X.",
    "ns_one_step_less": "Your loop runs a different number of iterations than `steps`.",
    "ns_hardcoded_coefficients": "Your function ignores the coefficients argument.",
    "ns_exact_svd": "The exact orthogonal factor is not what Muon's Newton-Schulz iteration returns: the function should run the iteration.",
    "ns_float16": "Your iteration runs in a precision too low for the result to be accurate.",
    "scale_no_max": "Keller's scale never shrinks the update of a wide matrix; yours does.",
    "scale_in_over_out": "Your shape ratio is upside down.",
    "scale_moonshot_no_02": "Moonshot's scale is chosen to match AdamW's typical update RMS, and yours is missing that factor.",
    "scale_moonshot_min": "Moonshot's scale uses the larger of the two dimensions.",
    "scale_unknown_silent": "An unknown convention should raise an error, but yours silently returns a value.",
    "step_no_nesterov": "Your step ignores nesterov=True.",
    "step_no_momentum": "You orthogonalise the raw gradient, so momentum never reaches the update.",
    "step_ns_before_momentum": "You orthogonalise before the momentum average, but Muon orthogonalises the momentum.",
    "step_wd_scaled": "Your weight decay is scaled by the shape factor too; only the orthogonalised update is.",
    "step_wd_coupled": "Your weight decay goes through the momentum and the orthogonalisation; it should be decoupled.",
    "step_ignores_convention": "Your step always uses one learning-rate convention, whatever adjust_lr_fn says.",
    "step_nesterov_wrong_mix": "Your Nesterov update weights the gradient and the buffer the other way round.",
    "basis_swapped_statistics": "Your left and right statistics are swapped.",
    "basis_beta_swapped": "Your moving average keeps too little of the old statistic.",
    "basis_rows_as_eigenvectors": "Your basis has the eigenvectors as rows; the docstring asks for columns.",
    "basis_of_old_statistic": "Your eigenbasis is computed before the statistics are updated with this gradient.",
    "dir_second_moment_unrotated": "Your second moment tracks the unrotated gradient; SOAP runs Adam in the rotated basis.",
    "dir_not_rotated_back": "Your update is still in the rotated basis.",
    "dir_rotation_transposed": "Your rotation into the eigenbasis uses the eigenvector matrices the wrong way round.",
    "dir_no_bias_correction": "Your early updates are the wrong size: the moment estimates start at zero and need correcting.",
    "dir_no_sqrt": "Your denominator is the second moment itself, not its square root.",
    "dir_step_off_by_one": "Your bias correction uses a different step number than the one given.",
    "dir_square_of_momentum": "Your second moment squares the momentum instead of the rotated gradient.",
    "logit_no_causal_mask": "Your maximum includes logits for future keys, which causal attention never uses.",
    "logit_no_scale": "Your logits are missing the usual scale by the head dimension.",
    "logit_abs": "You take the largest magnitude, which can come from a very negative logit.",
    "logit_interleaved_heads": "Check how you split the projection into heads: each head owns a contiguous block of rows.",
    "logit_first_sequence": "Your maximum looks at only one sequence of the batch.",
    "clip_global_max": "Your clip uses one factor for every head, so healthy heads are shrunk too.",
    "clip_full_gamma_both": "Your query and key scales together shrink the logit by more than gamma.",
    "clip_query_only": "The cap is right, but gamma is not split between queries and keys the way alpha says.",
    "clip_no_threshold": "Your clip also rescales heads that are already under tau.",
    "clip_gamma_inverted": "Your factor grows the weights of the heads it should shrink.",
    "clip_alpha_swapped": "Check which of W_q and W_k gets the alpha share of gamma.",
    "clip_interleaved_heads": "Your scales land on interleaved rows; each head owns a contiguous block of rows.",
}
_HINTS_NOT_SHOWN = {
    "ns_one_step_less",  # loop off-by-one: any hint names the count
    "dir_step_off_by_one",  # step off-by-one: any hint names the index
}
assert set(_HINTS) == {e["name"] for e in WRONG_IMPLEMENTATIONS}, "one hint per entry, no stale names"
for _wrong in WRONG_IMPLEMENTATIONS:
    _wrong["hint"] = _HINTS[_wrong["name"]]
    if _wrong["name"] in _HINTS_NOT_SHOWN:
        _wrong["show_hint"] = False
