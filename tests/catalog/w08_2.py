"""Wrong implementations for lab w08-2 (DeepSeek-R1 rewards, PRM/ORM, best-of-N, pass@k).

Each entry replaces one answer cell of weeks/w08-2-reasoning-prm/solution.ipynb (format: tests/catalog/__init__.py).
`hint` is one student-facing sentence naming the likely mistake.
"""

_FORMAT_REWARD = '''def format_reward(completion: str) -> float:
    tags = ("<think>", "</think>", "<answer>", "</answer>")
    text = completion.strip()
    if not (text.startswith("<think>") and text.endswith("</answer>")):
        return 0.0
    if any(text.count(tag) != 1 for tag in tags):
        return 0.0
    think_end, answer_start = text.index("</think>"), text.index("<answer>")
    if answer_start < think_end:
        return 0.0
    reasoning = text[len("<think>"):think_end]
    between = text[think_end + len("</think>"):answer_start]
    answer = text[answer_start + len("<answer>"):-len("</answer>")]
    ok = reasoning.strip() != "" and between.strip() == "" and answer.strip() != ""
    return 1.0 if ok else 0.0
'''

_ACCURACY_REWARD = '''def accuracy_reward(completion: str, answer: int) -> float:
    if completion.count("<answer>") != 1 or completion.count("</answer>") != 1:
        return 0.0
    start, end = completion.index("<answer>") + len("<answer>"), completion.index("</answer>")
    if end < start:
        return 0.0
    text = completion[start:end].strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not all(ch.isdecimal() for ch in digits):
        return 0.0
    return 1.0 if int(text) == answer else 0.0
'''

_AGGREGATE_STEP_SCORES = '''def aggregate_step_scores(step_scores: list[float], how: str) -> float:
    scores = [float(s) for s in step_scores]
    if how == "min":
        return min(scores)
    if how == "product":
        return math.prod(scores)
    if how == "last":
        return scores[-1]
    raise ValueError(f"unknown aggregation {how!r}; use 'min', 'product' or 'last'")
'''

_TRAIN_PRM = '''def train_prm(step_features, step_labels, steps=300, lr=0.1, weight_decay=1e-3):
    x = torch.as_tensor(step_features, dtype=torch.float64)
    y = torch.as_tensor(step_labels)
    labelled = y >= 0
    x, y = x[labelled], y[labelled].to(torch.float64)  # (n_steps, D), (n_steps,)
    w = torch.zeros(x.shape[-1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(x @ w + b, y) + weight_decay / 2 * (w * w).sum()
        loss.backward()
        opt.step()
    return w.detach(), float(b.detach())
'''

_TRAIN_ORM = '''def train_orm(step_features, step_mask, outcomes, steps=300, lr=0.1, weight_decay=1e-3):
    x = torch.as_tensor(step_features, dtype=torch.float64)
    mask = torch.as_tensor(step_mask, dtype=torch.bool)
    y = torch.as_tensor(outcomes).to(torch.float64)
    w = torch.zeros(x.shape[-1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        log_step = F.logsigmoid(x @ w + b)  # (S, T) log P(step correct)
        log_p = torch.where(mask, log_step, torch.zeros_like(log_step)).sum(dim=1)  # log P(solution correct)
        log_not_p = torch.log((-torch.expm1(log_p)).clamp_min(1e-12))  # log(1 - P), accurate near P = 1
        loss = -(y * log_p + (1 - y) * log_not_p).mean() + weight_decay / 2 * (w * w).sum()
        loss.backward()
        opt.step()
    return w.detach(), float(b.detach())
'''

_BEST_OF_N = '''def best_of_n(answers: list[int], scores: list[float], method: str) -> int:
    if method == "max":
        best = max(range(len(answers)), key=lambda i: (scores[i], -i))
        return answers[best]
    if method not in ("majority", "weighted"):
        raise ValueError(f"unknown method {method!r}; use 'max', 'majority' or 'weighted'")
    totals: dict = {}
    for a, s in zip(answers, scores):
        totals[a] = totals.get(a, 0.0) + (1.0 if method == "majority" else float(s))
    top = max(totals.values())
    return next(a for a in totals if totals[a] == top)  # dicts keep first-appearance order
'''

_PASS_AT_K = '''def pass_at_k(n: int, c: int, k: int) -> float:
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - i) / (n - i) for i in range(k))
'''


def _sub(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


def _e(name, cell, why, hint, source, loses=None, show_hint=True):
    entry = {"name": name, "cell": cell, "why": why, "hint": hint, "source": source, "loses": loses or [f"test_{cell}"]}
    if not show_hint:
        entry["show_hint"] = False
    return entry


_REGEX_FORMAT = '''import re


def format_reward(completion: str) -> float:
    pattern = r"<think>(.+?)</think>\\s*<answer>(.+?)</answer>"
    return 1.0 if re.__FUNC__(pattern, completion.strip()__FLAGS__) else 0.0
'''

_REGEX_ACCURACY = '''import re


def accuracy_reward(completion: str, answer: int) -> float:
    found = re.findall(r"<answer>(.*?)</answer>", completion, flags=re.S)
    if not found:
        return 0.0
    __BODY__
'''

WRONG_IMPLEMENTATIONS = [
    # ---- format_reward
    _e("format_search_not_fullmatch", "format_reward",
       "uses re.search, so text before or after the blocks is accepted",
       "Your format reward accepts completions with extra text before or after the two blocks.",
       _REGEX_FORMAT.replace("__FUNC__", "search").replace("__FLAGS__", ", flags=re.S")),
    _e("format_no_dotall", "format_reward",
       "a fullmatch regex without re.DOTALL: multi-line reasoning gets 0",
       "Your format reward rejects reasoning that spans several lines.",
       _REGEX_FORMAT.replace("__FUNC__", "fullmatch").replace("__FLAGS__", "")),
    _e("format_greedy_allows_nesting", "format_reward",
       "a fullmatch regex with DOTALL but no check for tags inside the blocks",
       "Your format reward accepts a completion with a tag nested inside a block or a second block.",
       _REGEX_FORMAT.replace("__FUNC__", "fullmatch").replace("__FLAGS__", ", flags=re.S")),
    _e("format_counts_only", "format_reward",
       "checks that each tag appears once but not their order or what lies outside",
       "Your format reward accepts the four tags in any order or with text around them.",
       '''def format_reward(completion: str) -> float:
    ok = all(completion.count(t) == 1 for t in ("<think>", "</think>", "<answer>", "</answer>"))
    return 1.0 if ok else 0.0
'''),
    _e("format_allows_empty_answer", "format_reward",
       "forgets that the answer must not be blank",
       "Your format reward gives 1 to a completion whose answer block is empty.",
       _sub(_FORMAT_REWARD, 'and answer.strip() != ""', "")),
    _e("format_allows_text_between", "format_reward",
       "does not check what sits between </think> and <answer>",
       "Your format reward accepts words between the think block and the answer block.",
       _sub(_FORMAT_REWARD, ' and between.strip() == ""', "")),
    _e("format_think_optional", "format_reward",
       "only requires the answer block",
       "Your format reward does not insist on the reasoning block.",
       '''def format_reward(completion: str) -> float:
    text = completion.strip()
    if text.count("<answer>") != 1 or text.count("</answer>") != 1:
        return 0.0
    return 1.0 if text.endswith("</answer>") and text.index("<answer>") < text.index("</answer>") else 0.0
'''),
    # ---- accuracy_reward
    _e("accuracy_last_of_many", "accuracy_reward",
       "takes the last answer block when there are several (rewards hedging)",
       "Your accuracy reward can be gamed by writing several answer blocks.",
       _REGEX_ACCURACY.replace("__BODY__", '''text = found[-1].strip()
    try:
        return 1.0 if int(text) == answer else 0.0
    except ValueError:
        return 0.0''')),
    _e("accuracy_first_number", "accuracy_reward",
       "extracts the first number inside the answer block",
       "Your accuracy reward accepts answer blocks with words or several numbers around the answer.",
       _REGEX_ACCURACY.replace("__BODY__", '''if len(found) != 1:
        return 0.0
    m = re.search(r"-?\\d+", found[0])
    return 1.0 if m and int(m.group()) == answer else 0.0''')),
    _e("accuracy_substring", "accuracy_reward",
       "checks whether the answer's digits occur in the answer block",
       "Your accuracy reward matches the answer as a substring, so 19 passes for 9.",
       _REGEX_ACCURACY.replace("__BODY__", '''return 1.0 if len(found) == 1 and str(answer) in found[0] else 0.0''')),
    _e("accuracy_ascii_digits_only", "accuracy_reward",
       "parses with [0-9], so digits of other scripts are rejected",
       "Your accuracy reward only understands ASCII digits.",
       _REGEX_ACCURACY.replace("__BODY__", '''if len(found) != 1:
        return 0.0
    m = re.fullmatch(r"\\s*([+-]?[0-9]+)\\s*", found[0])
    return 1.0 if m and int(m.group(1)) == answer else 0.0''')),
    _e("accuracy_drops_sign", "accuracy_reward",
       "parses \\d+ without the sign",
       "Your accuracy reward ignores the sign of the answer.",
       _REGEX_ACCURACY.replace("__BODY__", '''if len(found) != 1:
        return 0.0
    m = re.fullmatch(r"\\s*[+-]?(\\d+)\\s*", found[0])
    return 1.0 if m and int(m.group(1)) == answer else 0.0''')),
    _e("accuracy_float_parse", "accuracy_reward",
       "parses the answer with float(), so 12.0 counts as 12",
       "Your accuracy reward accepts a decimal where an integer literal is required.",
       _REGEX_ACCURACY.replace("__BODY__", '''if len(found) != 1:
        return 0.0
    try:
        return 1.0 if float(found[0]) == answer else 0.0
    except ValueError:
        return 0.0''')),
    _e("accuracy_crashes", "accuracy_reward",
       "calls int() without guarding against non-numbers",
       "Your accuracy reward raises an exception on some malformed completions.",
       _REGEX_ACCURACY.replace("__BODY__", '''return 1.0 if len(found) == 1 and int(found[0]) == answer else 0.0''')),
    _e("accuracy_requires_think", "accuracy_reward",
       "returns 0 when the think block is missing (mixes the format reward into accuracy)",
       "Your accuracy reward also checks the format, which is the other reward's job.",
       _sub(_ACCURACY_REWARD, '    if completion.count("<answer>") != 1', '    if "<think>" not in completion:\n        return 0.0\n    if completion.count("<answer>") != 1')),
    # ---- aggregate_step_scores
    _e("aggregate_product_is_mean", "aggregate_step_scores",
       "averages the scores for 'product'",
       "Your 'product' aggregation does not multiply the step probabilities.",
       _sub(_AGGREGATE_STEP_SCORES, "return math.prod(scores)", "return sum(scores) / len(scores)")),
    _e("aggregate_last_is_first", "aggregate_step_scores",
       "returns the first step's score for 'last'",
       "Your 'last' aggregation reads the wrong end of the solution.",
       _sub(_AGGREGATE_STEP_SCORES, "return scores[-1]", "return scores[0]")),
    _e("aggregate_log_product", "aggregate_step_scores",
       "returns the sum of log-scores for 'product' (a log-probability, not a probability)",
       "Your 'product' returns a log-probability where a probability is asked for.",
       _sub(_AGGREGATE_STEP_SCORES, "return math.prod(scores)", "return sum(math.log(max(s, 1e-300)) for s in scores)")),
    _e("aggregate_unknown_defaults_min", "aggregate_step_scores",
       "falls back to min for an unknown aggregation instead of raising",
       "Your function silently accepts an aggregation name it does not know.",
       _sub(_AGGREGATE_STEP_SCORES, '    raise ValueError(f"unknown aggregation {how!r}; use \'min\', \'product\' or \'last\'")', "    return min(scores)")),
    # ---- train_prm
    _e("prm_mean_per_solution", "train_prm",
       "averages the step losses within each solution, then over solutions",
       "Your PRM loss gives the steps of short solutions more weight than those of long ones.",
       _sub(_TRAIN_PRM, '''    x, y = x[labelled], y[labelled].to(torch.float64)  # (n_steps, D), (n_steps,)''',
            '''    y = y.clamp(min=0).to(torch.float64)
    per_solution = labelled.sum(1).clamp(min=1)
    has_steps = labelled.any(1)''').replace(
            "loss = F.binary_cross_entropy_with_logits(x @ w + b, y) +",
            "step_loss = F.binary_cross_entropy_with_logits(x @ w + b, y, reduction=\"none\") * labelled\n        loss = (step_loss.sum(1) / per_solution)[has_steps].mean() +")),
    _e("prm_padding_as_wrong", "train_prm",
       "turns the -1 padding labels into 0 (wrong steps) and trains on them",
       "Your PRM trains on the padding positions as if they were wrong steps.",
       _sub(_TRAIN_PRM, '''    labelled = y >= 0
    x, y = x[labelled], y[labelled].to(torch.float64)  # (n_steps, D), (n_steps,)''',
            '''    x, y = x.reshape(-1, x.shape[-1]), y.reshape(-1).clamp(min=0).to(torch.float64)''')),
    _e("prm_no_weight_decay", "train_prm",
       "forgets the weight-decay term",
       "Your PRM minimises a different objective than the one in the docstring (look at the regulariser).",
       _sub(_TRAIN_PRM, " + weight_decay / 2 * (w * w).sum()", "")),
    _e("prm_decays_bias_too", "train_prm",
       "puts the bias under weight decay as well, with AdamW's decoupled decay",
       "Your PRM regularises differently from the docstring's objective.",
       _sub(_sub(_TRAIN_PRM, "opt = torch.optim.Adam([w, b], lr=lr)", "opt = torch.optim.AdamW([w, b], lr=lr, weight_decay=weight_decay * 50)"),
            " + weight_decay / 2 * (w * w).sum()", "")),
    _e("prm_masked_sum", "train_prm",
       "sums the step losses instead of averaging them",
       "Your PRM's data term is not an average, so the regulariser has the wrong relative weight.",
       _sub(_TRAIN_PRM, "loss = F.binary_cross_entropy_with_logits(x @ w + b, y)", "loss = F.binary_cross_entropy_with_logits(x @ w + b, y, reduction=\"sum\")")),
    # ---- train_orm
    _e("orm_mean_of_probs", "train_orm",
       "uses the mean of the step probabilities as P(correct)",
       "Your ORM's probability that a solution is correct is not 'every step is correct'.",
       _sub(_sub(_TRAIN_ORM, "log_p = torch.where(mask, log_step, torch.zeros_like(log_step)).sum(dim=1)",
                 "log_p = torch.log((torch.sigmoid(x @ w + b) * mask).sum(1) / mask.sum(1).clamp(min=1)).clamp(max=-1e-9)"),
            "log_step = F.logsigmoid(x @ w + b)  # (S, T) log P(step correct)", "pass")),
    _e("orm_last_step_only", "train_orm",
       "uses the last real step's probability as P(correct)",
       "Your ORM judges a solution by one of its steps only.",
       _sub(_TRAIN_ORM, "log_p = torch.where(mask, log_step, torch.zeros_like(log_step)).sum(dim=1)",
            "last = (mask.sum(1) - 1).clamp(min=0)\n        log_p = log_step.gather(1, last[:, None])[:, 0].clamp(max=-1e-9)")),
    _e("orm_outcome_on_every_step", "train_orm",
       "copies the outcome label onto every step and trains a PRM on it",
       "Your ORM's loss is per step, with the solution's outcome as every step's label.",
       _sub(_sub(_TRAIN_ORM, "loss = -(y * log_p + (1 - y) * log_not_p).mean()",
                 "loss = F.binary_cross_entropy_with_logits((x @ w + b)[mask], y[:, None].expand_as(mask)[mask])"),
            "log_not_p = torch.log((-torch.expm1(log_p)).clamp_min(1e-12))  # log(1 - P), accurate near P = 1", "pass")),
    _e("orm_ignores_mask", "train_orm",
       "multiplies all T step probabilities, padding included",
       "Your ORM lets padded positions into the product.",
       _sub(_TRAIN_ORM, "log_p = torch.where(mask, log_step, torch.zeros_like(log_step)).sum(dim=1)", "log_p = log_step.sum(dim=1)")),
    _e("orm_naive_product", "train_orm",
       "multiplies probabilities directly and takes the log of the product",
       "Your ORM computes the product outside log space, which breaks on long solutions.",
       _sub(_TRAIN_ORM, "log_p = torch.where(mask, log_step, torch.zeros_like(log_step)).sum(dim=1)",
            "log_p = torch.log(torch.where(mask, torch.sigmoid(x @ w + b).float(), torch.ones_like(log_step).float()).prod(dim=1).double())")),
    # ---- best_of_n
    _e("bon_max_last_tie", "best_of_n",
       "argmax that keeps the last of tied top scores",
       "Your 'max' selection breaks ties toward a later solution.",
       _sub(_BEST_OF_N, "key=lambda i: (scores[i], -i)", "key=lambda i: (scores[i], i)")),
    _e("bon_weighted_mean", "best_of_n",
       "averages the scores per answer instead of summing them",
       "Your weighted vote does not let an answer's number of supporting solutions count.",
       '''def best_of_n(answers, scores, method):
    if method == "max":
        return answers[max(range(len(answers)), key=lambda i: (scores[i], -i))]
    if method not in ("majority", "weighted"):
        raise ValueError(method)
    groups = {}
    for a, s in zip(answers, scores):
        groups.setdefault(a, []).append(1.0 if method == "majority" else float(s))
    value = {a: (len(v) if method == "majority" else sum(v) / len(v)) for a, v in groups.items()}
    return max(value, key=lambda a: value[a])
'''),
    _e("bon_weighted_is_max", "best_of_n",
       "returns the top-scored solution's answer for 'weighted'",
       "Your weighted vote ignores how many solutions support each answer.",
       _sub(_BEST_OF_N, 'if method == "max":', 'if method in ("max", "weighted"):')),
    _e("bon_set_majority", "best_of_n",
       "majority through max(set(answers), key=answers.count): ties depend on set order",
       "Your majority vote breaks ties in an order that is not the order of appearance.",
       _sub(_BEST_OF_N, '''    totals: dict = {}''', '''    if method == "majority":
        return max(sorted(set(answers)), key=answers.count)
    totals: dict = {}''')),
    # ---- pass_at_k
    _e("pass_with_replacement", "pass_at_k",
       "1 - (1 - c/n)^k: sampling with replacement",
       "Your estimate assumes the k samples are drawn with replacement.",
       '''def pass_at_k(n, c, k):
    return 1.0 - (1.0 - c / n) ** k
'''),
    _e("pass_float_comb", "pass_at_k",
       "floating-point binomials that overflow for large n",
       "Your estimate breaks down when n is in the thousands.",
       '''from scipy.special import comb


def pass_at_k(n, c, k):
    if n - c < k:
        return 1.0
    return float(1.0 - comb(n - c, k) / comb(n, k))
'''),
    _e("pass_off_by_one", "pass_at_k",
       "uses C(n - c, k - 1) in the numerator",
       "Check the sizes of the subsets in your ratio of binomials.",
       '''def pass_at_k(n, c, k):
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k - 1) / math.comb(n, k - 1)
'''),
    _e("pass_expected_fraction", "pass_at_k",
       "returns min(1, k * c / n), the expected number of correct samples",
       "Your estimate counts expected correct samples rather than the chance of at least one.",
       '''def pass_at_k(n, c, k):
    return min(1.0, k * c / n)
'''),
]
