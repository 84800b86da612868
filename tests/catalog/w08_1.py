"""Wrong implementations for lab w08-1 (GRPO, Dr. GRPO, DAPO).

Each entry replaces one answer cell of weeks/w08-1-rl-grpo/solution.ipynb (format: tests/catalog/__init__.py);
`hint` is the one student-facing sentence shown with the lost points.
"""

_ADV = '''def group_advantages(rewards, scale_by_std=True, eps=1e-4):
    if not rewards.is_floating_point():
        rewards = rewards.float()
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    if not scale_by_std:
        return centred
    return centred / (rewards.std(dim=1, keepdim=True) + eps)
'''

_CLIP = '''def clipped_surrogate(logp, logp_old, advantages, eps_low=0.2, eps_high=0.2):
    ratio = torch.exp(logp - logp_old)
    return torch.minimum(ratio * advantages, ratio.clamp(1 - eps_low, 1 + eps_high) * advantages)
'''

_AGG = '''def aggregate_token_loss(per_token, mask, mode, max_len=None):
    mask = mask.to(per_token.dtype)
    masked = torch.where(mask > 0, per_token, torch.zeros_like(per_token))
    if mode == "sequence":
        return (masked.sum(dim=1) / mask.sum(dim=1)).mean()
    if mode == "token":
        return masked.sum() / mask.sum()
    if mode == "constant":
        return masked.sum() / (per_token.shape[0] * max_len)
    raise ValueError(mode)
'''

_GRPO = '''def grpo_loss(logp, logp_old, logp_ref, advantages, mask, eps=0.2, beta=0.04):
    mask = mask.to(logp.dtype)
    ratio = torch.exp(logp - logp_old)
    adv = advantages[:, None]
    surrogate = torch.minimum(ratio * adv, ratio.clamp(1 - eps, 1 + eps) * adv)
    log_ref_ratio = logp_ref - logp
    k3 = torch.exp(log_ref_ratio) - log_ref_ratio - 1
    per_token = torch.where(mask > 0, surrogate - beta * k3, torch.zeros_like(logp))
    return -(per_token.sum(dim=1) / mask.sum(dim=1)).mean()
'''

_DAPO = '''def dapo_loss(logp, logp_old, advantages, mask, eps_low=0.2, eps_high=0.28):
    mask = mask.to(logp.dtype)
    ratio = torch.exp(logp - logp_old)
    adv = advantages[:, None]
    surrogate = torch.minimum(ratio * adv, ratio.clamp(1 - eps_low, 1 + eps_high) * adv)
    surrogate = torch.where(mask > 0, surrogate, torch.zeros_like(surrogate))
    return -surrogate.sum() / mask.sum()
'''

_INFO = '''def informative_groups(rewards):
    return (rewards != rewards[:, :1]).any(dim=1)
'''

_OVER = '''def overlong_penalty(lengths, max_len, cache_len):
    lengths = torch.as_tensor(lengths).to(torch.float64)
    soft_start = max_len - cache_len
    penalty = (soft_start - lengths) / cache_len
    penalty = torch.where(lengths <= soft_start, torch.zeros_like(penalty), penalty)
    return torch.where(lengths > max_len, torch.full_like(penalty, -1.0), penalty)
'''


def _sub(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


def _entry(name, cell, why, hint, base, old, new, loses=None, show_hint=True):
    entry = {"name": name, "cell": cell, "why": why, "hint": hint, "source": _sub(base, old, new),
             "loses": loses or [f"test_{cell}"]}
    if not show_hint:
        entry["show_hint"] = False
    return entry


WRONG_IMPLEMENTATIONS = [
    # ---- group_advantages ---------------------------------------------------------------------------------------
    _entry("adv_biased_std", "group_advantages", "divides by the biased (1/G) standard deviation, as numpy.std does",
           "Your advantages behave as if the group's spread were measured with 1/G rather than the convention the lab states.",
           _ADV, "rewards.std(dim=1, keepdim=True)", "rewards.std(dim=1, keepdim=True, unbiased=False)"),
    _entry("adv_no_centring", "group_advantages", "scales the rewards by the std without subtracting the group mean",
           "Your advantages are not zero on average within a group: the baseline is missing.",
           _ADV, "centred = rewards - rewards.mean(dim=1, keepdim=True)", "centred = rewards"),
    _entry("adv_batch_statistics", "group_advantages", "uses the mean and std of the whole batch instead of each group's",
           "Your advantages mix the groups: each prompt's responses should be compared only with each other.",
           _ADV, "centred = rewards - rewards.mean(dim=1, keepdim=True)\n    if not scale_by_std:\n        return centred\n"
           "    return centred / (rewards.std(dim=1, keepdim=True) + eps)",
           "centred = rewards - rewards.mean()\n    if not scale_by_std:\n        return centred\n"
           "    return centred / (rewards.std() + eps)"),
    _entry("adv_wrong_axis", "group_advantages", "normalises along dim 0 (across groups) instead of along each row",
           "Your statistics run along the wrong axis of the (n_groups, G) table.",
           _ADV, "centred = rewards - rewards.mean(dim=1, keepdim=True)\n    if not scale_by_std:\n        return centred\n"
           "    return centred / (rewards.std(dim=1, keepdim=True) + eps)",
           "centred = rewards - rewards.mean(dim=0, keepdim=True)\n    if not scale_by_std:\n        return centred\n"
           "    return centred / (rewards.std(dim=0, keepdim=True) + eps)"),
    _entry("adv_always_std", "group_advantages", "ignores scale_by_std: Dr. GRPO's advantages are still divided by the std",
           "Your Dr. GRPO branch still rescales each group, which is the very correction Dr. GRPO removes.",
           _ADV, "    if not scale_by_std:\n        return centred\n", ""),
    _entry("adv_no_eps", "group_advantages", "divides by the std without eps: all-equal groups give 0/0 = nan",
           "Your function breaks on a group whose rewards are all equal.",
           _ADV, "(rewards.std(dim=1, keepdim=True) + eps)", "rewards.std(dim=1, keepdim=True)"),
    _entry("adv_divide_by_mean", "group_advantages", "divides the centred rewards by the group mean instead of the std",
           "Your GRPO scaling uses the wrong statistic of the group.",
           _ADV, "(rewards.std(dim=1, keepdim=True) + eps)", "(rewards.mean(dim=1, keepdim=True) + eps)"),
    # ---- clipped_surrogate ----------------------------------------------------------------------------------------
    _entry("clip_single_eps", "clipped_surrogate", "uses eps_low on both sides (ignores clip-higher)",
           "Your clip range is symmetric even when the two bounds are given different values.",
           _CLIP, "1 + eps_high", "1 + eps_low"),
    _entry("clip_swapped_eps", "clipped_surrogate", "swaps eps_low and eps_high",
           "Your clip range puts each epsilon on the other side.",
           _CLIP, "ratio.clamp(1 - eps_low, 1 + eps_high)", "ratio.clamp(1 - eps_high, 1 + eps_low)"),
    _entry("clip_max_not_min", "clipped_surrogate", "takes the max of the clipped and unclipped terms (optimistic bound)",
           "Your surrogate takes the optimistic of the two terms, so the clip never limits an update.",
           _CLIP, "torch.minimum(", "torch.maximum("),
    _entry("clip_no_min", "clipped_surrogate", "returns only the clipped term, without the min",
           "Your surrogate keeps a gradient-free clipped value even where the unclipped term is the pessimistic one.",
           _CLIP, "torch.minimum(ratio * advantages, ratio.clamp(1 - eps_low, 1 + eps_high) * advantages)",
           "ratio.clamp(1 - eps_low, 1 + eps_high) * advantages"),
    _entry("clip_inverted_ratio", "clipped_surrogate", "computes the ratio as pi_old / pi_theta",
           "Your importance ratio is upside down.",
           _CLIP, "torch.exp(logp - logp_old)", "torch.exp(logp_old - logp)"),
    # ---- aggregate_token_loss -----------------------------------------------------------------------------------
    _entry("agg_sequence_is_token_mean", "aggregate_token_loss", "'sequence' mode averages all tokens of the batch",
           "Your GRPO aggregation weighs every token the same, so the per-response average that causes the length bias is gone.",
           _AGG, "return (masked.sum(dim=1) / mask.sum(dim=1)).mean()", "return masked.sum() / mask.sum()"),
    _entry("agg_token_is_sequence_mean", "aggregate_token_loss", "'token' mode averages each response first",
           "Your DAPO aggregation still averages each response on its own before averaging responses.",
           _AGG, "    if mode == \"token\":\n        return masked.sum() / mask.sum()",
           "    if mode == \"token\":\n        return (masked.sum(dim=1) / mask.sum(dim=1)).mean()"),
    _entry("agg_constant_longest_in_batch", "aggregate_token_loss", "'constant' divides by the longest response of the batch",
           "Your Dr. GRPO normaliser changes with the batch's lengths instead of being a fixed budget.",
           _AGG, "masked.sum() / (per_token.shape[0] * max_len)", "masked.sum() / (per_token.shape[0] * mask.sum(dim=1).max())"),
    _entry("agg_constant_no_batch", "aggregate_token_loss", "'constant' divides by max_len only, not by N * max_len",
           "Your Dr. GRPO normaliser forgets the number of responses in the batch.",
           _AGG, "masked.sum() / (per_token.shape[0] * max_len)", "masked.sum() / max_len"),
    _entry("agg_ignores_mask_in_sum", "aggregate_token_loss", "sums the padding positions too (counts the mask right)",
           "Your sums include values at padding positions.",
           _AGG, "masked = torch.where(mask > 0, per_token, torch.zeros_like(per_token))", "masked = per_token"),
    _entry("agg_sequence_divides_by_T", "aggregate_token_loss", "'sequence' divides each response by the padded width T",
           "Your per-response average divides by the padded width instead of the response's own length.",
           _AGG, "return (masked.sum(dim=1) / mask.sum(dim=1)).mean()", "return (masked.sum(dim=1) / per_token.shape[1]).mean()"),
    # ---- grpo_loss ------------------------------------------------------------------------------------------------
    _entry("grpo_kl_sign", "grpo_loss", "adds the KL to the objective (the loss rewards moving away from the reference)",
           "Your KL term pushes the policy away from the reference instead of towards it.",
           _GRPO, "surrogate - beta * k3", "surrogate + beta * k3"),
    _entry("grpo_k1", "grpo_loss", "uses the k1 estimator log(pi_theta / pi_ref) instead of k3",
           "Your KL estimator is unbiased but can be negative token by token: it is not the one DeepSeekMath uses.",
           _GRPO, "k3 = torch.exp(log_ref_ratio) - log_ref_ratio - 1", "k3 = -log_ref_ratio"),
    _entry("grpo_k2", "grpo_loss", "uses the k2 estimator 0.5 * log(pi_ref / pi_theta)^2",
           "Your KL estimator is non-negative but biased: check which estimator DeepSeekMath writes.",
           _GRPO, "k3 = torch.exp(log_ref_ratio) - log_ref_ratio - 1", "k3 = 0.5 * log_ref_ratio ** 2"),
    _entry("grpo_k3_reversed", "grpo_loss", "computes k3 with r = pi_theta / pi_ref (estimates the other KL direction)",
           "Your KL estimator uses the ratio of the two policies the other way round.",
           _GRPO, "log_ref_ratio = logp_ref - logp", "log_ref_ratio = logp - logp_ref"),
    _entry("grpo_token_mean", "grpo_loss", "averages over all tokens of the batch (DAPO's aggregation, not GRPO's)",
           "Your GRPO loss does not average each response over its own tokens first.",
           _GRPO, "return -(per_token.sum(dim=1) / mask.sum(dim=1)).mean()", "return -per_token.sum() / mask.sum()"),
    _entry("grpo_returns_objective", "grpo_loss", "returns the objective J instead of the loss -J",
           "Your function returns the quantity to maximise; the lab asks for the loss to minimise.",
           _GRPO, "return -(per_token.sum(dim=1) / mask.sum(dim=1)).mean()", "return (per_token.sum(dim=1) / mask.sum(dim=1)).mean()"),
    _entry("grpo_kl_outside_mean", "grpo_loss", "adds beta * k3 summed over tokens, outside the per-response average",
           "Your KL term is not averaged over the response's tokens like the rest of the objective.",
           _GRPO, "    per_token = torch.where(mask > 0, surrogate - beta * k3, torch.zeros_like(logp))\n"
           "    return -(per_token.sum(dim=1) / mask.sum(dim=1)).mean()",
           "    per_token = torch.where(mask > 0, surrogate, torch.zeros_like(logp))\n"
           "    kl = torch.where(mask > 0, k3, torch.zeros_like(logp)).sum(dim=1)\n"
           "    return -(per_token.sum(dim=1) / mask.sum(dim=1)).mean() + beta * kl.mean()"),
    _entry("grpo_no_mask_on_kl", "grpo_loss", "lets the KL of padding positions into the loss",
           "Your loss is affected by the log-probs at padding positions.",
           _GRPO, "per_token = torch.where(mask > 0, surrogate - beta * k3, torch.zeros_like(logp))",
           "per_token = torch.where(mask > 0, surrogate, torch.zeros_like(logp)) - beta * k3"),
    # ---- dapo_loss ----------------------------------------------------------------------------------------------
    _entry("dapo_sequence_mean", "dapo_loss", "averages each response first (GRPO's aggregation)",
           "Your DAPO loss still gives short responses' tokens more weight than long ones'.",
           _DAPO, "return -surrogate.sum() / mask.sum()", "return -(surrogate.sum(dim=1) / mask.sum(dim=1)).mean()"),
    _entry("dapo_symmetric_clip", "dapo_loss", "clips at 1 + eps_low (no clip-higher)",
           "Your upper clip bound does not use its own epsilon.",
           _DAPO, "1 + eps_high", "1 + eps_low"),
    _entry("dapo_default_eps_high", "dapo_loss", "defaults eps_high to 0.2 instead of DAPO's 0.28",
           "Your default upper clip is not the value DAPO recommends.",
           _DAPO, "eps_high=0.28", "eps_high=0.2"),
    _entry("dapo_no_mask", "dapo_loss", "averages over every position including padding",
           "Your token average counts padding positions.",
           _DAPO, "    surrogate = torch.where(mask > 0, surrogate, torch.zeros_like(surrogate))\n    return -surrogate.sum() / mask.sum()",
           "    return -surrogate.mean()"),
    # ---- informative_groups -------------------------------------------------------------------------------------
    _entry("info_inverted", "informative_groups", "keeps the groups whose rewards are all equal",
           "Your filter keeps exactly the groups that carry no gradient.",
           _INFO, "return (rewards != rewards[:, :1]).any(dim=1)", "return (rewards == rewards[:, :1]).all(dim=1)"),
    _entry("info_only_all_wrong", "informative_groups", "drops only all-zero groups (keeps all-correct ones)",
           "Your filter still keeps groups in which every answer got the same non-zero reward.",
           _INFO, "return (rewards != rewards[:, :1]).any(dim=1)", "return rewards.sum(dim=1) > 0"),
    _entry("info_binary_accuracy", "informative_groups", "tests 0 < mean reward < 1 (breaks on shaped rewards)",
           "Your filter assumes rewards are 0 or 1, which overlong shaping breaks.",
           _INFO, "return (rewards != rewards[:, :1]).any(dim=1)",
           "m = rewards.mean(dim=1)\n    return (m > 0) & (m < 1)"),
    # ---- overlong_penalty ---------------------------------------------------------------------------------------
    _entry("over_hard_cutoff", "overlong_penalty", "gives -1 beyond max_len and nothing in the soft zone",
           "Your penalty has no soft zone before the maximum length.",
           _OVER, "    penalty = (soft_start - lengths) / cache_len\n", "    penalty = torch.zeros_like(lengths)\n"),
    _entry("over_wrong_sign", "overlong_penalty", "the soft-zone penalty is positive (a bonus for length)",
           "Your soft zone rewards length instead of punishing it.",
           _OVER, "(soft_start - lengths) / cache_len", "(lengths - soft_start) / cache_len"),
    _entry("over_unbounded", "overlong_penalty", "keeps the linear penalty beyond max_len (goes below -1)",
           "Your penalty keeps growing past the maximum length.",
           _OVER, "    return torch.where(lengths > max_len, torch.full_like(penalty, -1.0), penalty)", "    return penalty"),
    _entry("over_divide_by_max_len", "overlong_penalty", "divides the soft-zone excess by max_len instead of cache_len",
           "Your soft zone's slope is measured against the wrong length.",
           _OVER, "(soft_start - lengths) / cache_len", "(soft_start - lengths) / max_len"),
]
