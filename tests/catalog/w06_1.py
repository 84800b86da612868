"""Wrong implementations for lab w06-1 (benchmarking optimizers: Wen et al.; Semenov et al.).

Each entry replaces one answer cell of weeks/w06-1-optimizer-benchmarks/solution.ipynb (format: tests/catalog/__init__.py).
"""

_COSINE = '''def warmup_cosine_schedule(peak_lr, total_steps, warmup_steps, final_lr_ratio):
    lrs = []
    for t in range(total_steps):
        if t < warmup_steps:
            lrs.append(peak_lr * (t + 1) / warmup_steps)
        else:
            progress = (t - warmup_steps) / (total_steps - warmup_steps - 1)
            cosine = 0.5 * (1 + math.cos(math.pi * progress))
            lrs.append(peak_lr * (final_lr_ratio + (1 - final_lr_ratio) * cosine))
    return lrs
'''

_WSD = '''def wsd_schedule(peak_lr, total_steps, warmup_steps, decay_steps, final_lr_ratio):
    decay_start = total_steps - decay_steps
    lrs = []
    for t in range(total_steps):
        if t < warmup_steps:
            lrs.append(peak_lr * (t + 1) / warmup_steps)
        elif t < decay_start:
            lrs.append(peak_lr)
        else:
            lrs.append(peak_lr * (1 - (1 - final_lr_ratio) * (t - decay_start) / (decay_steps - 1)))
    return lrs
'''

_PLAN = '''def sweep_plan(lr_grid, seeds, token_budget, batch_size, seq_len):
    runs = []
    for name, lrs in lr_grid.items():
        tokens_per_step = batch_size[name] * seq_len
        steps = token_budget // tokens_per_step
        for lr in lrs:
            for seed in seeds:
                runs.append({"optimizer": name, "lr": lr, "seed": seed, "steps": steps, "tokens": steps * tokens_per_step})
    return runs
'''

_TRAIN = '''def train_regression(X, Y, optimizer, lrs, seed, batch_size, weight_decay=0.0):
    generator = torch.Generator().manual_seed(seed)
    W = torch.zeros(X.shape[1], Y.shape[1], dtype=X.dtype, requires_grad=True)
    if optimizer == "adamw":
        opt = torch.optim.AdamW([W], lr=lrs[0], betas=(0.9, 0.95), eps=1e-8, weight_decay=weight_decay)
    else:
        opt = torch.optim.Muon([W], lr=lrs[0], weight_decay=weight_decay)
    losses = []
    for lr in lrs:
        for group in opt.param_groups:
            group["lr"] = lr
        rows = torch.randperm(X.shape[0], generator=generator)[:batch_size]
        loss = ((X[rows] @ W - Y[rows]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            losses.append(float(((X @ W - Y) ** 2).mean()))
    return losses
'''

_BEST = '''def best_of_sweep(table):
    groups = {}
    for run in table:
        groups.setdefault(run["optimizer"], {}).setdefault(run["lr"], []).append([float(v) for v in run["losses"]])
    best = {}
    for name, by_lr in groups.items():
        def mean_final(lr):
            finals = [curve[-1] for curve in by_lr[lr]]
            return math.inf if any(not math.isfinite(v) for v in finals) else sum(finals) / len(finals)
        lr = min(by_lr, key=mean_final)
        curves = torch.tensor(by_lr[lr], dtype=torch.float64)
        finals = curves[:, -1]
        n = finals.numel()
        sem = float(finals.std(unbiased=True) / math.sqrt(n)) if n > 1 else 0.0
        best[name] = {"lr": lr, "mean_final": mean_final(lr), "sem_final": sem, "mean_curve": curves.mean(0).tolist()}
    return best
'''

_REACH = '''def tokens_to_reach(tokens, losses, target):
    if losses[0] <= target:
        return float(tokens[0])
    for i in range(1, len(losses)):
        if losses[i] <= target:
            frac = (losses[i - 1] - target) / (losses[i - 1] - losses[i])
            return float(tokens[i - 1] + frac * (tokens[i] - tokens[i - 1]))
    return math.inf
'''

_SPEEDUP = '''def speedup(base_tokens, base_losses, new_tokens, new_losses):
    target = base_losses[-1]
    needed = tokens_to_reach(new_tokens, new_losses, target)
    if needed < math.inf:
        return float(base_tokens[-1]) / needed
    return tokens_to_reach(base_tokens, base_losses, new_losses[-1]) / float(new_tokens[-1])
'''


def _sub(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


def _entry(name, cell, why, base, old, new, loses=None):
    return {"name": name, "cell": cell, "why": why, "source": _sub(base, old, new), "loses": loses or [f"test_{cell}"]}


WRONG_IMPLEMENTATIONS = [
    # ---- warmup_cosine_schedule ---------------------------------------------------------------------------------
    _entry("cosine_warmup_from_zero", "warmup_cosine_schedule", "warm-up starts at 0 (t / W), so the peak comes one step late",
           _COSINE, "peak_lr * (t + 1) / warmup_steps", "peak_lr * t / warmup_steps"),
    _entry("cosine_period_off_by_one", "warmup_cosine_schedule", "divides by T - W instead of T - W - 1: the last step stays above r * peak",
           _COSINE, "(total_steps - warmup_steps - 1)", "(total_steps - warmup_steps)"),
    _entry("cosine_over_whole_run", "warmup_cosine_schedule", "runs the cosine over all T steps, ignoring the warm-up offset",
           _COSINE, "progress = (t - warmup_steps) / (total_steps - warmup_steps - 1)", "progress = t / (total_steps - 1)"),
    _entry("cosine_to_zero", "warmup_cosine_schedule", "ignores the final ratio and decays to 0",
           _COSINE, "(final_lr_ratio + (1 - final_lr_ratio) * cosine)", "cosine"),
    _entry("cosine_floor_added", "warmup_cosine_schedule", "adds r * peak on top of the full cosine (ends at r, starts at (1 + r) * peak)",
           _COSINE, "(final_lr_ratio + (1 - final_lr_ratio) * cosine)", "(final_lr_ratio + cosine)"),
    _entry("cosine_without_half", "warmup_cosine_schedule", "uses cos(pi * progress / 2) (a quarter period): never reaches the floor's shape",
           _COSINE, "0.5 * (1 + math.cos(math.pi * progress))", "math.cos(0.5 * math.pi * progress)"),
    # ---- wsd_schedule -------------------------------------------------------------------------------------------
    _entry("wsd_decay_ends_above_floor", "wsd_schedule", "divides the decay by D instead of D - 1: never reaches r * peak",
           _WSD, "/ (decay_steps - 1)", "/ decay_steps"),
    _entry("wsd_decay_starts_one_late", "wsd_schedule", "first decayed step is already below the peak (decay counted from t + 1)",
           _WSD, "(t - decay_start) / (decay_steps - 1)", "(t - decay_start + 1) / decay_steps"),
    _entry("wsd_decay_to_zero", "wsd_schedule", "ignores final_lr_ratio and decays to 0",
           _WSD, "(1 - final_lr_ratio) * (t - decay_start)", "(t - decay_start)"),
    _entry("wsd_decay_steps_as_start", "wsd_schedule", "treats decay_steps as the step where the decay starts",
           _WSD, "decay_start = total_steps - decay_steps", "decay_start = decay_steps"),
    _entry("wsd_no_warmup", "wsd_schedule", "skips the warm-up (starts at the peak)",
           _WSD, "lrs.append(peak_lr * (t + 1) / warmup_steps)", "lrs.append(peak_lr)"),
    # ---- sweep_plan ---------------------------------------------------------------------------------------------
    _entry("plan_steps_ignore_seq_len", "sweep_plan", "counts sequences, not tokens: steps = budget // batch size",
           _PLAN, "tokens_per_step = batch_size[name] * seq_len", "tokens_per_step = batch_size[name]"),
    _entry("plan_ceil_steps", "sweep_plan", "rounds the steps up, so the last step exceeds the budget",
           _PLAN, "steps = token_budget // tokens_per_step", "steps = -(-token_budget // tokens_per_step)"),
    _entry("plan_one_batch_for_all", "sweep_plan", "uses the first optimizer's batch size for every optimizer (unequal token budgets)",
           _PLAN, "tokens_per_step = batch_size[name] * seq_len", "tokens_per_step = list(batch_size.values())[0] * seq_len"),
    _entry("plan_first_seed_only", "sweep_plan", "runs each configuration with the first seed only",
           _PLAN, "for seed in seeds:", "for seed in seeds[:1]:"),
    _entry("plan_shared_grid", "sweep_plan", "sweeps the first optimizer's grid for every optimizer",
           _PLAN, "for lr in lrs:", "for lr in list(lr_grid.values())[0]:"),
    _entry("plan_budget_as_tokens", "sweep_plan", "reports the budget as the tokens seen instead of steps x tokens per step",
           _PLAN, '"tokens": steps * tokens_per_step', '"tokens": token_budget'),
    # ---- train_regression ---------------------------------------------------------------------------------------
    _entry("train_global_rng", "train_regression", "draws the batches from torch's global generator (not seeded by `seed`)",
           _TRAIN, "torch.randperm(X.shape[0], generator=generator)", "torch.randperm(X.shape[0])"),
    _entry("train_with_replacement", "train_regression", "draws rows with replacement (torch.randint)",
           _TRAIN, "torch.randperm(X.shape[0], generator=generator)[:batch_size]",
           "torch.randint(X.shape[0], (batch_size,), generator=generator)"),
    _entry("train_lr_one_step_late", "train_regression", "sets lrs[t] after the step (step t uses lrs[t - 1])",
           _TRAIN, '''        for group in opt.param_groups:
            group["lr"] = lr
        rows''', "        rows"),
    _entry("train_loss_on_batch", "train_regression", "records the mini-batch loss before the step instead of the full-data loss after it",
           _TRAIN, "losses.append(float(((X @ W - Y) ** 2).mean()))", "losses.append(float(loss))"),
    _entry("train_adam_not_adamw", "train_regression", "uses Adam with L2 weight decay (coupled) instead of AdamW",
           _TRAIN, "torch.optim.AdamW([W], lr=lrs[0], betas=(0.9, 0.95), eps=1e-8, weight_decay=weight_decay)",
           "torch.optim.Adam([W], lr=lrs[0], betas=(0.9, 0.95), eps=1e-8, weight_decay=weight_decay)"),
    _entry("train_default_betas", "train_regression", "keeps AdamW's default betas (0.9, 0.999)",
           _TRAIN, "betas=(0.9, 0.95), ", ""),
    _entry("train_muon_no_weight_decay", "train_regression", "forgets to pass weight decay to Muon (torch's default 0.1 applies)",
           _TRAIN, "torch.optim.Muon([W], lr=lrs[0], weight_decay=weight_decay)", "torch.optim.Muon([W], lr=lrs[0])"),
    _entry("train_muon_no_nesterov", "train_regression", "turns off Nesterov momentum in Muon",
           _TRAIN, "torch.optim.Muon([W], lr=lrs[0], weight_decay=weight_decay)",
           "torch.optim.Muon([W], lr=lrs[0], weight_decay=weight_decay, nesterov=False)"),
    _entry("train_sum_loss", "train_regression", "trains on the summed squared error (AdamW's scale invariance hides it; Muon's too, but the recorded loss is a sum)",
           _TRAIN, "losses.append(float(((X @ W - Y) ** 2).mean()))", "losses.append(float(((X @ W - Y) ** 2).sum()))"),
    # ---- best_of_sweep ------------------------------------------------------------------------------------------
    _entry("best_by_best_seed", "best_of_sweep", "chooses the learning rate of the single best run (a lucky seed wins)",
           _BEST, "return math.inf if any(not math.isfinite(v) for v in finals) else sum(finals) / len(finals)\n        lr = min(by_lr, key=mean_final)",
           "return math.inf if any(not math.isfinite(v) for v in finals) else sum(finals) / len(finals)\n"
           "        lr = min(by_lr, key=lambda r: min(c[-1] for c in by_lr[r]))"),
    _entry("best_by_curve_minimum", "best_of_sweep", "chooses by the lowest loss anywhere on the curve, not the final loss",
           _BEST, "        lr = min(by_lr, key=mean_final)",
           "        lr = min(by_lr, key=lambda r: sum(min(c) for c in by_lr[r]) / len(by_lr[r]))"),
    _entry("best_nan_ignored", "best_of_sweep", "averages only the finite final losses, so a diverged learning rate can win",
           _BEST, "return math.inf if any(not math.isfinite(v) for v in finals) else sum(finals) / len(finals)",
           "finite = [v for v in finals if math.isfinite(v)]\n            return sum(finite) / len(finite)"),
    _entry("best_sem_ddof0", "best_of_sweep", "standard error with the biased standard deviation (ddof = 0)",
           _BEST, "finals.std(unbiased=True)", "finals.std(unbiased=False)"),
    _entry("best_std_not_sem", "best_of_sweep", "reports the standard deviation as the error bar, not the standard error",
           _BEST, "finals.std(unbiased=True) / math.sqrt(n)", "finals.std(unbiased=True)"),
    _entry("best_curve_of_first_seed", "best_of_sweep", "returns the first seed's curve instead of the mean over seeds",
           _BEST, '"mean_curve": curves.mean(0).tolist()', '"mean_curve": curves[0].tolist()'),
    # ---- tokens_to_reach ----------------------------------------------------------------------------------------
    _entry("reach_no_interpolation", "tokens_to_reach", "returns the first logged point at or below the target (no interpolation)",
           _REACH, "return float(tokens[i - 1] + frac * (tokens[i] - tokens[i - 1]))", "return float(tokens[i])"),
    _entry("reach_last_crossing", "tokens_to_reach", "returns the last crossing (scans from the end)",
           _REACH, '''    for i in range(1, len(losses)):
        if losses[i] <= target:''', '''    for i in range(len(losses) - 1, 0, -1):
        if losses[i] <= target and losses[i - 1] > target:'''),
    _entry("reach_first_point_ignored", "tokens_to_reach", "skips the check of the first point (extrapolates below tokens[0])",
           _REACH, """    if losses[0] <= target:
        return float(tokens[0])
""", ""),
    _entry("reach_interpolate_wrong_side", "tokens_to_reach", "interpolates the fraction from the wrong end of the segment",
           _REACH, "frac = (losses[i - 1] - target) / (losses[i - 1] - losses[i])", "frac = (target - losses[i]) / (losses[i - 1] - losses[i])"),
    _entry("reach_never_is_last", "tokens_to_reach", "returns the last token count instead of inf when the target is never reached",
           _REACH, "    return math.inf", "    return float(tokens[-1])"),
    # ---- speedup ------------------------------------------------------------------------------------------------
    _entry("speedup_inverted", "speedup", "returns new tokens over baseline tokens (the inverse ratio)",
           _SPEEDUP, "return float(base_tokens[-1]) / needed", "return needed / float(base_tokens[-1])"),
    _entry("speedup_steps_not_tokens", "speedup", "compares logged-point indices (steps) instead of tokens",
           _SPEEDUP, '''    target = base_losses[-1]''',
           '''    base_tokens = list(range(1, len(base_tokens) + 1))
    new_tokens = list(range(1, len(new_tokens) + 1))
    target = base_losses[-1]'''),
    _entry("speedup_no_slower_branch", "speedup", "returns 0 when the new optimizer never reaches the baseline's loss",
           _SPEEDUP, "    return tokens_to_reach(base_tokens, base_losses, new_losses[-1]) / float(new_tokens[-1])", "    return 0.0"),
    _entry("speedup_final_loss_ratio", "speedup", "reports the ratio of final losses instead of a token ratio",
           _SPEEDUP, '''    target = base_losses[-1]''', '''    return float(base_losses[-1]) / float(new_losses[-1])
    target = base_losses[-1]'''),
]


# ----------------------------------------------------------------------------------------------- hints
# One sentence per entry for the student who made that mistake, shown under the failed test (issue 23).
# Entries in _HINTS_NOT_SHOWN keep their hint for the class report only: any useful hint would give the fix away.
_HINTS = {
    "cosine_warmup_from_zero": "Your warm-up starts at a learning rate of 0, so the peak arrives one step late.",
    "cosine_period_off_by_one": "Your last step does not land exactly on the final learning rate.",
    "cosine_over_whole_run": "Your cosine starts counting at step 0 instead of at the end of the warm-up.",
    "cosine_to_zero": "Your schedule decays to 0 whatever final_lr_ratio says.",
    "cosine_floor_added": "Your schedule starts its decay above the peak: the floor should be part of the cosine's range, not added on top.",
    "cosine_without_half": "Your decay uses only a quarter period of the cosine, not the half period that goes from peak to floor.",
    "wsd_decay_ends_above_floor": "Your decay never quite reaches the final learning rate.",
    "wsd_decay_starts_one_late": "The first step of your decay phase is already below the peak.",
    "wsd_decay_to_zero": "Your schedule decays to 0 whatever final_lr_ratio says.",
    "wsd_decay_steps_as_start": "decay_steps is the length of the decay phase, not the step where it begins.",
    "wsd_no_warmup": "Your schedule skips the warm-up.",
    "plan_steps_ignore_seq_len": "Your steps count sequences rather than tokens.",
    "plan_ceil_steps": "Your plan can spend more tokens than the budget.",
    "plan_one_batch_for_all": "Every optimiser gets the same batch size, so their token budgets differ.",
    "plan_first_seed_only": "Each configuration runs with only one of the seeds.",
    "plan_shared_grid": "Every optimiser is swept over the same learning-rate grid instead of its own.",
    "plan_budget_as_tokens": "The tokens you report are the budget, not what the runs actually consume.",
    "train_global_rng": "Your batches do not depend on `seed`, so runs are not reproducible.",
    "train_with_replacement": "Your batches can contain the same row twice.",
    "train_lr_one_step_late": "Each step uses the learning rate meant for the previous step.",
    "train_loss_on_batch": "The loss you record is the mini-batch loss before the step, not the full-data loss after it.",
    "train_adam_not_adamw": "Your optimiser couples weight decay with the gradient, so it is not AdamW.",
    "train_default_betas": "Your AdamW uses a library default instead of the hyperparameters in the lab's conventions.",
    "train_muon_no_weight_decay": "Your Muon never receives the weight decay argument, so a library default applies.",
    "train_muon_no_nesterov": "Your Muon runs without the momentum variant the lab uses.",
    "train_sum_loss": "Your recorded loss is a sum over examples rather than a mean.",
    "best_by_best_seed": "Your choice rewards a single lucky seed instead of the mean over seeds.",
    "best_by_curve_minimum": "You choose by the lowest point of each curve, not by the final loss.",
    "best_nan_ignored": "A learning rate that diverged on some seeds can still win in your selection.",
    "best_sem_ddof0": "Your standard error uses the biased standard deviation.",
    "best_std_not_sem": "Your error bar is the standard deviation, not the standard error of the mean.",
    "best_curve_of_first_seed": "The curve you return is one seed's, not the mean over seeds.",
    "reach_no_interpolation": "You return a logged point; the docstring asks you to interpolate between the two points around the crossing.",
    "reach_last_crossing": "You return the last crossing of the target instead of the first.",
    "reach_first_point_ignored": "When the first logged loss is already below the target, your answer lies before the start of the curve.",
    "reach_interpolate_wrong_side": "Your interpolation measures the fraction from the wrong end of the segment.",
    "reach_never_is_last": "When the target is never reached, your function returns a finite count.",
    "speedup_inverted": "Your ratio is upside down: a faster optimiser should give a speedup above 1.",
    "speedup_steps_not_tokens": "Your speedup counts logged points, not tokens.",
    "speedup_no_slower_branch": "When the new optimiser is slower, your function returns 0 instead of a speedup below 1.",
    "speedup_final_loss_ratio": "Your speedup compares final losses, not the tokens needed to reach a loss.",
}
_HINTS_NOT_SHOWN = {
    "cosine_period_off_by_one",  # denominator off-by-one: any hint names it
    "wsd_decay_ends_above_floor",  # denominator off-by-one: any hint names it
    "wsd_decay_starts_one_late",  # offset off-by-one: any hint names it
}
assert set(_HINTS) == {e["name"] for e in WRONG_IMPLEMENTATIONS}, "one hint per entry, no stale names"
for _wrong in WRONG_IMPLEMENTATIONS:
    _wrong["hint"] = _HINTS[_wrong["name"]]
    if _wrong["name"] in _HINTS_NOT_SHOWN:
        _wrong["show_hint"] = False
