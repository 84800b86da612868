"""Wrong implementations for lab w07-2 (REINFORCE, RLOO, GAE, PPO, KL estimators and the KL-penalised reward).

Each entry replaces one answer cell of weeks/w07-2-rl-policy-gradient/solution.ipynb (format: tests/catalog/__init__.py);
`hint` is one student-facing sentence naming the likely mistake.
"""

_LOGPROBS = '''def response_logprobs(logits: torch.Tensor, sequences: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
    """Per-token log-probabilities of the sampled response tokens under the policy.

    logits:        (B, T, V) the causal LM's logits on the full sequences; logits[:, t] predict token t + 1
    sequences:     (B, T) int64 prompt + response (+ padding)
    response_mask: (B, T) bool, True at the response tokens (END included), False on prompt and padding
    Returns (B, T) float: log pi(sequences[b, t] | sequences[b, :t]) where response_mask is True, 0 elsewhere.
    """
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)  # position t-1 predicts token t
    picked = logp.gather(-1, sequences[:, 1:, None]).squeeze(-1)
    out = torch.zeros(sequences.shape, dtype=picked.dtype)
    out[:, 1:] = picked
    return torch.where(response_mask.bool(), out, torch.zeros_like(out))
'''

_REINFORCE = '''def reinforce_loss(logprobs: torch.Tensor, mask: torch.Tensor, rewards: torch.Tensor, baseline: torch.Tensor) -> torch.Tensor:
    """REINFORCE with a baseline, as a loss whose gradient is minus the policy-gradient estimate.

    logprobs: (B, T) log pi of each sampled token (any values where mask is False)
    mask:     (B, T) bool, True at the response tokens
    rewards:  (B,) sequence rewards R_i;  baseline: (B,) b_i (a constant: no gradient flows through it)
    Returns the scalar  -(1/B) sum_i (R_i - b_i) * sum_t mask_it * logprobs_it.
    """
    seq_logp = (logprobs * mask.to(logprobs.dtype)).sum(dim=1)
    weight = (rewards - baseline).to(logprobs.dtype).detach()
    return -(weight * seq_logp).mean()
'''

_RLOO = '''def rloo_advantages(rewards: torch.Tensor) -> torch.Tensor:
    """RLOO: each sample's reward minus the mean reward of the other k - 1 samples of the same prompt.

    rewards: (P, k) rewards of k >= 2 samples for each of P prompts.  Returns (P, k) advantages.
    """
    k = rewards.shape[1]
    others = (rewards.sum(dim=1, keepdim=True) - rewards) / (k - 1)
    return rewards - others
'''

_GAE = '''def gae_advantages(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float) -> torch.Tensor:
    """Generalised advantage estimation over the response tokens of each row.

    rewards: (B, T) per-token rewards r_t;  values: (B, T) V(s_t), the value of the state in which token t is
    emitted;  mask: (B, T) bool, True on one contiguous run of response tokens per row (the episode).
    After a row's last response token the episode ends: V = 0 there.  Values and rewards outside the mask
    are ignored.  Returns (B, T): A_t = sum_l (gamma * lam)^l delta_{t+l},  delta_t = r_t + gamma V(s_{t+1}) - V(s_t),
    on the response tokens, 0 elsewhere.
    """
    m = mask.to(values.dtype)
    r, v = rewards * m, values * m
    B, T = values.shape
    adv = torch.zeros_like(v)
    next_adv = torch.zeros(B, dtype=v.dtype)
    next_value = torch.zeros(B, dtype=v.dtype)
    for t in reversed(range(T)):
        delta = r[:, t] + gamma * next_value - v[:, t]
        a = delta + gamma * lam * next_adv
        adv[:, t] = a * m[:, t]
        next_adv = torch.where(mask[:, t], a, torch.zeros_like(a))
        next_value = torch.where(mask[:, t], v[:, t], torch.zeros_like(a))
    return adv
'''

_CLIP = '''def ppo_clip_loss(logp_new: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor, clip_eps: float) -> torch.Tensor:
    """PPO's clipped surrogate, as a loss (minus the objective), averaged over all response tokens of the batch.

    All tensors (B, T); mask bool.  ratio = exp(logp_new - logp_old).
    Returns -sum_{masked} min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A) / (number of masked tokens).
    """
    ratio = torch.exp(logp_new - logp_old)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * advantages
    per_token = -torch.minimum(unclipped, clipped)
    m = mask.to(per_token.dtype)
    return (per_token * m).sum() / m.sum()
'''

_VALUE = '''def ppo_value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor, clip_eps: float) -> torch.Tensor:
    """The critic's loss with PPO2-style value clipping, averaged over the response tokens of the batch.

    All tensors (B, T); mask bool.  v_clip = old_values + clip(values - old_values, -eps, eps).
    Returns 0.5 * sum_{masked} max((values - returns)^2, (v_clip - returns)^2) / (number of masked tokens).
    """
    v_clip = old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)
    per_token = 0.5 * torch.maximum((values - returns) ** 2, (v_clip - returns) ** 2)
    m = mask.to(per_token.dtype)
    return (per_token * m).sum() / m.sum()
'''

_ENTROPY = '''def masked_entropy(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean entropy (nats) of the next-token distributions softmax(logits[b, t]) over the positions where mask is True.

    logits: (B, T, V), may hold -inf (forbidden tokens);  mask: (B, T) bool.  Returns a scalar.
    """
    logp = torch.log_softmax(logits, dim=-1)
    p = logp.exp()
    ent = -(p * torch.where(p > 0, logp, torch.zeros_like(logp))).sum(-1)
    m = mask.to(ent.dtype)
    return (ent * m).sum() / m.sum()
'''

_KL = '''def kl_estimators(logp: torch.Tensor, logp_ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Schulman's k1, k2, k3 estimators of KL(pi || pi_ref), per token, for tokens sampled from pi.

    logp, logp_ref: same shape, log pi(x) and log pi_ref(x) of the sampled tokens.
    With log r = logp_ref - logp:  k1 = -log r,  k2 = (log r)^2 / 2,  k3 = (r - 1) - log r.  Returns (k1, k2, k3).
    """
    log_r = logp_ref - logp
    return -log_r, 0.5 * log_r**2, torch.expm1(log_r) - log_r
'''

_KLREW = '''def kl_penalized_rewards(scores: torch.Tensor, logp: torch.Tensor, logp_ref: torch.Tensor, mask: torch.Tensor, beta: float, estimator: str = "k1") -> torch.Tensor:
    """Per-token rewards with a KL penalty (Ziegler et al.; InstructGPT): -beta * k_t on every response token,
    plus the sequence's score on its last response token.

    scores: (B,) the reward model's / verifier's score;  logp, logp_ref, mask: (B, T);  estimator: "k1", "k2" or "k3".
    Returns (B, T), 0 outside the mask.
    """
    k1, k2, k3 = kl_estimators(logp, logp_ref)
    k = {"k1": k1, "k2": k2, "k3": k3}[estimator]
    m = mask.to(k.dtype)
    out = -beta * k * m
    T = mask.shape[1]
    last = (torch.arange(T)[None] * mask.long()).argmax(dim=1)  # index of the last masked token
    out[torch.arange(mask.shape[0]), last] += scores.to(out.dtype)
    return out
'''


def _sub(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


def _entry(name, cell, why, hint, base, old, new, loses=None, show_hint=True):
    """old/new: one substitution, or tuples of substitutions applied in turn."""
    source = base
    for o, n in zip(*((old, new) if isinstance(old, tuple) else ((old,), (new,))), strict=True):
        source = _sub(source, o, n)
    entry = {"name": name, "cell": cell, "why": why, "hint": hint, "source": source,
             "loses": loses or [f"test_{cell}"]}
    if not show_hint:
        entry["show_hint"] = False
    return entry


_BOTH_KL = ["test_kl_estimators", "test_kl_penalized_rewards"]

WRONG_IMPLEMENTATIONS = [
    # ---- response_logprobs ----------------------------------------------------------------------------------------
    _entry("logprobs_no_shift", "response_logprobs", "reads token t's log-prob from the logits at position t (no shift)",
           "Your log-probs come from the logits row that has already seen the token it is scoring.", _LOGPROBS,
           "    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)  # position t-1 predicts token t\n"
           "    picked = logp.gather(-1, sequences[:, 1:, None]).squeeze(-1)\n"
           "    out = torch.zeros(sequences.shape, dtype=picked.dtype)\n    out[:, 1:] = picked",
           "    logp = torch.log_softmax(logits.float(), dim=-1)\n    out = logp.gather(-1, sequences[..., None]).squeeze(-1)"),
    _entry("logprobs_shift_backwards", "response_logprobs", "aligns the logits at t + 1 with token t",
           "Check which logits row predicts token t in a causal LM: the shift goes the other way.", _LOGPROBS,
           "logits[:, :-1].float()", "logits[:, 1:].float()"),
    _entry("logprobs_raw_logits", "response_logprobs", "gathers the raw logits instead of log-softmax",
           "Your values are scores, not log-probabilities: they do not sum to one over the vocabulary.", _LOGPROBS,
           "torch.log_softmax(logits[:, :-1].float(), dim=-1)", "logits[:, :-1].float()"),
    _entry("logprobs_naive_softmax", "response_logprobs", "computes log(exp(z) / sum exp(z)) without subtracting the max",
           "Your log-probs overflow when the logits are large: compute them in a numerically stable way.", _LOGPROBS,
           "torch.log_softmax(logits[:, :-1].float(), dim=-1)",
           "torch.log(logits[:, :-1].float().exp() / logits[:, :-1].float().exp().sum(-1, keepdim=True))"),
    _entry("logprobs_no_mask", "response_logprobs", "returns the log-probs of every position, prompt and padding included",
           "Positions outside the response still carry values in your output.", _LOGPROBS,
           "    return torch.where(response_mask.bool(), out, torch.zeros_like(out))", "    return out"),
    _entry("logprobs_short_output", "response_logprobs", "returns the (B, T - 1) shifted tensor instead of one value per token",
           "Your output has one column fewer than the sequences it scores.", _LOGPROBS,
           "    out = torch.zeros(sequences.shape, dtype=picked.dtype)\n    out[:, 1:] = picked\n"
           "    return torch.where(response_mask.bool(), out, torch.zeros_like(out))",
           "    return picked * response_mask[:, 1:]"),
    # ---- reinforce_loss -------------------------------------------------------------------------------------------
    _entry("reinforce_token_mean", "reinforce_loss", "divides by the number of response tokens instead of the number of sequences",
           "Your normalisation makes the estimate depend on how many tokens the batch holds, not on how many responses.",
           _REINFORCE, "    return -(weight * seq_logp).mean()", "    return -(weight * seq_logp).sum() / mask.sum()"),
    _entry("reinforce_length_normalised", "reinforce_loss", "averages log-probs over each sequence's tokens instead of summing them",
           "A response's log-probability is a sum over its tokens; yours is scaled by its length.", _REINFORCE,
           "(logprobs * mask.to(logprobs.dtype)).sum(dim=1)", "(logprobs * mask.to(logprobs.dtype)).sum(dim=1) / mask.sum(dim=1)"),
    _entry("reinforce_no_mask", "reinforce_loss", "sums the log-probs of every position, masked ones included",
           "Padding positions still contribute to your loss.", _REINFORCE,
           "(logprobs * mask.to(logprobs.dtype)).sum(dim=1)", "logprobs.sum(dim=1)"),
    _entry("reinforce_sign", "reinforce_loss", "returns the objective instead of the loss (no minus sign)",
           "Gradient descent on your loss would make good responses less likely.", _REINFORCE,
           "    return -(weight * seq_logp).mean()", "    return (weight * seq_logp).mean()"),
    _entry("reinforce_own_baseline", "reinforce_loss", "ignores the given baseline and subtracts the batch mean reward",
           "Your loss does not use the baseline it is given.", _REINFORCE,
           "(rewards - baseline)", "(rewards - rewards.mean())"),
    _entry("reinforce_sum_over_batch", "reinforce_loss", "sums over sequences instead of averaging",
           "Your loss grows with the batch size; the estimate should be a mean over responses.", _REINFORCE,
           "    return -(weight * seq_logp).mean()", "    return -(weight * seq_logp).sum()"),
    _entry("reinforce_probability_weighted", "reinforce_loss", "weights the advantage by the sequence probability exp(log pi)",
           "Your loss multiplies the advantage by a probability where the score-function estimator needs a log-probability.",
           _REINFORCE, "    return -(weight * seq_logp).mean()", "    return -(weight * seq_logp.exp()).mean()"),
    # ---- rloo_advantages ------------------------------------------------------------------------------------------
    _entry("rloo_mean_with_self", "rloo_advantages", "subtracts the mean of all k rewards, the sample's own included",
           "Your baseline for a sample still depends on that sample's own reward.", _RLOO,
           "    others = (rewards.sum(dim=1, keepdim=True) - rewards) / (k - 1)", "    others = rewards.mean(dim=1, keepdim=True)",
           show_hint=False),
    _entry("rloo_divide_by_k", "rloo_advantages", "divides the sum of the others by k instead of k - 1",
           "Check how many rewards your leave-one-out mean is an average of.", _RLOO,
           "/ (k - 1)", "/ k"),
    _entry("rloo_std_normalised", "rloo_advantages", "divides the leave-one-out advantage by the group's std (GRPO-style)",
           "Your advantages are rescaled by a statistic of the group, which RLOO does not do.", _RLOO,
           "    return rewards - others", "    return (rewards - others) / (rewards.std(dim=1, keepdim=True) + 1e-6)"),
    _entry("rloo_wrong_axis", "rloo_advantages", "leaves one out across prompts (dim 0) instead of across a prompt's samples",
           "Your baseline mixes rewards of different prompts.", _RLOO,
           "    k = rewards.shape[1]\n    others = (rewards.sum(dim=1, keepdim=True) - rewards) / (k - 1)",
           "    k = rewards.shape[0]\n    others = (rewards.sum(dim=0, keepdim=True) - rewards) / (k - 1)"),
    _entry("rloo_returns_baseline", "rloo_advantages", "returns the leave-one-out baseline instead of reward minus baseline",
           "Your output is the baseline itself, not how much better than it each sample did.", _RLOO,
           "    return rewards - others", "    return others"),
    # ---- gae_advantages -------------------------------------------------------------------------------------------
    _entry("gae_bootstrap_from_padding", "gae_advantages", "bootstraps the last response token from the value stored in the padding",
           "After the last response token the episode is over, but your recursion still reads a value there.", _GAE,
           ("    r, v = rewards * m, values * m", "next_value = torch.where(mask[:, t], v[:, t], torch.zeros_like(a))"),
           ("    r, v = rewards * m, values", "next_value = v[:, t]")),
    _entry("gae_no_gamma_in_delta", "gae_advantages", "forgets the discount in the TD residual (delta = r + V' - V)",
           "With gamma below 1 your TD residual does not discount the next state's value.", _GAE,
           "        delta = r[:, t] + gamma * next_value - v[:, t]", "        delta = r[:, t] + next_value - v[:, t]"),
    _entry("gae_lambda_only", "gae_advantages", "accumulates the residuals with lambda instead of gamma * lambda",
           "Your sum of residuals decays with one of the two factors only.", _GAE,
           "gamma * lam * next_adv", "lam * next_adv"),
    _entry("gae_forward_pass", "gae_advantages", "runs the recursion from the first token to the last",
           "An advantage looks at the future; your recursion runs in the wrong direction.", _GAE,
           "    for t in reversed(range(T)):", "    for t in range(T):"),
    _entry("gae_returns_not_advantages", "gae_advantages", "returns A + V (the returns) instead of the advantages",
           "Your output still contains the value of the state.", _GAE,
           "        adv[:, t] = a * m[:, t]", "        adv[:, t] = (a + v[:, t]) * m[:, t]"),
    _entry("gae_unmasked_rewards", "gae_advantages", "lets rewards outside the response into the recursion",
           "Rewards stored outside the response leak into your advantages.", _GAE,
           ("    r, v = rewards * m, values * m", "next_adv = torch.where(mask[:, t], a, torch.zeros_like(a))"),
           ("    r, v = rewards, values * m", "next_adv = a")),
    # ---- ppo_clip_loss --------------------------------------------------------------------------------------------
    _entry("ppo_max_not_min", "ppo_clip_loss", "takes the max of the clipped and unclipped terms (optimistic bound)",
           "Your surrogate keeps the more optimistic of the two terms.", _CLIP,
           "-torch.minimum(unclipped, clipped)", "-torch.maximum(unclipped, clipped)", show_hint=False),
    _entry("ppo_clipped_only", "ppo_clip_loss", "uses only the clipped term clip(ratio) * A",
           "Your loss clips on both sides whatever the advantage's sign.", _CLIP,
           "-torch.minimum(unclipped, clipped)", "-clipped"),
    _entry("ppo_unclipped_only", "ppo_clip_loss", "the plain importance-weighted surrogate ratio * A, no clipping",
           "Your gradient never switches off, however far the ratio has moved.", _CLIP,
           "-torch.minimum(unclipped, clipped)", "-unclipped"),
    _entry("ppo_ratio_of_logprobs", "ppo_clip_loss", "divides the log-probs instead of exponentiating their difference",
           "Your ratio is not a ratio of probabilities.", _CLIP,
           "torch.exp(logp_new - logp_old)", "logp_new / logp_old"),
    _entry("ppo_mean_over_all_positions", "ppo_clip_loss", "divides by every position of the batch, masked ones included",
           "Your average counts positions that are not response tokens.", _CLIP,
           "(per_token * m).sum() / m.sum()", "(per_token * m).sum() / m.numel()"),
    _entry("ppo_sequence_mean", "ppo_clip_loss", "averages over each sequence's tokens, then over sequences",
           "Your aggregation gives every response the same weight instead of every token.", _CLIP,
           "    return (per_token * m).sum() / m.sum()", "    return ((per_token * m).sum(1) / m.sum(1)).mean()"),
    # ---- ppo_value_loss -------------------------------------------------------------------------------------------
    _entry("value_min_not_max", "ppo_value_loss", "keeps the smaller of the clipped and unclipped squared errors",
           "Your value loss keeps the more forgiving of its two terms.", _VALUE,
           "torch.maximum((values - returns) ** 2", "torch.minimum((values - returns) ** 2", show_hint=False),
    _entry("value_clip_around_returns", "ppo_value_loss", "clips the new value around the returns instead of the old value",
           "Check around which quantity your clip range is centred.", _VALUE,
           "old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)",
           "returns + torch.clamp(values - returns, -clip_eps, clip_eps)"),
    _entry("value_no_half", "ppo_value_loss", "forgets the factor 1/2",
           "Your loss is off by a constant factor.", _VALUE, "0.5 * torch.maximum", "torch.maximum"),
    _entry("value_unmasked_mean", "ppo_value_loss", "averages over all positions, masked ones included",
           "Positions outside the response affect your loss.", _VALUE,
           "(per_token * m).sum() / m.sum()", "per_token.mean()"),
    # ---- masked_entropy -------------------------------------------------------------------------------------------
    _entry("entropy_nan_on_inf", "masked_entropy", "computes p * log p directly: 0 * (-inf) = nan for forbidden tokens",
           "A token with probability zero turns your entropy into nan.", _ENTROPY,
           "torch.where(p > 0, logp, torch.zeros_like(logp))", "logp"),
    _entry("entropy_bits", "masked_entropy", "measures the entropy in bits (log2) instead of nats",
           "Check the base of your logarithm.", _ENTROPY,
           "    ent = -(p * torch.where(p > 0, logp, torch.zeros_like(logp))).sum(-1)",
           "    ent = -(p * torch.where(p > 0, logp, torch.zeros_like(logp))).sum(-1) / math.log(2)"),
    _entry("entropy_unmasked", "masked_entropy", "averages over every position, ignoring the mask",
           "Your mean includes positions the mask excludes.", _ENTROPY,
           "    return (ent * m).sum() / m.sum()", "    return ent.mean()"),
    _entry("entropy_sum", "masked_entropy", "sums the entropies of the masked positions instead of averaging",
           "Your value grows with the number of positions.", _ENTROPY,
           "    return (ent * m).sum() / m.sum()", "    return (ent * m).sum()"),
    _entry("entropy_unnormalised", "masked_entropy", "uses exp(logits) as probabilities, without normalising",
           "Your probabilities do not sum to one.", _ENTROPY,
           "    logp = torch.log_softmax(logits, dim=-1)", "    logp = logits"),
    # ---- kl_estimators --------------------------------------------------------------------------------------------
    _entry("kl_reversed_ratio", "kl_estimators", "uses log r = log pi - log pi_ref (the ratio upside down)",
           "Check which distribution is on top of your ratio r.", _KL,
           "    log_r = logp_ref - logp", "    log_r = logp - logp_ref", loses=_BOTH_KL),
    _entry("kl_k2_no_half", "kl_estimators", "k2 = (log r)^2 without the 1/2",
           "One of your estimators is off by a constant factor.", _KL,
           "0.5 * log_r**2", "log_r**2", loses=_BOTH_KL),
    _entry("kl_k3_sign", "kl_estimators", "k3 = (r - 1) + log r (sign of the log term)",
           "One of your estimators can be negative although it never should be.", _KL,
           "torch.expm1(log_r) - log_r", "torch.expm1(log_r) + log_r", loses=_BOTH_KL),
    _entry("kl_k3_inverse_ratio", "kl_estimators", "k3 built from pi / pi_ref instead of pi_ref / pi",
           "Your k3 uses the ratio the other way round from k1.", _KL,
           "torch.expm1(log_r) - log_r", "torch.expm1(-log_r) + log_r", loses=_BOTH_KL),
    _entry("kl_k1_absolute", "kl_estimators", "k1 = |log r| (makes it non-negative, and biased)",
           "Making k1 non-negative changes its expectation.", _KL,
           "    return -log_r, ", "    return log_r.abs(), ", loses=_BOTH_KL),
    # ---- kl_penalized_rewards -------------------------------------------------------------------------------------
    _entry("klrew_score_on_first", "kl_penalized_rewards", "adds the score to the first response token",
           "Your score lands on a response token where the response is not finished yet.", _KLREW,
           "(torch.arange(T)[None] * mask.long()).argmax(dim=1)", "mask.long().argmax(dim=1)"),
    _entry("klrew_score_on_last_column", "kl_penalized_rewards", "adds the score to the last column of the row, padding or not",
           "Rows that end before the last column get their score in the padding.", _KLREW,
           "out[torch.arange(mask.shape[0]), last] += scores.to(out.dtype)", "out[:, -1] += scores.to(out.dtype)"),
    _entry("klrew_bonus_sign", "kl_penalized_rewards", "adds +beta * KL (a bonus for drifting away)",
           "Your penalty rewards the policy for moving away from the reference.", _KLREW,
           "    out = -beta * k * m", "    out = beta * k * m"),
    _entry("klrew_always_k1", "kl_penalized_rewards", "ignores the estimator argument and always uses k1",
           "One of your arguments never reaches the output.", _KLREW,
           '    k = {"k1": k1, "k2": k2, "k3": k3}[estimator]', "    k = k1"),
    _entry("klrew_score_every_token", "kl_penalized_rewards", "adds the score to every response token",
           "Your sequence score is counted more than once per response.", _KLREW,
           "    out[torch.arange(mask.shape[0]), last] += scores.to(out.dtype)",
           "    out = out + scores.to(out.dtype)[:, None] * m"),
]
