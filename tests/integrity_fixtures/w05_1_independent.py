"""Correct answers to w05-1's graded functions written independently of the solution, in two styles:
the integrity report must not flag them as similar to the solution or to each other."""

STYLE_A = {
    "adamw_step": '''def adamw_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    """One AdamW step (torch's convention). `state` is {} on the first call; return (new_param, new_state)."""
    if not state:
        state = {"t": 0, "m": torch.zeros_like(param), "v": torch.zeros_like(param)}
    t = state["t"] + 1
    m = state["m"].mul(betas[0]).add(grad, alpha=1 - betas[0])
    v = state["v"].mul(betas[1]).addcmul(grad, grad, value=1 - betas[1])
    decayed = param.mul(1 - lr * weight_decay)
    denom = (v / (1 - betas[1] ** t)).sqrt().add(eps)
    update = (m / (1 - betas[0] ** t)).div(denom)
    return decayed.sub(update, alpha=lr), {"t": t, "m": m, "v": v}
''',
    "adam_l2_step": '''def adam_l2_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    """One Adam step with an L2 penalty (weight_decay * param added to the gradient), as torch.optim.Adam does."""
    g = grad.add(param, alpha=weight_decay)
    if not state:
        state = {"t": 0, "m": torch.zeros_like(param), "v": torch.zeros_like(param)}
    t = state["t"] + 1
    m = state["m"].mul(betas[0]).add(g, alpha=1 - betas[0])
    v = state["v"].mul(betas[1]).addcmul(g, g, value=1 - betas[1])
    step_size = lr / (1 - betas[0] ** t)
    denom = (v / (1 - betas[1] ** t)).sqrt().add(eps)
    return param.addcdiv(m, denom, value=-step_size), {"t": t, "m": m, "v": v}
''',
    "lion_step": '''def lion_step(param, grad, state, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    """One Lion step. `state` is {} on the first call (momentum starts at 0); return (new_param, new_state)."""
    b1, b2 = betas
    prev = state["m"] if "m" in state else torch.zeros_like(param)
    interp = torch.lerp(grad, prev, b1)
    out = param.mul(1.0 - lr * weight_decay).add(interp.sign(), alpha=-lr)
    return out, {"m": torch.lerp(grad, prev, b2)}
''',
    "matrix_inverse_root": '''def matrix_inverse_root(A, p, eps=0.0):
    """(A + eps*I)^(-1/p) for a symmetric positive semi-definite matrix A (n, n), by eigendecomposition."""
    shifted = A + eps * torch.eye(A.shape[0], dtype=A.dtype)
    lam, Q = torch.linalg.eigh(shifted)
    scaled = Q * lam ** (-1.0 / p)
    return scaled @ Q.transpose(0, 1)
''',
    "shampoo_step": '''def shampoo_step(param, grad, state, lr=1e-1, beta=1.0, eps=1e-6, update_freq=1):
    """One Shampoo step for a matrix parameter (m, n). `state` is {} on the first call."""
    rows, cols = param.shape
    t = state.get("t", 0)
    L = state["L"] if "L" in state else torch.zeros(rows, rows, dtype=param.dtype)
    R = state["R"] if "R" in state else torch.zeros(cols, cols, dtype=param.dtype)
    L = L * beta + torch.einsum("ik,jk->ij", grad, grad)
    R = R * beta + torch.einsum("ki,kj->ij", grad, grad)
    refresh = t % update_freq == 0
    PL = matrix_inverse_root(L, 4, eps) if refresh else state["PL"]
    PR = matrix_inverse_root(R, 4, eps) if refresh else state["PR"]
    precond = torch.linalg.multi_dot([PL, grad, PR])
    return param - lr * precond, dict(t=t + 1, L=L, R=R, PL=PL, PR=PR)
''',
    "steepest_descent_direction": '''def steepest_descent_direction(grad, norm):
    """The unit-norm direction d maximising <grad, d>, for norm in {"euclidean", "infinity", "spectral"}."""
    table = {
        "euclidean": lambda g: g / g.pow(2).sum().sqrt(),
        "infinity": lambda g: g.sign(),
    }
    if norm in table:
        return table[norm](grad)
    if norm != "spectral":
        raise ValueError(norm)
    u, s, v = torch.svd(grad)
    return u @ v.T
''',
}

STYLE_B = {
    "adamw_step": '''def adamw_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    """One AdamW step (torch's convention). `state` is {} on the first call; return (new_param, new_state)."""
    new = dict(state)
    new["n"] = state.get("n", 0) + 1
    for key, beta, val in (("first", betas[0], grad), ("second", betas[1], grad ** 2)):
        old = state.get(key)
        if old is None:
            old = 0 * param
        new[key] = old + (1 - beta) * (val - old)
    bc1 = 1 - betas[0] ** new["n"]
    bc2 = 1 - betas[1] ** new["n"]
    p = param - lr * weight_decay * param
    p = p - lr * (new["first"] / bc1) / (torch.sqrt(new["second"] / bc2) + eps)
    return p, new
''',
    "adam_l2_step": '''def adam_l2_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    """One Adam step with an L2 penalty (weight_decay * param added to the gradient), as torch.optim.Adam does."""
    penalised = grad + param * weight_decay
    new = dict(state)
    new["n"] = state.get("n", 0) + 1
    for key, beta, val in (("first", betas[0], penalised), ("second", betas[1], penalised ** 2)):
        old = state.get(key)
        if old is None:
            old = 0 * param
        new[key] = old + (1 - beta) * (val - old)
    corr = (1 - betas[1] ** new["n"]) ** 0.5 / (1 - betas[0] ** new["n"])
    denom = torch.sqrt(new["second"]) / (1 - betas[1] ** new["n"]) ** 0.5 + eps
    return param - lr * corr * (1 - betas[1] ** new["n"]) ** -0.5 * new["first"] / denom * (1 - betas[1] ** new["n"]) ** 0.5, new
''',
    "lion_step": '''def lion_step(param, grad, state, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    """One Lion step. `state` is {} on the first call (momentum starts at 0); return (new_param, new_state)."""
    m = state.get("mom")
    m = torch.zeros_like(grad) if m is None else m
    c = m * betas[0] + grad * (1 - betas[0])
    update = torch.where(c > 0, 1.0, torch.where(c < 0, -1.0, 0.0)).to(param.dtype)
    nxt = param - lr * (update + weight_decay * param)
    state = {"mom": m * betas[1] + grad * (1 - betas[1])}
    return nxt, state
''',
    "matrix_inverse_root": '''def matrix_inverse_root(A, p, eps=0.0):
    """(A + eps*I)^(-1/p) for a symmetric positive semi-definite matrix A (n, n), by eigendecomposition."""
    M = A.clone()
    M.diagonal().add_(eps)
    w, V = torch.linalg.eigh(M)
    out = torch.zeros_like(M)
    for i in range(w.shape[0]):
        out += w[i] ** (-1 / p) * torch.outer(V[:, i], V[:, i])
    return out
''',
    "shampoo_step": '''def shampoo_step(param, grad, state, lr=1e-1, beta=1.0, eps=1e-6, update_freq=1):
    """One Shampoo step for a matrix parameter (m, n). `state` is {} on the first call."""
    st = {"k": 0, **state}
    if "stats" not in st:
        st["stats"] = [torch.zeros(s, s, dtype=param.dtype) for s in param.shape]
    gg = [grad @ grad.mT, grad.mT @ grad]
    st["stats"] = [beta * old + new for old, new in zip(st["stats"], gg)]
    if st["k"] % update_freq == 0:
        st["roots"] = [matrix_inverse_root(S, 4, eps) for S in st["stats"]]
    st["k"] += 1
    left, right = st["roots"]
    return param - lr * (left @ (grad @ right)), st
''',
    "steepest_descent_direction": '''def steepest_descent_direction(grad, norm):
    """The unit-norm direction d maximising <grad, d>, for norm in {"euclidean", "infinity", "spectral"}."""
    if norm == "spectral":
        U, S, Vh = torch.linalg.svd(grad, full_matrices=False)
        return torch.einsum("ik,kj->ij", U, Vh)
    elif norm == "infinity":
        return grad.sign()
    elif norm == "euclidean":
        return grad.div(grad.norm())
    else:
        raise ValueError("norm must be euclidean, infinity or spectral")
''',
}
