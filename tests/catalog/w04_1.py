"""Wrong implementations for lab w04-1 (Kaplan power laws, Chinchilla's three approaches, inference-aware scaling).

Each entry replaces one answer cell of weeks/w04-1-scaling-laws/solution.ipynb (format: tests/catalog/__init__.py).
"""

_FIT = ["test_fit_chinchilla"]

WRONG_IMPLEMENTATIONS = [
    # ------------------------------------------------------------------ fit_power_law
    {
        "name": "power_law_linear_space",
        "cell": "fit_power_law",
        "why": "least squares on y itself (for each exponent the best coef in closed form), not on log y",
        "source": """def fit_power_law(x, y):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    best = None
    for k in np.linspace(-2.0, 2.0, 40001):
        basis = x ** (-k)
        c = float(basis @ y / (basis @ basis))
        sse = float(((y - c * basis) ** 2).sum())
        if best is None or sse < best[0]:
            best = (sse, c, float(k))
    return best[1], best[2]
""",
        "loses": ["test_fit_power_law"],
    },
    {
        "name": "power_law_sign_of_slope",
        "cell": "fit_power_law",
        "why": "returns the slope of the log-log line as the exponent, forgetting y = c x^(-exponent)",
        "source": """def fit_power_law(x, y):
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(np.exp(intercept)), float(slope)
""",
        "loses": ["test_fit_power_law"],
    },
    {
        "name": "power_law_log10_then_exp",
        "cell": "fit_power_law",
        "why": "fits in log10 but inverts the intercept with exp",
        "source": """def fit_power_law(x, y):
    slope, intercept = np.polyfit(np.log10(x), np.log10(y), 1)
    return float(np.exp(intercept)), float(-slope)
""",
        "loses": ["test_fit_power_law"],
    },
    {
        "name": "power_law_two_endpoints",
        "cell": "fit_power_law",
        "why": "draws the line through the first and last points instead of a least-squares fit",
        "source": """def fit_power_law(x, y):
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    slope = (ly[-1] - ly[0]) / (lx[-1] - lx[0])
    return float(np.exp(ly[0] - slope * lx[0])), float(-slope)
""",
        "loses": ["test_fit_power_law"],
    },
    {
        "name": "power_law_semilog",
        "cell": "fit_power_law",
        "why": "regresses log y on x (an exponential fit) instead of on log x",
        "source": """def fit_power_law(x, y):
    slope, intercept = np.polyfit(np.asarray(x, float), np.log(y), 1)
    return float(np.exp(intercept)), float(-slope)
""",
        "loses": ["test_fit_power_law"],
    },
    # ------------------------------------------------------------------ pareto_frontier
    {
        "name": "frontier_every_run",
        "cell": "pareto_frontier",
        "why": "takes the best run at each compute value, which with one run per compute is every run",
        "source": """def pareto_frontier(compute, loss):
    return [int(i) for i in np.argsort(np.asarray(compute, float))]
""",
        "loses": ["test_pareto_frontier"],
    },
    {
        "name": "frontier_input_order",
        "cell": "pareto_frontier",
        "why": "scans the runs in the order given, not in order of compute",
        "source": """def pareto_frontier(compute, loss):
    out, best = [], math.inf
    for i, l in enumerate(loss):
        if l < best:
            out.append(i)
            best = l
    return out
""",
        "loses": ["test_pareto_frontier"],
    },
    {
        "name": "frontier_beats_previous_only",
        "cell": "pareto_frontier",
        "why": "keeps a run when it beats the previous (cheaper) run, not every cheaper run",
        "source": """def pareto_frontier(compute, loss):
    order = np.argsort(np.asarray(compute, float))
    out = [int(order[0])]
    for prev, i in zip(order[:-1], order[1:]):
        if loss[i] < loss[prev]:
            out.append(int(i))
    return out
""",
        "loses": ["test_pareto_frontier"],
    },
    {
        "name": "frontier_sorted_by_loss",
        "cell": "pareto_frontier",
        "why": "returns the envelope runs ordered by loss (best first) rather than by compute",
        "source": """def pareto_frontier(compute, loss):
    out, best = [], math.inf
    for i in np.argsort(np.asarray(compute, float)):
        if loss[i] < best:
            out.append(int(i))
            best = loss[i]
    return sorted(out, key=lambda i: loss[i])
""",
        "loses": ["test_pareto_frontier"],
    },
    # ------------------------------------------------------------------ isoflop_optimum
    {
        "name": "isoflop_parabola_in_n",
        "cell": "isoflop_optimum",
        "why": "fits the parabola in N rather than in log N",
        "source": """def isoflop_optimum(n_params, loss):
    a, b, _ = np.polyfit(np.asarray(n_params, float), np.asarray(loss, float), 2)
    return float(-b / (2 * a))
""",
        "loses": ["test_isoflop_optimum"],
    },
    {
        "name": "isoflop_vertex_missing_half",
        "cell": "isoflop_optimum",
        "why": "puts the vertex at -b/a instead of -b/(2a)",
        "source": """def isoflop_optimum(n_params, loss):
    a, b, _ = np.polyfit(np.log(np.asarray(n_params, float)), np.asarray(loss, float), 2)
    return float(np.exp(-b / a))
""",
        "loses": ["test_isoflop_optimum"],
    },
    {
        "name": "isoflop_best_sample",
        "cell": "isoflop_optimum",
        "why": "returns the best trained size instead of the vertex of the fitted parabola",
        "source": """def isoflop_optimum(n_params, loss):
    return float(np.asarray(n_params, float)[int(np.argmin(loss))])
""",
        "loses": ["test_isoflop_optimum"],
    },
    {
        "name": "isoflop_log10_fit_exp_vertex",
        "cell": "isoflop_optimum",
        "why": "fits in log10 N but converts the vertex back with exp",
        "source": """def isoflop_optimum(n_params, loss):
    a, b, _ = np.polyfit(np.log10(np.asarray(n_params, float)), np.asarray(loss, float), 2)
    return float(np.exp(-b / (2 * a)))
""",
        "loses": ["test_isoflop_optimum"],
    },
    # ------------------------------------------------------------------ chinchilla_objective
    {
        "name": "objective_huber_on_loss_not_log",
        "cell": "chinchilla_objective",
        "why": "Huber loss of L_hat - L in linear space instead of log L_hat - log L",
        "source": """def chinchilla_objective(params, n_params, tokens, loss, delta=1e-3):
    p = torch.as_tensor(params, dtype=torch.float64)
    n, d, l = (torch.as_tensor(v, dtype=torch.float64) for v in (n_params, tokens, loss))
    pred = torch.exp(p[2]) + torch.exp(p[0]) / n ** p[3] + torch.exp(p[1]) / d ** p[4]
    return torch.nn.functional.huber_loss(pred, l, reduction="sum", delta=delta)
""",
        "loses": ["test_chinchilla_objective"],  # on near-clean data the linear-space fit lands close by
    },
    {
        "name": "objective_squared_error",
        "cell": "chinchilla_objective",
        "why": "plain squared error of the log residuals: no Huber, outliers count quadratically",
        "source": """def chinchilla_objective(params, n_params, tokens, loss, delta=1e-3):
    p = torch.as_tensor(params, dtype=torch.float64)
    n, d, l = (torch.as_tensor(v, dtype=torch.float64) for v in (n_params, tokens, loss))
    log_pred = torch.logsumexp(torch.stack([p[0] - p[3] * n.log(), p[1] - p[4] * d.log(), p[2].expand(len(n))]), 0)
    return (0.5 * (log_pred - l.log()) ** 2).sum()
""",
        "loses": ["test_chinchilla_objective"] + _FIT,
    },
    {
        "name": "objective_mean_not_sum",
        "cell": "chinchilla_objective",
        "why": "averages the Huber losses over runs instead of summing them",
        "source": """def chinchilla_objective(params, n_params, tokens, loss, delta=1e-3):
    p = torch.as_tensor(params, dtype=torch.float64)
    n, d, l = (torch.as_tensor(v, dtype=torch.float64) for v in (n_params, tokens, loss))
    log_pred = torch.logsumexp(torch.stack([p[0] - p[3] * n.log(), p[1] - p[4] * d.log(), p[2].expand(len(n))]), 0)
    return torch.nn.functional.huber_loss(log_pred, l.log(), reduction="mean", delta=delta)
""",
        "loses": ["test_chinchilla_objective"],
    },
    {
        "name": "objective_huber_linear_branch_no_offset",
        "cell": "chinchilla_objective",
        "why": "linear branch delta*|r| without the -delta/2 that makes the Huber loss continuous",
        "source": """def chinchilla_objective(params, n_params, tokens, loss, delta=1e-3):
    p = torch.as_tensor(params, dtype=torch.float64)
    n, d, l = (torch.as_tensor(v, dtype=torch.float64) for v in (n_params, tokens, loss))
    log_pred = torch.logsumexp(torch.stack([p[0] - p[3] * n.log(), p[1] - p[4] * d.log(), p[2].expand(len(n))]), 0)
    r = log_pred - l.log()
    return torch.where(r.abs() <= delta, 0.5 * r ** 2, delta * r.abs()).sum()
""",
        "loses": ["test_chinchilla_objective"],
    },
    {
        "name": "objective_forgets_irreducible_term",
        "cell": "chinchilla_objective",
        "why": "log-sum-exp over the two power-law terms only, dropping e = log E",
        "source": """def chinchilla_objective(params, n_params, tokens, loss, delta=1e-3):
    p = torch.as_tensor(params, dtype=torch.float64)
    n, d, l = (torch.as_tensor(v, dtype=torch.float64) for v in (n_params, tokens, loss))
    log_pred = torch.logsumexp(torch.stack([p[0] - p[3] * n.log(), p[1] - p[4] * d.log()]), 0)
    return torch.nn.functional.huber_loss(log_pred, l.log(), reduction="sum", delta=delta)
""",
        "loses": ["test_chinchilla_objective"] + _FIT,
    },
    {
        "name": "objective_log_of_each_term_summed",
        "cell": "chinchilla_objective",
        "why": "sums the log terms (a - alpha log N) + (b - beta log D) + e instead of taking log-sum-exp",
        "source": """def chinchilla_objective(params, n_params, tokens, loss, delta=1e-3):
    p = torch.as_tensor(params, dtype=torch.float64)
    n, d, l = (torch.as_tensor(v, dtype=torch.float64) for v in (n_params, tokens, loss))
    log_pred = (p[0] - p[3] * n.log()) + (p[1] - p[4] * d.log()) + p[2]
    return torch.nn.functional.huber_loss(log_pred, l.log(), reduction="sum", delta=delta)
""",
        "loses": ["test_chinchilla_objective"] + _FIT,
    },
    # ------------------------------------------------------------------ fit_chinchilla
    {
        "name": "fit_single_start",
        "cell": "fit_chinchilla",
        "why": "one L-BFGS run from a single arbitrary start instead of a grid of initialisations",
        "source": """def fit_chinchilla(n_params, tokens, loss, delta=1e-3):
    p = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([p], max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        v = chinchilla_objective(p, n_params, tokens, loss, delta)
        v.backward()
        return v

    opt.step(closure)
    a, b, e, alpha, beta = p.detach().tolist()
    return {"E": math.exp(e), "A": math.exp(a), "B": math.exp(b), "alpha": alpha, "beta": beta}
""",
        "loses": _FIT,
    },
    {
        "name": "fit_returns_log_parameters",
        "cell": "fit_chinchilla",
        "why": "returns a, b, e (the logs the optimiser works with) as A, B, E",
        "source": """def fit_chinchilla(n_params, tokens, loss, delta=1e-3):
    best = (math.inf, None)
    for start in itertools.product((0.0, 5.0, 10.0), (0.0, 5.0, 10.0), (-1.0, 0.0, 1.0), (0.3, 0.6), (0.3, 0.6)):
        v = float(chinchilla_objective(torch.tensor(start, dtype=torch.float64), n_params, tokens, loss, delta))
        best = min(best, (v, start))
    p = torch.tensor(best[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([p], max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        v = chinchilla_objective(p, n_params, tokens, loss, delta)
        v.backward()
        return v

    opt.step(closure)
    a, b, e, alpha, beta = p.detach().tolist()
    return {"E": e, "A": a, "B": b, "alpha": alpha, "beta": beta}
""",
        "loses": _FIT,
    },
    {
        "name": "fit_least_squares_in_linear_space",
        "cell": "fit_chinchilla",
        "why": "fits L_hat to L by squared error in linear space (the textbook curve fit), ignoring the Huber/log objective",
        "source": """def fit_chinchilla(n_params, tokens, loss, delta=1e-3):
    n, d, l = (torch.as_tensor(v, dtype=torch.float64) for v in (n_params, tokens, loss))
    best = (math.inf, None)
    for start in itertools.product((0.0, 5.0, 10.0), (0.0, 5.0, 10.0), (-1.0, 0.0, 1.0), (0.3, 0.6), (0.3, 0.6)):
        p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([p], max_iter=100, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            pred = torch.exp(p[2]) + torch.exp(p[0]) / n ** p[3] + torch.exp(p[1]) / d ** p[4]
            v = ((pred - l) ** 2).sum()
            v.backward()
            return v

        v = float(opt.step(closure))
        if math.isfinite(v) and v < best[0]:
            best = (v, p.detach().tolist())
    a, b, e, alpha, beta = best[1]
    return {"E": math.exp(e), "A": math.exp(a), "B": math.exp(b), "alpha": alpha, "beta": beta}
""",
        "loses": _FIT,
    },
    # ------------------------------------------------------------------ compute_optimal
    {
        "name": "compute_optimal_forgets_six",
        "cell": "compute_optimal",
        "why": "uses C = N D, forgetting the 6 FLOPs per parameter per token",
        "source": """def compute_optimal(compute, E, A, B, alpha, beta):
    G = (alpha * A / (beta * B)) ** (1 / (alpha + beta))
    n = G * compute ** (beta / (alpha + beta))
    return float(n), float(compute / n)
""",
        "loses": ["test_compute_optimal"],
    },
    {
        "name": "compute_optimal_swapped_exponents",
        "cell": "compute_optimal",
        "why": "N_opt grows like C^(alpha/(alpha+beta)) instead of C^(beta/(alpha+beta))",
        "source": """def compute_optimal(compute, E, A, B, alpha, beta):
    G = (alpha * A / (beta * B)) ** (1 / (alpha + beta))
    n = G * (compute / 6) ** (alpha / (alpha + beta))
    return float(n), float(compute / 6 / n)
""",
        "loses": ["test_compute_optimal"],
    },
    {
        "name": "compute_optimal_swapped_alpha_beta_in_G",
        "cell": "compute_optimal",
        "why": "G = (beta B / (alpha A))^(1/(alpha+beta)): the ratio inside G upside down",
        "source": """def compute_optimal(compute, E, A, B, alpha, beta):
    G = (beta * B / (alpha * A)) ** (1 / (alpha + beta))
    n = G * (compute / 6) ** (beta / (alpha + beta))
    return float(n), float(compute / 6 / n)
""",
        "loses": ["test_compute_optimal"],
    },
    {
        "name": "compute_optimal_tokens_without_six",
        "cell": "compute_optimal",
        "why": "right N_opt, but D = C / N (the budget is then spent six times over)",
        "source": """def compute_optimal(compute, E, A, B, alpha, beta):
    G = (alpha * A / (beta * B)) ** (1 / (alpha + beta))
    n = G * (compute / 6) ** (beta / (alpha + beta))
    return float(n), float(compute / n)
""",
        "loses": ["test_compute_optimal"],
    },
    {
        "name": "compute_optimal_G_without_root",
        "cell": "compute_optimal",
        "why": "G = alpha A / (beta B) without the 1/(alpha+beta) power",
        "source": """def compute_optimal(compute, E, A, B, alpha, beta):
    G = alpha * A / (beta * B)
    n = G * (compute / 6) ** (beta / (alpha + beta))
    return float(n), float(compute / 6 / n)
""",
        "loses": ["test_compute_optimal"],
    },
    {
        "name": "compute_optimal_twenty_tokens_rule",
        "cell": "compute_optimal",
        "why": "hard-codes D = 20 N (the rule of thumb) instead of using the fitted law",
        "source": """def compute_optimal(compute, E, A, B, alpha, beta):
    n = math.sqrt(compute / (6 * 20))
    return float(n), float(20 * n)
""",
        "loses": ["test_compute_optimal"],
    },
    # ------------------------------------------------------------------ inference_optimal
    {
        "name": "inference_ignores_serving_flops",
        "cell": "inference_optimal",
        "why": "minimises training FLOPs only, so the demand never changes the answer",
        "source": """def inference_optimal(target_loss, inference_tokens, E, A, B, alpha, beta):
    log_n_min = math.log(A / (target_loss - E)) / alpha
    grid = np.linspace(log_n_min + 1e-6, log_n_min + 40, 400001)
    n = np.exp(grid)
    d = (B / (target_loss - E - A / n ** alpha)) ** (1 / beta)
    k = int(np.argmin(6 * n * d))
    return float(n[k]), float(d[k])
""",
        "loses": ["test_inference_optimal"],
    },
    {
        "name": "inference_six_flops_per_served_token",
        "cell": "inference_optimal",
        "why": "charges 6N per served token (a training step) instead of 2N (a forward pass)",
        "source": """def inference_optimal(target_loss, inference_tokens, E, A, B, alpha, beta):
    log_n_min = math.log(A / (target_loss - E)) / alpha
    grid = np.linspace(log_n_min + 1e-6, log_n_min + 40, 400001)
    n = np.exp(grid)
    d = (B / (target_loss - E - A / n ** alpha)) ** (1 / beta)
    k = int(np.argmin(6 * n * d + 6 * n * inference_tokens))
    return float(n[k]), float(d[k])
""",
        "loses": ["test_inference_optimal"],
    },
    {
        "name": "inference_n_flops_per_served_token",
        "cell": "inference_optimal",
        "why": "charges N per served token, forgetting the multiply-add (2 FLOPs per parameter)",
        "source": """def inference_optimal(target_loss, inference_tokens, E, A, B, alpha, beta):
    log_n_min = math.log(A / (target_loss - E)) / alpha
    grid = np.linspace(log_n_min + 1e-6, log_n_min + 40, 400001)
    n = np.exp(grid)
    d = (B / (target_loss - E - A / n ** alpha)) ** (1 / beta)
    k = int(np.argmin(6 * n * d + n * inference_tokens))
    return float(n[k]), float(d[k])
""",
        "loses": ["test_inference_optimal"],
    },
    {
        "name": "inference_fixed_twenty_tokens_per_param",
        "cell": "inference_optimal",
        "why": "keeps D = 20 N and only solves for the size that reaches the target",
        "source": """def inference_optimal(target_loss, inference_tokens, E, A, B, alpha, beta):
    lo, hi = math.log(A / (target_loss - E)) / alpha, 200.0
    for _ in range(300):
        mid = 0.5 * (lo + hi)
        n = math.exp(mid)
        if E + A / n ** alpha + B / (20 * n) ** beta > target_loss:
            lo = mid
        else:
            hi = mid
    n = math.exp(hi)
    return float(n), float(20 * n)
""",
        "loses": ["test_inference_optimal"],
    },
    {
        "name": "inference_coarse_grid_no_refinement",
        "cell": "inference_optimal",
        "why": "picks the best of 40 sizes (one per unit of log N) without refining the minimum",
        "source": """def inference_optimal(target_loss, inference_tokens, E, A, B, alpha, beta):
    log_n_min = math.log(A / (target_loss - E)) / alpha
    n = np.exp(np.linspace(log_n_min + 0.5, log_n_min + 40, 40))
    d = (B / (target_loss - E - A / n ** alpha)) ** (1 / beta)
    k = int(np.argmin(6 * n * d + 2 * n * inference_tokens))
    return float(n[k]), float(d[k])
""",
        "loses": ["test_inference_optimal"],
    },
]


# ----------------------------------------------------------------------------------------------- hints
# One sentence per entry for the student who made that mistake, shown under the failed test (issue 23).
# Entries in _HINTS_NOT_SHOWN keep their hint for the class report only: any useful hint would give the fix away.
_HINTS = {
    "power_law_linear_space": "Your fit minimises errors on y itself, so the largest values dominate; a power law is a straight line in log-log space.",
    "power_law_sign_of_slope": "Check the sign convention: the law is written with a minus sign in front of the exponent.",
    "power_law_log10_then_exp": "Your fit and your conversion of the intercept use logarithms of different bases.",
    "power_law_two_endpoints": "Your line goes through two points only; the exponent should come from a least-squares fit of all of them.",
    "power_law_semilog": "Your regression uses x instead of log x, which fits an exponential rather than a power law.",
    "frontier_every_run": "Your frontier keeps every run; a run belongs to it only if no cheaper run reached a lower loss.",
    "frontier_input_order": "Your scan follows the order the runs were given in, not the order of compute.",
    "frontier_beats_previous_only": "A run must beat every cheaper run, not just the previous one, to be on the frontier.",
    "frontier_sorted_by_loss": "Your frontier is ordered by loss; the docstring asks for increasing compute.",
    "isoflop_parabola_in_n": "Your parabola is fitted in N rather than in log N.",
    "isoflop_vertex_missing_half": "Your vertex is not at the minimum of the fitted parabola.",
    "isoflop_best_sample": "You return the best trained size, not the minimum of the fitted parabola.",
    "isoflop_log10_fit_exp_vertex": "Your fit and your conversion of the vertex back to N use logarithms of different bases.",
    "objective_huber_on_loss_not_log": "Your residuals are taken in linear space; Hoffmann et al. compare log L_hat with log L.",
    "objective_squared_error": "Your objective is a plain squared error, so outliers count quadratically: the paper uses a Huber loss.",
    "objective_mean_not_sum": "Your objective averages over runs where the paper sums.",
    "objective_huber_linear_branch_no_offset": "Your Huber loss jumps where its two branches meet: check its linear branch.",
    "objective_forgets_irreducible_term": "Your prediction leaves out the irreducible loss E.",
    "objective_log_of_each_term_summed": "Your prediction adds the logs of the three terms, which is the log of their product, not of their sum.",
    "fit_single_start": "A single optimiser run from one start can end in a poor local minimum; the paper uses a grid of initialisations.",
    "fit_returns_log_parameters": "You return the logs the optimiser works with instead of A, B and E themselves.",
    "fit_least_squares_in_linear_space": "Your fit minimises a squared error in linear space instead of the objective function of this lab.",
    "compute_optimal_forgets_six": "Your compute budget forgets how many FLOPs one parameter costs per training token.",
    "compute_optimal_swapped_exponents": "Your N_opt grows with the other exponent: re-derive which one belongs to the model size.",
    "compute_optimal_swapped_alpha_beta_in_G": "The ratio inside your G is upside down.",
    "compute_optimal_tokens_without_six": "Your N_opt and D_opt together spend more compute than the budget.",
    "compute_optimal_G_without_root": "Your G is missing a power.",
    "compute_optimal_twenty_tokens_rule": "You use the 20-tokens-per-parameter rule of thumb instead of the fitted law.",
    "inference_ignores_serving_flops": "Your cost ignores the inference demand, so the answer never changes with it.",
    "inference_six_flops_per_served_token": "Serving a token is a forward pass only, but you charge it like a training step.",
    "inference_n_flops_per_served_token": "Your cost per served token is too low: count the FLOPs of a forward pass per parameter.",
    "inference_fixed_twenty_tokens_per_param": "You fix the tokens-per-parameter ratio, so inference demand can never change the answer.",
    "inference_coarse_grid_no_refinement": "Your search is too coarse to find the minimum accurately.",
}
_HINTS_NOT_SHOWN: set[str] = set()
assert set(_HINTS) == {e["name"] for e in WRONG_IMPLEMENTATIONS}, "one hint per entry, no stale names"
for _wrong in WRONG_IMPLEMENTATIONS:
    _wrong["hint"] = _HINTS[_wrong["name"]]
    if _wrong["name"] in _HINTS_NOT_SHOWN:
        _wrong["show_hint"] = False
