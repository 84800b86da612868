"""Wrong implementations for lab w05-1 (AdamW, Lion, Shampoo, Old Optimizer New Norm).

Each entry replaces one answer cell of weeks/w05-1-optimizers/solution.ipynb (format: tests/catalog/__init__.py).
"""

_ADAMW = '''def adamw_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    beta1, beta2 = betas
    step = state.get("step", 0) + 1
    m = state.get("m", torch.zeros_like(param))
    v = state.get("v", torch.zeros_like(param))
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** step)
    v_hat = v / (1 - beta2 ** step)
    new_param = param * (1 - lr * weight_decay) - lr * m_hat / (v_hat.sqrt() + eps)
    return new_param, {"step": step, "m": m, "v": v}
'''

_ADAML2 = '''def adam_l2_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    beta1, beta2 = betas
    grad = grad + weight_decay * param
    step = state.get("step", 0) + 1
    m = beta1 * state.get("m", torch.zeros_like(param)) + (1 - beta1) * grad
    v = beta2 * state.get("v", torch.zeros_like(param)) + (1 - beta2) * grad * grad
    new_param = param - lr * (m / (1 - beta1 ** step)) / ((v / (1 - beta2 ** step)).sqrt() + eps)
    return new_param, {"step": step, "m": m, "v": v}
'''

_LION = '''def lion_step(param, grad, state, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    beta1, beta2 = betas
    m = state.get("m", torch.zeros_like(param))
    c = beta1 * m + (1 - beta1) * grad
    new_param = param * (1 - lr * weight_decay) - lr * torch.sign(c)
    return new_param, {"m": beta2 * m + (1 - beta2) * grad}
'''

_ROOT = '''def matrix_inverse_root(A, p, eps=0.0):
    n = A.shape[-1]
    evals, evecs = torch.linalg.eigh(A + eps * torch.eye(n, dtype=A.dtype))
    return evecs @ torch.diag(evals.pow(-1.0 / p)) @ evecs.T
'''

_SHAMPOO = '''def shampoo_step(param, grad, state, lr=1e-1, beta=1.0, eps=1e-6, update_freq=1):
    m, n = param.shape
    step = state.get("step", 0) + 1
    L = beta * state.get("L", torch.zeros(m, m, dtype=param.dtype)) + grad @ grad.T
    R = beta * state.get("R", torch.zeros(n, n, dtype=param.dtype)) + grad.T @ grad
    if (step - 1) % update_freq == 0:
        PL = matrix_inverse_root(L, 4, eps)
        PR = matrix_inverse_root(R, 4, eps)
    else:
        PL, PR = state["PL"], state["PR"]
    return param - lr * PL @ grad @ PR, {"step": step, "L": L, "R": R, "PL": PL, "PR": PR}
'''

_SD = '''def steepest_descent_direction(grad, norm):
    if norm == "euclidean":
        return grad / torch.linalg.norm(grad)
    if norm == "infinity":
        return torch.sign(grad)
    if norm == "spectral":
        U, S, Vh = torch.linalg.svd(grad, full_matrices=False)
        return U @ Vh
    raise ValueError(norm)
'''


def _sub(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


def _entry(name, cell, why, base, old, new, loses=None):
    return {"name": name, "cell": cell, "why": why, "source": _sub(base, old, new), "loses": loses or [f"test_{cell}"]}


WRONG_IMPLEMENTATIONS = [
    # ---- adamw_step -----------------------------------------------------------------------------------------------
    _entry("adamw_no_bias_correction", "adamw_step", "forgets the bias corrections of both moments", _ADAMW,
           "    m_hat = m / (1 - beta1 ** step)\n    v_hat = v / (1 - beta2 ** step)", "    m_hat = m\n    v_hat = v"),
    _entry("adamw_bias_correction_first_only", "adamw_step", "bias-corrects the first moment only", _ADAMW,
           "v_hat = v / (1 - beta2 ** step)", "v_hat = v"),
    _entry("adamw_eps_inside_sqrt", "adamw_step", "adds eps inside the square root", _ADAMW,
           "(v_hat.sqrt() + eps)", "(v_hat + eps).sqrt()"),
    _entry("adamw_l2_not_decoupled", "adamw_step", "adds weight_decay * param to the gradient (Adam + L2, not AdamW)", _ADAMW,
           "    m = beta1 * m + (1 - beta1) * grad\n    v = beta2 * v + (1 - beta2) * grad * grad",
           "    grad = grad + weight_decay * param\n    m = beta1 * m + (1 - beta1) * grad\n    v = beta2 * v + (1 - beta2) * grad * grad\n    weight_decay = 0.0"),
    _entry("adamw_decay_not_times_lr", "adamw_step", "decays by (1 - weight_decay), not (1 - lr*weight_decay)", _ADAMW,
           "param * (1 - lr * weight_decay)", "param * (1 - weight_decay)"),
    _entry("adamw_decay_after_update", "adamw_step", "applies the decay to the already-updated parameter", _ADAMW,
           "new_param = param * (1 - lr * weight_decay) - lr * m_hat / (v_hat.sqrt() + eps)",
           "new_param = (param - lr * m_hat / (v_hat.sqrt() + eps)) * (1 - lr * weight_decay)"),
    _entry("adamw_step_not_counted", "adamw_step", "never increments the step count (bias correction stuck at t = 1)", _ADAMW,
           'return new_param, {"step": step,', 'return new_param, {"step": 0,'),
    _entry("adamw_abs_second_moment", "adamw_step", "averages |g| instead of g^2 in the second moment", _ADAMW,
           "(1 - beta2) * grad * grad", "(1 - beta2) * grad.abs()"),
    _entry("adamw_swapped_betas", "adamw_step", "uses beta2 for the first moment and beta1 for the second", _ADAMW,
           "beta1, beta2 = betas", "beta2, beta1 = betas"),
    # ---- adam_l2_step ---------------------------------------------------------------------------------------------
    _entry("adam_l2_decoupled", "adam_l2_step", "decays outside the adaptive step (that is AdamW)", _ADAML2,
           "    grad = grad + weight_decay * param\n", "    param = param * (1 - lr * weight_decay)\n"),
    _entry("adam_l2_half_penalty", "adam_l2_step", "uses the gradient of weight_decay*|p|^2 with a factor 1/2 twice (0.5*wd*p)", _ADAML2,
           "grad + weight_decay * param", "grad + 0.5 * weight_decay * param"),
    _entry("adam_l2_penalty_in_first_moment_only", "adam_l2_step", "adds the penalty to the first moment but not the second", _ADAML2,
           "    grad = grad + weight_decay * param\n    step = state.get(\"step\", 0) + 1\n    m = beta1 * state.get(\"m\", torch.zeros_like(param)) + (1 - beta1) * grad",
           "    step = state.get(\"step\", 0) + 1\n    m = beta1 * state.get(\"m\", torch.zeros_like(param)) + (1 - beta1) * (grad + weight_decay * param)"),
    # ---- lion_step ------------------------------------------------------------------------------------------------
    _entry("lion_sign_of_new_momentum", "lion_step", "takes the sign of the updated momentum (beta2), not the beta1 interpolation", _LION,
           "c = beta1 * m + (1 - beta1) * grad", "c = beta2 * m + (1 - beta2) * grad"),
    _entry("lion_momentum_with_beta1", "lion_step", "updates the momentum with beta1 (one beta for both roles)", _LION,
           '{"m": beta2 * m + (1 - beta2) * grad}', '{"m": beta1 * m + (1 - beta1) * grad}'),
    _entry("lion_momentum_stores_c", "lion_step", "stores the interpolation c as the next momentum", _LION,
           '{"m": beta2 * m + (1 - beta2) * grad}', '{"m": c}'),
    _entry("lion_no_decay", "lion_step", "ignores weight_decay", _LION,
           "param * (1 - lr * weight_decay)", "param"),
    _entry("lion_decay_not_times_lr", "lion_step", "decays by (1 - weight_decay)", _LION,
           "param * (1 - lr * weight_decay)", "param * (1 - weight_decay)"),
    _entry("lion_normalised_not_sign", "lion_step", "divides c by its max magnitude instead of taking the sign", _LION,
           "torch.sign(c)", "c / c.abs().max().clamp(min=1e-12)"),
    _entry("lion_sign_of_gradient", "lion_step", "uses sign(g) (signSGD, no momentum)", _LION,
           "torch.sign(c)", "torch.sign(grad)"),
    _entry("lion_sign_zero_as_one", "lion_step", "treats sign(0) as +1 (torch.where(c >= 0, 1, -1))", _LION,
           "torch.sign(c)", "torch.where(c >= 0, 1.0, -1.0).to(param.dtype)"),
    # ---- matrix_inverse_root --------------------------------------------------------------------------------------
    _entry("root_elementwise", "matrix_inverse_root", "raises each entry to the power -1/p", _ROOT,
           "    evals, evecs = torch.linalg.eigh(A + eps * torch.eye(n, dtype=A.dtype))\n    return evecs @ torch.diag(evals.pow(-1.0 / p)) @ evecs.T",
           "    return (A + eps * torch.eye(n, dtype=A.dtype)).pow(-1.0 / p)"),
    _entry("root_exponent_minus_p", "matrix_inverse_root", "uses the exponent -p instead of -1/p", _ROOT,
           "evals.pow(-1.0 / p)", "evals.pow(-float(p))"),
    _entry("root_transposed_reconstruction", "matrix_inverse_root", "rebuilds as Q^T diag Q instead of Q diag Q^T", _ROOT,
           "evecs @ torch.diag(evals.pow(-1.0 / p)) @ evecs.T", "evecs.T @ torch.diag(evals.pow(-1.0 / p)) @ evecs"),
    _entry("root_eps_ignored", "matrix_inverse_root", "forgets eps", _ROOT,
           "torch.linalg.eigh(A + eps * torch.eye(n, dtype=A.dtype))", "torch.linalg.eigh(A)"),
    _entry("root_positive_power", "matrix_inverse_root", "computes the root, not the inverse root", _ROOT,
           "evals.pow(-1.0 / p)", "evals.pow(1.0 / p)"),
    # ---- shampoo_step ---------------------------------------------------------------------------------------------
    _entry("shampoo_inverse_square_root", "shampoo_step", "uses (L)^(-1/2) and (R)^(-1/2) (the full-matrix AdaGrad exponent on each side)",
           _SHAMPOO, "matrix_inverse_root(L, 4, eps)\n        PR = matrix_inverse_root(R, 4, eps)",
           "matrix_inverse_root(L, 2, eps)\n        PR = matrix_inverse_root(R, 2, eps)"),
    _entry("shampoo_left_only", "shampoo_step", "preconditions on the left only, with L^(-1/2)", _SHAMPOO,
           "return param - lr * PL @ grad @ PR,", "return param - lr * matrix_inverse_root(L, 2, eps) @ grad,"),
    _entry("shampoo_ignores_update_freq", "shampoo_step", "recomputes the roots at every step", _SHAMPOO,
           "if (step - 1) % update_freq == 0:", "if True:"),
    _entry("shampoo_stale_statistics", "shampoo_step", "only accumulates L and R on the steps where the roots are recomputed",
           _SHAMPOO, '{"step": step, "L": L, "R": R,',
           '{"step": step, "L": L if (step - 1) % update_freq == 0 else state["L"], "R": R if (step - 1) % update_freq == 0 else state["R"],'),
    _entry("shampoo_ema_weights", "shampoo_step", "accumulates with (1 - beta) on the new term (an EMA)", _SHAMPOO,
           "+ grad @ grad.T\n", "+ (1 - beta) * grad @ grad.T\n"),
    _entry("shampoo_no_eps", "shampoo_step", "forgets eps when taking the roots", _SHAMPOO,
           "matrix_inverse_root(L, 4, eps)\n        PR = matrix_inverse_root(R, 4, eps)",
           "matrix_inverse_root(L, 4)\n        PR = matrix_inverse_root(R, 4)"),
    _entry("shampoo_reset_statistics", "shampoo_step", "keeps only the current G G^T (ignores beta: no accumulation)", _SHAMPOO,
           "L = beta * state.get", "L = 0 * state.get"),
    # ---- steepest_descent_direction ------------------------------------------------------------------------------
    _entry("sd_spectral_normalised_gradient", "steepest_descent_direction", "spectral: divides by the spectral norm instead of orthogonalising", _SD,
           "        U, S, Vh = torch.linalg.svd(grad, full_matrices=False)\n        return U @ Vh",
           "        return grad / torch.linalg.matrix_norm(grad, ord=2)"),
    _entry("sd_spectral_newton_schulz", "steepest_descent_direction", "spectral: Muon's 5-step quintic Newton-Schulz (an approximation)", _SD,
           "        U, S, Vh = torch.linalg.svd(grad, full_matrices=False)\n        return U @ Vh",
           "        a, b, c = 3.4445, -4.7750, 2.0315\n        X = grad / (torch.linalg.norm(grad) + 1e-7)\n"
           "        tall = X.shape[0] > X.shape[1]\n        X = X.T if tall else X\n"
           "        for _ in range(5):\n            A = X @ X.T\n            X = a * X + (b * A + c * A @ A) @ X\n"
           "        return X.T if tall else X"),
    _entry("sd_infinity_normalised", "steepest_descent_direction", "max-norm: returns g / max|g| instead of sign(g)", _SD,
           "        return torch.sign(grad)", "        return grad / grad.abs().max()"),
    _entry("sd_infinity_l1_normalised", "steepest_descent_direction", "max-norm: returns sign(g) divided by the number of entries", _SD,
           "        return torch.sign(grad)", "        return torch.sign(grad) / grad.numel()"),
    _entry("sd_euclidean_unnormalised", "steepest_descent_direction", "Euclidean: returns the raw gradient", _SD,
           "        return grad / torch.linalg.norm(grad)", "        return grad"),
    _entry("sd_spectral_keeps_singular_values", "steepest_descent_direction", "spectral: returns U sqrt(S) V^T", _SD,
           "        return U @ Vh", "        return U @ torch.diag(S.sqrt()) @ Vh"),
    _entry("sd_spectral_normalised_by_nuclear", "steepest_descent_direction", "spectral: returns g / nuclear norm", _SD,
           "        U, S, Vh = torch.linalg.svd(grad, full_matrices=False)\n        return U @ Vh",
           "        return grad / torch.linalg.matrix_norm(grad, ord='nuc')"),
]


# ----------------------------------------------------------------------------------------------- hints
# One sentence per entry for the student who made that mistake, shown under the failed test (issue 23).
# Entries in _HINTS_NOT_SHOWN keep their hint for the class report only: any useful hint would give the fix away.
_HINTS = {
    "adamw_no_bias_correction": "The early steps of your optimiser are the wrong size: both moment estimates start at zero and need correcting.",
    "adamw_bias_correction_first_only": "The early steps of your optimiser are the wrong size: one of the two moment estimates is not bias-corrected.",
    "adamw_eps_inside_sqrt": "Your eps sits in a different place in the denominator than torch.optim.AdamW's.",
    "adamw_l2_not_decoupled": "Your weight decay goes through the adaptive moments; AdamW's does not.",
    "adamw_decay_not_times_lr": "Your weight decay does not scale with the learning rate the way torch.optim.AdamW's does.",
    "adamw_decay_after_update": "Your weight decay is applied at a different moment of the step than torch.optim.AdamW's.",
    "adamw_step_not_counted": "Your bias correction never moves past the first step, because the step count you return does not advance.",
    "adamw_abs_second_moment": "Your second moment averages something other than the squared gradient.",
    "adamw_swapped_betas": "Check which beta belongs to which moment.",
    "adam_l2_decoupled": "Your decay bypasses the adaptive step, which makes it AdamW rather than Adam with an L2 penalty.",
    "adam_l2_half_penalty": "Your penalty gradient is half of what weight_decay asks for.",
    "adam_l2_penalty_in_first_moment_only": "The penalty's gradient reaches only one of your two moments.",
    "lion_sign_of_new_momentum": "Lion's update direction interpolates with beta1; the beta2 interpolation is only for the momentum it keeps.",
    "lion_momentum_with_beta1": "Your momentum is tracked with the beta meant for the update direction.",
    "lion_momentum_stores_c": "The state you return is the update direction's interpolation, not the momentum Lion keeps.",
    "lion_no_decay": "Your step ignores weight_decay.",
    "lion_decay_not_times_lr": "Your weight decay does not scale with the learning rate.",
    "lion_normalised_not_sign": "Lion's update has the same magnitude in every coordinate; yours does not.",
    "lion_sign_of_gradient": "Your update direction ignores the momentum.",
    "lion_sign_zero_as_one": "Your update moves coordinates whose interpolation is exactly zero.",
    "root_elementwise": "Your power acts entry by entry; a matrix power acts on the eigenvalues.",
    "root_exponent_minus_p": "Your exponent is not the p-th inverse root.",
    "root_transposed_reconstruction": "Your reconstruction from the eigendecomposition puts the eigenvectors on the wrong sides.",
    "root_eps_ignored": "Your function ignores eps, so it blows up on singular matrices.",
    "root_positive_power": "You compute the root, not the inverse root.",
    "shampoo_inverse_square_root": "With a preconditioner on each side, each side's exponent is not the one full-matrix AdaGrad uses.",
    "shampoo_left_only": "Your update is preconditioned on one side only.",
    "shampoo_ignores_update_freq": "Your roots are recomputed at every step, ignoring update_freq.",
    "shampoo_stale_statistics": "Your statistics only accumulate on the steps where the roots are recomputed, but they should accumulate at every step.",
    "shampoo_ema_weights": "Your statistics are an exponential moving average; Shampoo adds the new term with weight 1.",
    "shampoo_no_eps": "Your roots are taken without eps.",
    "shampoo_reset_statistics": "One of your statistics forgets the past instead of accumulating.",
    "sd_spectral_normalised_gradient": "Dividing by a norm keeps the gradient's singular-value spread; steepest descent under the spectral norm gives them all the same value.",
    "sd_spectral_newton_schulz": "Newton-Schulz only approximates the exact direction the function asks for.",
    "sd_infinity_normalised": "Steepest descent under the max-norm moves every coordinate by the same amount.",
    "sd_infinity_l1_normalised": "Your max-norm direction has the wrong size: under this norm the direction has norm 1.",
    "sd_euclidean_unnormalised": "Your Euclidean direction does not have unit norm.",
    "sd_spectral_keeps_singular_values": "Your spectral direction still depends on the singular values.",
    "sd_spectral_normalised_by_nuclear": "Dividing by a norm keeps the gradient's singular-value spread; steepest descent under the spectral norm gives them all the same value.",
}
_HINTS_NOT_SHOWN: set[str] = set()
assert set(_HINTS) == {e["name"] for e in WRONG_IMPLEMENTATIONS}, "one hint per entry, no stale names"
for _wrong in WRONG_IMPLEMENTATIONS:
    _wrong["hint"] = _HINTS[_wrong["name"]]
    if _wrong["name"] in _HINTS_NOT_SHOWN:
        _wrong["show_hint"] = False
