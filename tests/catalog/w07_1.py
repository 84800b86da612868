"""Wrong implementations for lab w07-1 (InstructGPT's SFT and reward model, DPO, KTO, Constitutional AI).

Each entry replaces one answer cell of weeks/w07-1-alignment/solution.ipynb (format: tests/catalog/__init__.py).
"""

_SEQ = '''def sequence_logprobs(logits, input_ids, loss_mask):
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    token_logp = logp.gather(-1, input_ids[:, 1:, None])[..., 0]
    return (token_logp * loss_mask[:, 1:].to(token_logp.dtype)).sum(dim=-1)
'''

_SFT = '''def sft_loss(logits, input_ids, loss_mask):
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    nll = -logp.gather(-1, input_ids[:, 1:, None])[..., 0]
    mask = loss_mask[:, 1:].to(nll.dtype)
    return (nll * mask).sum() / mask.sum()
'''

_RM = '''def reward_model_loss(rewards, ranking):
    diff = rewards[:, :, None] - rewards[:, None, :]
    better = ranking[:, :, None] < ranking[:, None, :]
    k = rewards.shape[1]
    per_prompt = (F.logsigmoid(diff) * better).sum(dim=(1, 2)) / (k * (k - 1) / 2)
    return -per_prompt.mean()
'''

_KL = '''def kl_optimal_policy(log_pi_ref, rewards, beta):
    return torch.log_softmax(log_pi_ref + rewards / beta, dim=-1)
'''

_DPO = '''def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta, p_chosen=1.0):
    chosen_rewards = beta * (policy_chosen_logps - ref_chosen_logps)
    rejected_rewards = beta * (policy_rejected_logps - ref_rejected_logps)
    margin = chosen_rewards - rejected_rewards
    losses = -p_chosen * F.logsigmoid(margin) - (1 - p_chosen) * F.logsigmoid(-margin)
    return losses, chosen_rewards.detach(), rejected_rewards.detach()
'''

_Z0 = '''def kto_reference_point(logratio_matrix):
    n = logratio_matrix.shape[0]
    off_diagonal = ~torch.eye(n, dtype=torch.bool)
    values = logratio_matrix[off_diagonal]
    values = values[~torch.isnan(values)]
    return max(0.0, float(values.mean()))
'''

_KTO = '''def kto_loss(policy_logps, ref_logps, desirable, z0, beta, lambda_d=1.0, lambda_u=1.0):
    r = policy_logps - ref_logps
    desirable = desirable.to(torch.bool)
    value = torch.where(desirable, lambda_d * torch.sigmoid(beta * (r - z0)), lambda_u * torch.sigmoid(beta * (z0 - r)))
    weight = torch.where(desirable, torch.full_like(r, lambda_d), torch.full_like(r, lambda_u))
    return weight - value
'''

_AIF = '''def ai_preference_labels(option_logprobs):
    return torch.softmax(option_logprobs, dim=-1)[..., 0].mean(dim=-1)
'''


def _sub(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


def _entry(name, cell, why, hint, base, old, new, loses=None, show_hint=True):
    e = {"name": name, "cell": cell, "why": why, "hint": hint, "source": _sub(base, old, new),
         "loses": loses or [f"test_{cell}"]}
    if not show_hint:
        e["show_hint"] = False
    return e


def _full(name, cell, why, hint, source, loses=None):
    return {"name": name, "cell": cell, "why": why, "hint": hint, "source": source, "loses": loses or [f"test_{cell}"]}


WRONG_IMPLEMENTATIONS = [
    # ---- sequence_logprobs
    _full("seq_no_shift", "sequence_logprobs", "reads token t's log-prob from the logits at t (no causal shift)",
          "Your function behaves as if the logits at a position predicted the token at that same position.",
          '''def sequence_logprobs(logits, input_ids, loss_mask):
    logp = torch.log_softmax(logits, dim=-1)
    return (logp.gather(-1, input_ids[..., None])[..., 0] * loss_mask.to(logp.dtype)).sum(dim=-1)
'''),
    _entry("seq_mask_not_shifted", "sequence_logprobs", "shifts the logits but takes the mask of the predicting position",
           "Your mask is aligned with the position that predicts a token rather than with the token being scored.",
           _SEQ, "loss_mask[:, 1:]", "loss_mask[:, :-1]"),
    _entry("seq_mean_not_sum", "sequence_logprobs", "averages the token log-probs instead of summing them",
           "Your function returns a per-token average, while the probability of a whole response multiplies its tokens' probabilities.",
           _SEQ, "(token_logp * loss_mask[:, 1:].to(token_logp.dtype)).sum(dim=-1)",
           "(token_logp * loss_mask[:, 1:].to(token_logp.dtype)).sum(dim=-1) / loss_mask[:, 1:].sum(dim=-1)"),
    _entry("seq_ignores_mask", "sequence_logprobs", "scores every token, prompt and padding included",
           "Your function also counts tokens that are not part of the response (prompt, padding).",
           _SEQ, "(token_logp * loss_mask[:, 1:].to(token_logp.dtype)).sum(dim=-1)", "token_logp.sum(dim=-1)"),
    _entry("seq_raw_logits", "sequence_logprobs", "gathers raw logits instead of log-probabilities",
           "Your function sums unnormalised scores: they are not log-probabilities until normalised over the vocabulary.",
           _SEQ, "logp = torch.log_softmax(logits[:, :-1], dim=-1)", "logp = logits[:, :-1]"),
    _entry("seq_softmax_over_time", "sequence_logprobs", "normalises over the time axis instead of the vocabulary",
           "Your normalisation runs over the wrong axis of the logits.",
           _SEQ, "torch.log_softmax(logits[:, :-1], dim=-1)", "torch.log_softmax(logits[:, :-1], dim=1)"),
    # ---- sft_loss
    _entry("sft_no_prompt_mask", "sft_loss", "trains on the prompt tokens as well",
           "Your SFT loss also counts the prompt (and padding) tokens, which the model is given rather than asked to produce.",
           _SFT, "mask = loss_mask[:, 1:].to(nll.dtype)", "mask = torch.ones_like(nll)"),
    _entry("sft_mean_of_sequence_means", "sft_loss", "averages per-sequence means (short responses weigh more)",
           "Your loss weighs each response equally rather than each response token equally.",
           _SFT, "return (nll * mask).sum() / mask.sum()", "return ((nll * mask).sum(1) / mask.sum(1)).mean()"),
    _entry("sft_sum", "sft_loss", "sums the token losses instead of averaging them",
           "Your loss grows with the number of response tokens in the batch.",
           _SFT, "return (nll * mask).sum() / mask.sum()", "return (nll * mask).sum()"),
    _full("sft_no_shift", "sft_loss", "cross-entropy of logits[t] against input_ids[t]",
          "Your loss behaves as if the logits at a position predicted the token at that same position.",
          '''def sft_loss(logits, input_ids, loss_mask):
    nll = F.cross_entropy(logits.transpose(1, 2), input_ids, reduction="none")
    mask = loss_mask.to(nll.dtype)
    return (nll * mask).sum() / mask.sum()
'''),
    # ---- reward_model_loss
    _entry("rm_sign_flipped", "reward_model_loss", "rewards the worse response",
           "Your loss is lowest when the worse-ranked response gets the higher reward.",
           _RM, "better = ranking[:, :, None] < ranking[:, None, :]", "better = ranking[:, :, None] > ranking[:, None, :]"),
    _full("rm_adjacent_pairs_only", "reward_model_loss", "uses only the K-1 neighbouring pairs of the ranking",
          "Your loss uses fewer comparisons than a full ranking of K responses provides.",
          '''def reward_model_loss(rewards, ranking):
    order = ranking.argsort(dim=1)
    r = rewards.gather(1, order)
    return -F.logsigmoid(r[:, :-1] - r[:, 1:]).mean()
'''),
    _entry("rm_no_normalisation", "reward_model_loss", "sums the pair losses instead of dividing by C(K, 2)",
           "Your loss for one prompt grows with the number of responses ranked.",
           _RM, " / (k * (k - 1) / 2)", ""),
    _full("rm_ignores_ranking", "reward_model_loss", "assumes the columns are already sorted best first",
          "Your loss assumes the responses arrive sorted from best to worst.",
          '''def reward_model_loss(rewards, ranking):
    k = rewards.shape[1]
    i, j = torch.triu_indices(k, k, offset=1)
    return -F.logsigmoid(rewards[:, i] - rewards[:, j]).mean()
'''),
    _entry("rm_all_ordered_pairs", "reward_model_loss", "divides by K^2 including the diagonal and both orders",
           "Your normalisation does not count the comparisons a ranking of K responses contains.",
           _RM, " / (k * (k - 1) / 2)", " / (k * k)"),
    _entry("rm_sigmoid_not_log", "reward_model_loss", "maximises sigmoid(margin) instead of its log",
           "Your loss is not the negative log-likelihood of the Bradley-Terry model.",
           _RM, "F.logsigmoid(diff)", "torch.sigmoid(diff)"),
    # ---- kl_optimal_policy
    _entry("kl_forgets_reference", "kl_optimal_policy", "softmax of r / beta, without pi_ref",
           "Your optimum does not depend on the reference policy the KL term pulls towards.",
           _KL, "log_pi_ref + rewards / beta", "rewards / beta"),
    _entry("kl_reward_times_beta", "kl_optimal_policy", "multiplies the reward by beta",
           "Your optimum moves away from the reference as beta grows, the opposite of what a stronger KL price does.",
           _KL, "rewards / beta", "rewards * beta"),
    _entry("kl_minus_reward", "kl_optimal_policy", "exp(-r / beta)",
           "Your optimum favours low-reward responses.", _KL, "log_pi_ref + rewards / beta", "log_pi_ref - rewards / beta"),
    _entry("kl_unnormalised", "kl_optimal_policy", "forgets the partition function Z",
           "Your rows are not distributions: the partition function is missing.",
           _KL, "torch.log_softmax(log_pi_ref + rewards / beta, dim=-1)", "log_pi_ref + rewards / beta"),
    _entry("kl_normalised_over_prompts", "kl_optimal_policy", "normalises over the prompts axis",
           "Your normalisation runs across prompts instead of across the responses to one prompt.",
           _KL, "dim=-1", "dim=0"),
    _entry("kl_returns_probabilities", "kl_optimal_policy", "returns probabilities instead of log-probabilities",
           "Your function returns something other than what its docstring promises (look at the log).",
           _KL, "return torch.log_softmax(log_pi_ref + rewards / beta, dim=-1)",
           "return torch.softmax(log_pi_ref + rewards / beta, dim=-1)"),
    # ---- dpo_loss
    _entry("dpo_no_reference", "dpo_loss", "uses policy log-probs alone (no reference)",
           "Your implicit reward ignores the reference model.",
           _DPO, "chosen_rewards = beta * (policy_chosen_logps - ref_chosen_logps)\n    rejected_rewards = beta * (policy_rejected_logps - ref_rejected_logps)",
           "chosen_rewards = beta * policy_chosen_logps\n    rejected_rewards = beta * policy_rejected_logps"),
    _entry("dpo_beta_outside", "dpo_loss", "beta * -log sigmoid(margin without beta)",
           "Your beta scales the loss rather than the implicit reward inside it.",
           _DPO, "losses = -p_chosen * F.logsigmoid(margin) - (1 - p_chosen) * F.logsigmoid(-margin)",
           "losses = beta * (-p_chosen * F.logsigmoid(margin / beta) - (1 - p_chosen) * F.logsigmoid(-margin / beta))"),
    _entry("dpo_rewards_without_beta", "dpo_loss", "returns the log-ratios as rewards, without beta",
           "The implicit rewards you return are not on the scale the loss uses.",
           _DPO, "return losses, chosen_rewards.detach(), rejected_rewards.detach()",
           "return losses, (chosen_rewards / beta).detach(), (rejected_rewards / beta).detach()"),
    _entry("dpo_sign_flipped", "dpo_loss", "margin rejected - chosen",
           "Your loss is lowest when the rejected response is preferred.",
           _DPO, "margin = chosen_rewards - rejected_rewards", "margin = rejected_rewards - chosen_rewards"),
    _entry("dpo_ignores_soft_labels", "dpo_loss", "always uses the hard-label loss",
           "Your loss ignores the probability that the chosen response is preferred.",
           _DPO, "losses = -p_chosen * F.logsigmoid(margin) - (1 - p_chosen) * F.logsigmoid(-margin)",
           "losses = -F.logsigmoid(margin)"),
    _entry("dpo_soft_labels_swapped", "dpo_loss", "puts the label weight on the wrong term",
           "Your soft-label loss weighs its two terms the wrong way round.",
           _DPO, "losses = -p_chosen * F.logsigmoid(margin) - (1 - p_chosen) * F.logsigmoid(-margin)",
           "losses = -(1 - p_chosen) * F.logsigmoid(margin) - p_chosen * F.logsigmoid(-margin)"),
    _entry("dpo_reduced", "dpo_loss", "returns the mean loss instead of one per pair",
           "Your function reduces the losses, while the caller expects one per pair.",
           _DPO, "return losses, chosen_rewards", "return losses.mean(), chosen_rewards"),
    _entry("dpo_logratio_difference_outside", "dpo_loss", "log sigmoid of the policy margin, minus the reference margin",
           "Your reference log-probs enter the loss outside the sigmoid instead of inside the implicit reward.",
           _DPO, "losses = -p_chosen * F.logsigmoid(margin) - (1 - p_chosen) * F.logsigmoid(-margin)",
           "pm = beta * (policy_chosen_logps - policy_rejected_logps)\n    rm = beta * (ref_chosen_logps - ref_rejected_logps)\n"
           "    losses = -p_chosen * F.logsigmoid(pm) - (1 - p_chosen) * F.logsigmoid(-pm) + rm"),
    # ---- kto_reference_point
    _full("z0_includes_diagonal", "kto_reference_point", "averages every computed entry, matched pairs included",
          "Your estimate includes pairs where the output belongs to its own prompt.",
          '''def kto_reference_point(logratio_matrix):
    values = logratio_matrix[~torch.isnan(logratio_matrix)]
    return max(0.0, float(values.mean()))
'''),
    _entry("z0_no_clamp", "kto_reference_point", "does not clamp at 0",
           "Your estimate of a KL divergence can come out negative.", _Z0,
           "return max(0.0, float(values.mean()))", "return float(values.mean())"),
    _entry("z0_nan_propagates", "kto_reference_point", "does not drop the NaN (not computed) entries",
           "Entries that were never computed leak into your average.", _Z0,
           "    values = values[~torch.isnan(values)]\n", ""),
    _full("z0_diagonal_only", "kto_reference_point", "uses the matched pairs (the diagonal)",
          "Your estimate uses the matched (prompt, own output) pairs.",
          '''def kto_reference_point(logratio_matrix):
    return max(0.0, float(torch.diagonal(logratio_matrix).mean()))
'''),
    _entry("z0_abs", "kto_reference_point", "averages absolute log-ratios",
           "Your estimate treats negative log-ratios as positive.", _Z0,
           "values = values[~torch.isnan(values)]", "values = values[~torch.isnan(values)].abs()"),
    _entry("z0_returns_tensor", "kto_reference_point", "returns a tensor (which may carry a gradient)",
           "Your reference point is returned as a tensor, which can carry a gradient into the loss.", _Z0,
           "return max(0.0, float(values.mean()))", "return values.mean().clamp(min=0)"),
    # ---- kto_loss
    _entry("kto_undesirable_same_sign", "kto_loss", "undesirable examples use sigmoid(beta (r - z0)) too",
           "Your loss rewards undesirable outputs for gaining probability.", _KTO,
           "lambda_u * torch.sigmoid(beta * (z0 - r))", "lambda_u * torch.sigmoid(beta * (r - z0))"),
    _entry("kto_no_reference_point", "kto_loss", "ignores z0",
           "Your value does not depend on the reference point.", _KTO, "r = policy_logps - ref_logps",
           "r = policy_logps - ref_logps\n    z0 = 0.0"),
    _entry("kto_lambdas_swapped", "kto_loss", "weights desirable by lambda_U and undesirable by lambda_D",
           "Your desirable and undesirable weights are attached to the wrong kind of example.", _KTO,
           "value = torch.where(desirable, lambda_d * torch.sigmoid(beta * (r - z0)), lambda_u * torch.sigmoid(beta * (z0 - r)))\n"
           "    weight = torch.where(desirable, torch.full_like(r, lambda_d), torch.full_like(r, lambda_u))",
           "value = torch.where(desirable, lambda_u * torch.sigmoid(beta * (r - z0)), lambda_d * torch.sigmoid(beta * (z0 - r)))\n"
           "    weight = torch.where(desirable, torch.full_like(r, lambda_u), torch.full_like(r, lambda_d))"),
    _entry("kto_log_sigmoid", "kto_loss", "uses -log sigmoid (DPO-style) instead of lambda - v",
           "Your loss is not the prospect-theoretic value (it is unbounded, unlike lambda - v).", _KTO,
           "return weight - value", "return -weight * torch.log(value / weight)"),
    _entry("kto_no_beta", "kto_loss", "forgets beta inside the sigmoid",
           "Your value does not change with beta.", _KTO,
           "value = torch.where(desirable, lambda_d * torch.sigmoid(beta * (r - z0)), lambda_u * torch.sigmoid(beta * (z0 - r)))",
           "value = torch.where(desirable, lambda_d * torch.sigmoid(r - z0), lambda_u * torch.sigmoid(z0 - r))"),
    # ---- ai_preference_labels
    _entry("aif_softmax_over_principles", "ai_preference_labels", "normalises across the principles axis",
           "Your normalisation runs over the principles instead of over the two options.", _AIF,
           "torch.softmax(option_logprobs, dim=-1)[..., 0].mean(dim=-1)", "torch.softmax(option_logprobs, dim=1)[..., 0].mean(dim=-1)"),
    _entry("aif_unnormalised", "ai_preference_labels", "uses exp(log p(A)) without normalising over the two options",
           "Your label still includes the probability the labeller gave to tokens other than the two options.", _AIF,
           "torch.softmax(option_logprobs, dim=-1)[..., 0]", "option_logprobs.exp()[..., 0]"),
    _full("aif_average_logprobs_first", "ai_preference_labels", "averages log-probs over principles, then normalises",
          "Your ensembling averages before normalising, not the normalised probabilities.",
          '''def ai_preference_labels(option_logprobs):
    return torch.softmax(option_logprobs.mean(dim=1), dim=-1)[..., 0]
'''),
    _entry("aif_returns_p_b", "ai_preference_labels", "returns P(B)",
           "Your label is the probability of the other option.", _AIF, "[..., 0]", "[..., 1]"),
    _entry("aif_hard_labels", "ai_preference_labels", "majority vote of hard choices",
           "Your labels are hard choices, so they lose how confident the labeller was.", _AIF,
           "torch.softmax(option_logprobs, dim=-1)[..., 0].mean(dim=-1)",
           "(option_logprobs[..., 0] > option_logprobs[..., 1]).to(option_logprobs.dtype).mean(dim=-1)"),
]
