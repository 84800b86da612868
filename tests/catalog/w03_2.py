"""Wrong implementations for lab w03-2 (Diffusion-LM, LLaDA, Seed Diffusion).

Each entry replaces one answer cell of weeks/w03-2-diffusion-lm/solution.ipynb (format: tests/catalog/__init__.py).
"""

_SCHEDULE = '''def sqrt_schedule_alpha_bar(T, s=1e-4, max_beta=0.999):
    u = torch.arange(T + 1, dtype=torch.float64) / T
    f = 1 - torch.sqrt(u + s)
    betas = torch.clamp(1 - f[1:] / f[:-1], max=max_beta)
    return torch.cumprod(1 - betas, dim=0)
'''

_QSAMPLE = '''def diffusion_lm_q_sample(x0, t, alpha_bar, noise):
    a = alpha_bar.to(x0.dtype)[t].view(-1, 1, 1)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise
'''

_DLMLOSS = '''def diffusion_lm_loss(pred_x0, x0, rounding_logits, tokens):
    mse = ((pred_x0 - x0) ** 2).mean(dim=(1, 2))
    nll = F.cross_entropy(rounding_logits.transpose(1, 2), tokens, reduction="none").mean(dim=1)
    return (mse + nll).mean()
'''

_ROUND = '''def round_to_tokens(x, embeddings):
    d2 = (x[..., None, :] - embeddings).pow(2).sum(-1)
    return d2.argmin(dim=-1)
'''

_MASK = '''def llada_mask(x0, t, u, mask_id, eps=1e-3):
    p_mask = ((1 - eps) * t.to(torch.float64))[:, None].expand(u.shape) + eps
    masked = u < p_mask
    return torch.where(masked, torch.full_like(x0, mask_id), x0), p_mask
'''

_LOSS = '''def llada_loss(logits, x0, xt, p_mask, mask_id):
    masked = xt == mask_id
    ce = F.cross_entropy(logits[masked], x0[masked], reduction="none")
    return (ce / p_mask[masked]).sum() / (x0.shape[0] * x0.shape[1])
'''

_RV = '''def reveal_schedule(length, block_length, steps):
    n_blocks = length // block_length
    per_block = steps // n_blocks
    schedule = []
    for b in range(n_blocks):
        base, extra = divmod(block_length, per_block)
        for s in range(per_block):
            schedule.append((b * block_length, (b + 1) * block_length, base + (1 if s < extra else 0)))
    return schedule
'''

_STEP = '''def denoise_step(x, logits, n_reveal, mask_id, window, gumbel=None):
    scores = logits if gumbel is None else logits + gumbel
    candidate = scores.argmax(dim=-1)
    confidence = logits.softmax(dim=-1).gather(-1, candidate[..., None])[..., 0]
    positions = torch.arange(x.shape[1])
    eligible = (x == mask_id) & (positions >= window[0]) & (positions < window[1])
    confidence = torch.where(eligible, confidence, torch.full_like(confidence, -1.0))
    chosen = torch.zeros_like(eligible)
    if n_reveal > 0:
        top = confidence.topk(n_reveal, dim=1).indices
        chosen.scatter_(1, top, True)
    return torch.where(chosen, candidate, x)
'''

_EDIT = '''def edit_corrupt(x, u, rate, replacement, mask_id):
    edit = (x != mask_id) & (u < rate)
    return torch.where(edit, replacement, x)
'''


def _sub(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


def _entry(name, cell, why, base, old, new, loses=None):
    return {"name": name, "cell": cell, "why": why, "source": _sub(base, old, new), "loses": loses or [f"test_{cell}"]}


WRONG_IMPLEMENTATIONS = [
    # ---- sqrt_schedule_alpha_bar --------------------------------------------------------------------------------
    _entry("schedule_formula_without_clip", "sqrt_schedule_alpha_bar",
           "returns 1 - sqrt(t/T + s) directly: negative at the last step, not normalised by f(0)", _SCHEDULE,
           "    betas = torch.clamp(1 - f[1:] / f[:-1], max=max_beta)\n    return torch.cumprod(1 - betas, dim=0)",
           "    return f[1:]"),
    _entry("schedule_no_clip", "sqrt_schedule_alpha_bar", "forgets to clip the betas at max_beta", _SCHEDULE,
           "torch.clamp(1 - f[1:] / f[:-1], max=max_beta)", "1 - f[1:] / f[:-1]"),
    _entry("schedule_off_by_one", "sqrt_schedule_alpha_bar", "timestep i reads f(i/T) (starts with alpha_bar = 1)",
           _SCHEDULE, "    return torch.cumprod(1 - betas, dim=0)",
           "    return torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, dim=0)[:-1]])"),
    _entry("schedule_betas_not_alpha_bar", "sqrt_schedule_alpha_bar", "returns 1 - beta (alpha) instead of the cumulative product",
           _SCHEDULE, "torch.cumprod(1 - betas, dim=0)", "(1 - betas)"),
    _entry("schedule_ignores_max_beta", "sqrt_schedule_alpha_bar", "hard-codes the clip 0.999 instead of the argument",
           _SCHEDULE, "max=max_beta)", "max=0.999)"),
    # ---- diffusion_lm_q_sample ----------------------------------------------------------------------------------
    _entry("q_sample_no_sqrt", "diffusion_lm_q_sample", "scales x0 by alpha_bar and the noise by 1 - alpha_bar (no square roots)",
           _QSAMPLE, "a.sqrt() * x0 + (1 - a).sqrt() * noise", "a * x0 + (1 - a) * noise"),
    _entry("q_sample_variance_as_std", "diffusion_lm_q_sample", "uses 1 - alpha_bar as the standard deviation of the noise",
           _QSAMPLE, "(1 - a).sqrt() * noise", "(1 - a) * noise"),
    _entry("q_sample_swapped", "diffusion_lm_q_sample", "swaps the coefficients of x0 and the noise", _QSAMPLE,
           "a.sqrt() * x0 + (1 - a).sqrt() * noise", "(1 - a).sqrt() * x0 + a.sqrt() * noise"),
    _entry("q_sample_index_shift", "diffusion_lm_q_sample", "reads alpha_bar[t - 1] (1-based timesteps)", _QSAMPLE,
           "alpha_bar.to(x0.dtype)[t]", "alpha_bar.to(x0.dtype)[t - 1]"),
    _entry("q_sample_first_timestep", "diffusion_lm_q_sample", "uses the first sequence's timestep for the whole batch",
           _QSAMPLE, "[t].view(-1, 1, 1)", "[t[0]].view(-1, 1, 1)"),
    # ---- diffusion_lm_loss --------------------------------------------------------------------------------------
    _entry("dlm_loss_sum_over_dims", "diffusion_lm_loss", "sums the squared error over the embedding dimensions (a norm, not mean_flat)",
           _DLMLOSS, "((pred_x0 - x0) ** 2).mean(dim=(1, 2))", "((pred_x0 - x0) ** 2).sum(-1).mean(1)"),
    _entry("dlm_loss_no_rounding", "diffusion_lm_loss", "drops the rounding term -log p(w | x0)", _DLMLOSS,
           "return (mse + nll).mean()", "return mse.mean()"),
    _entry("dlm_loss_norm_not_squared", "diffusion_lm_loss", "uses the Euclidean distance instead of its square",
           _DLMLOSS, "((pred_x0 - x0) ** 2).mean(dim=(1, 2))", "(pred_x0 - x0).norm(dim=-1).mean(1)"),
    _entry("dlm_loss_ce_summed", "diffusion_lm_loss", "sums the rounding cross-entropy over positions", _DLMLOSS,
           'reduction="none").mean(dim=1)', 'reduction="none").sum(dim=1)'),
    _entry("dlm_loss_prob_not_log", "diffusion_lm_loss", "uses 1 - softmax probability instead of the negative log-likelihood",
           _DLMLOSS, 'F.cross_entropy(rounding_logits.transpose(1, 2), tokens, reduction="none")',
           '1 - rounding_logits.softmax(-1).gather(-1, tokens[..., None])[..., 0]'),
    # ---- round_to_tokens ----------------------------------------------------------------------------------------
    _entry("round_dot_product", "round_to_tokens", "picks the largest dot product (favours embeddings of large norm)",
           _ROUND, "    d2 = (x[..., None, :] - embeddings).pow(2).sum(-1)\n    return d2.argmin(dim=-1)",
           "    return (x @ embeddings.T).argmax(dim=-1)"),
    _entry("round_cosine", "round_to_tokens", "picks the largest cosine similarity", _ROUND,
           "    d2 = (x[..., None, :] - embeddings).pow(2).sum(-1)\n    return d2.argmin(dim=-1)",
           "    return (F.normalize(x, dim=-1) @ F.normalize(embeddings, dim=-1).T).argmax(dim=-1)"),
    _entry("round_argmax_distance", "round_to_tokens", "takes the farthest embedding (argmax of the distance)", _ROUND,
           "d2.argmin(dim=-1)", "d2.argmax(dim=-1)"),
    # ---- llada_mask ---------------------------------------------------------------------------------------------
    _entry("mask_no_eps", "llada_mask", "uses p_mask = t, forgetting the eps floor", _MASK,
           "((1 - eps) * t.to(torch.float64))[:, None].expand(u.shape) + eps", "t.to(torch.float64)[:, None].expand(u.shape).clone()"),
    _entry("mask_u_greater", "llada_mask", "masks the tokens with u > p_mask (keeps a fraction p_mask)", _MASK,
           "masked = u < p_mask", "masked = u > 1 - p_mask"),
    _entry("mask_eps_added_to_t", "llada_mask", "uses t + eps, forgetting the (1 - eps) factor", _MASK,
           "((1 - eps) * t.to(torch.float64))", "(t.to(torch.float64))"),
    _entry("mask_p_scalar", "llada_mask", "returns p_mask per sequence (B,), not per token", _MASK,
           "[:, None].expand(u.shape) + eps\n    masked = u < p_mask\n    return torch.where(masked, torch.full_like(x0, mask_id), x0), p_mask",
           " + eps\n    masked = u < p_mask[:, None]\n    return torch.where(masked, torch.full_like(x0, mask_id), x0), p_mask"),
    # ---- llada_loss ---------------------------------------------------------------------------------------------
    _entry("loss_no_inverse_t", "llada_loss", "forgets the 1/t weight (plain masked-LM cross-entropy)", _LOSS,
           "(ce / p_mask[masked]).sum()", "ce.sum()"),
    _entry("loss_over_masked_count", "llada_loss", "divides by the number of masked tokens instead of B * L", _LOSS,
           "/ (x0.shape[0] * x0.shape[1])", "/ masked.sum()"),
    _entry("loss_all_tokens", "llada_loss", "takes the cross-entropy of every token, masked or not", _LOSS,
           "    ce = F.cross_entropy(logits[masked], x0[masked], reduction=\"none\")\n    return (ce / p_mask[masked]).sum()",
           "    ce = F.cross_entropy(logits.transpose(1, 2), x0, reduction=\"none\")\n    return (ce / p_mask).sum()"),
    _entry("loss_times_p", "llada_loss", "multiplies by p_mask instead of dividing", _LOSS,
           "(ce / p_mask[masked])", "(ce * p_mask[masked])"),
    _entry("loss_over_batch_only", "llada_loss", "divides by the batch size only", _LOSS,
           "/ (x0.shape[0] * x0.shape[1])", "/ x0.shape[0]"),
    _entry("loss_targets_xt", "llada_loss", "uses x_t (the mask ids) as targets... clipped into the vocabulary", _LOSS,
           "F.cross_entropy(logits[masked], x0[masked]", "F.cross_entropy(logits[masked], xt[masked].clamp(max=logits.shape[-1] - 1)"),
    _entry("loss_mean_p", "llada_loss", "divides the summed CE by the mean p_mask of the batch", _LOSS,
           "(ce / p_mask[masked]).sum()", "(ce.sum() / p_mask.mean())"),
    # ---- reveal_schedule ----------------------------------------------------------------------------------------
    _entry("schedule_remainder_last", "reveal_schedule", "gives the remainder to the last steps of a block", _RV,
           "(1 if s < extra else 0)", "(1 if s >= per_block - extra else 0)"),
    _entry("schedule_floor_only", "reveal_schedule", "drops the remainder (the block is not fully revealed)", _RV,
           "base + (1 if s < extra else 0)", "base"),
    _entry("schedule_steps_per_block", "reveal_schedule", "gives every block all `steps` steps", _RV,
           "per_block = steps // n_blocks", "per_block = steps"),
    _entry("schedule_whole_sequence", "reveal_schedule", "ignores the blocks: every step may reveal anywhere", _RV,
           "schedule.append((b * block_length, (b + 1) * block_length,", "schedule.append((0, length,"),
    # ---- denoise_step -------------------------------------------------------------------------------------------
    _entry("step_remask_most_confident", "denoise_step", "reveals the least confident positions (remasks the most confident)",
           _STEP, "confidence.topk(n_reveal, dim=1)", "(-confidence).topk(n_reveal, dim=1)"),
    _entry("step_overwrites_visible", "denoise_step", "lets visible tokens compete (and be rewritten)", _STEP,
           "eligible = (x == mask_id) & (positions", "eligible = (x >= 0) & (positions"),
    _entry("step_ignores_window", "denoise_step", "reveals anywhere in the sequence, ignoring the block", _STEP,
           "eligible = (x == mask_id) & (positions >= window[0]) & (positions < window[1])", "eligible = x == mask_id"),
    _entry("step_reveals_one_more", "denoise_step", "reveals n_reveal + 1 tokens", _STEP,
           "topk(n_reveal, dim=1)", "topk(min(n_reveal + 1, x.shape[1]), dim=1)"),
    _entry("step_confidence_with_noise", "denoise_step", "ranks by the noisy score instead of the model's probability",
           _STEP, "confidence = logits.softmax(dim=-1)", "confidence = scores.softmax(dim=-1)"),
    _entry("step_ignores_gumbel", "denoise_step", "always decodes greedily, ignoring the Gumbel noise", _STEP,
           "scores = logits if gumbel is None else logits + gumbel", "scores = logits"),
    _entry("step_random_order", "denoise_step", "reveals the first masked positions left to right, ignoring confidence",
           _STEP, "    confidence = torch.where(eligible, confidence,",
           "    confidence = -positions.float().expand_as(confidence)\n    confidence = torch.where(eligible, confidence,"),
    _entry("step_global_topk", "denoise_step", "picks the n_reveal most confident over the whole batch, not per sequence",
           _STEP, "        top = confidence.topk(n_reveal, dim=1).indices\n        chosen.scatter_(1, top, True)",
           "        top = confidence.flatten().topk(n_reveal * x.shape[0]).indices\n        chosen.view(-1)[top] = True"),
    # ---- edit_corrupt -------------------------------------------------------------------------------------------
    _entry("edit_touches_masks", "edit_corrupt", "also replaces masked positions", _EDIT,
           "edit = (x != mask_id) & (u < rate)", "edit = u < rate"),
    _entry("edit_u_greater", "edit_corrupt", "edits the tokens with u > rate", _EDIT, "(u < rate)", "(u > rate)"),
    _entry("edit_masks_instead", "edit_corrupt", "masks the chosen tokens instead of substituting them", _EDIT,
           "torch.where(edit, replacement, x)", "torch.where(edit, torch.full_like(x, mask_id), x)"),
]


# ----------------------------------------------------------------------------------------------- hints
# One sentence per entry for the student who made that mistake, shown under the failed test (issue 23).
# Entries in _HINTS_NOT_SHOWN keep their hint for the class report only: any useful hint would give the fix away.
_HINTS = {
    "schedule_formula_without_clip": "Your alpha_bar is the raw schedule function: it is not normalised and goes negative at the last step.",
    "schedule_no_clip": "Your betas are never capped, so the last step can destroy the signal completely.",
    "schedule_off_by_one": "Your first timestep has alpha_bar exactly 1, so it adds no noise: check which point of the schedule timestep i reads.",
    "schedule_betas_not_alpha_bar": "You return the per-step alphas; alpha_bar is their accumulation over steps.",
    "schedule_ignores_max_beta": "Your clip ignores the max_beta argument.",
    "q_sample_no_sqrt": "Your coefficients are the variances of the signal and the noise, not their scales.",
    "q_sample_variance_as_std": "Your noise is scaled by its variance instead of its standard deviation.",
    "q_sample_swapped": "Your coefficients of x0 and the noise are swapped: a small t should leave x_t close to x0.",
    "q_sample_index_shift": "Your timesteps index alpha_bar as if they started at 1.",
    "q_sample_first_timestep": "Every sequence of your batch uses the same timestep, but each has its own.",
    "dlm_loss_sum_over_dims": "Your squared error is summed over the embedding dimensions where the lab averages it.",
    "dlm_loss_no_rounding": "Your loss leaves out the rounding term that ties x0 back to the words.",
    "dlm_loss_norm_not_squared": "Your loss uses a distance, not a squared error.",
    "dlm_loss_ce_summed": "Your rounding term is summed over positions where the lab averages it.",
    "dlm_loss_prob_not_log": "Your rounding term is not a negative log-likelihood.",
    "round_dot_product": "Your rounding favours embeddings with a large norm: the nearest embedding is the one at the smallest distance.",
    "round_cosine": "Your rounding ignores the norms of the vectors: the nearest embedding is the one at the smallest distance.",
    "round_argmax_distance": "Your rounding picks the farthest embedding.",
    "mask_no_eps": "Your masking probability can reach 0, which the eps floor is there to avoid.",
    "mask_u_greater": "The positions you mask are not the ones the docstring's rule picks from the given draws u.",
    "mask_eps_added_to_t": "Your masking probability can exceed 1: it should go from eps to 1 as t goes from 0 to 1.",
    "mask_p_scalar": "Your p_mask has one value per sequence; the function should return one per token.",
    "loss_no_inverse_t": "Your function behaves like one that forgets the 1/t weight on masked tokens.",
    "loss_over_masked_count": "Your loss is normalised by the number of masked tokens rather than the total number of tokens.",
    "loss_all_tokens": "Your loss also scores the tokens that were not masked.",
    "loss_times_p": "Your weight makes tokens masked at a high rate count more, the opposite of the 1/t weight.",
    "loss_over_batch_only": "Your loss is normalised by the batch size only, not by the total number of tokens.",
    "loss_targets_xt": "Your targets are the corrupted tokens, not the original ones.",
    "loss_mean_p": "Each masked token should be weighted by its own masking probability, not by a batch average.",
    "schedule_remainder_last": "When steps do not divide evenly, the extra reveals go to the wrong steps of a block.",
    "schedule_floor_only": "When steps do not divide evenly, your blocks are not fully revealed by the end.",
    "schedule_steps_per_block": "Your blocks each get all the steps, so the total is far more than `steps`.",
    "schedule_whole_sequence": "Your schedule ignores the blocks: each step should only reveal inside its block.",
    "step_remask_most_confident": "Your step reveals the least confident predictions.",
    "step_overwrites_visible": "Your step can rewrite tokens that are already revealed.",
    "step_ignores_window": "Your step reveals tokens outside the current block.",
    "step_reveals_one_more": "Your step reveals more tokens than it was asked to.",
    "step_confidence_with_noise": "Your confidence includes the Gumbel noise; rank by the model's probability of the chosen token.",
    "step_ignores_gumbel": "Your step ignores the Gumbel noise it is given, so it always decodes greedily.",
    "step_random_order": "Your step reveals positions left to right, ignoring the model's confidence.",
    "step_global_topk": "Your most confident tokens are chosen over the whole batch instead of within each sequence.",
    "edit_touches_masks": "Your corruption also changes masked positions.",
    "edit_u_greater": "Your edits are drawn with the opposite comparison, so the edit rate is 1 - rate.",
    "edit_masks_instead": "Your corruption masks the chosen tokens instead of substituting other tokens.",
}
_HINTS_NOT_SHOWN = {
    "schedule_off_by_one",  # index off-by-one: any hint names the index
    "q_sample_index_shift",  # index off-by-one: any hint names the index
}
assert set(_HINTS) == {e["name"] for e in WRONG_IMPLEMENTATIONS}, "one hint per entry, no stale names"
for _wrong in WRONG_IMPLEMENTATIONS:
    _wrong["hint"] = _HINTS[_wrong["name"]]
    if _wrong["name"] in _HINTS_NOT_SHOWN:
        _wrong["show_hint"] = False
