"""Wrong implementations for lab w13-1 (few-shot prompts, Z-ICL, the dual operating modes of ICL, PromptIntern).

Each entry replaces one answer cell of weeks/w13-1-icl/solution.ipynb (format: tests/catalog/__init__.py).
Every entry also has a `hint`: one student-facing sentence naming the likely mistake without giving the fix.
"""

_PROMPT = '''def build_prompt(demos: list, query: str, template: dict, label_words: dict | None = None, instruction: str | None = None) -> str:
    """[instruction] + demos + query, joined by template["sep"]; demo labels written with label_words."""
    words = label_words or {}
    parts = [instruction] if instruction else []
    parts += [template["demo"].format(x=x, y=words.get(y, y)) for x, y in demos]
    parts.append(template["query"].format(x=query))
    return template["sep"].join(parts)

'''

_LABELS = '''def corrupt_labels(labels: list, label_set: list, mode: str, seed: int) -> list:
    """gold: unchanged; random: i.i.d. uniform over label_set; flipped: one fixed-point-free permutation of label_set."""
    rng = random.Random(seed)
    labels, label_set = list(labels), list(label_set)
    if mode == "gold":
        return labels
    if mode == "random":
        return [rng.choice(label_set) for _ in labels]
    if mode == "flipped":
        while True:  # a random permutation of the label set without a fixed point (a derangement)
            perm = label_set[:]
            rng.shuffle(perm)
            if all(a != b for a, b in zip(label_set, perm)):
                break
        mapping = dict(zip(label_set, perm))
        return [mapping[y] for y in labels]
    raise ValueError(f"unknown mode {mode!r}")

'''

_ZICL = '''def zicl_pseudo_demos(query_vec: torch.Tensor, corpus_vecs: torch.Tensor, k: int, label_set: list,
                      synonyms: dict | None = None, physical: bool = True, seed: int = 0) -> list:
    """k pairs (corpus index, label word): nearest sentences by cosine (or their physical neighbours), random labels."""
    q = query_vec / query_vec.norm()
    c = corpus_vecs / corpus_vecs.norm(dim=1, keepdim=True)
    order = torch.argsort(c @ q, descending=True, stable=True)[:k].tolist()
    n = corpus_vecs.shape[0]
    if physical:
        order = [i + 1 if i + 1 < n else i - 1 for i in order]
    rng = random.Random(seed)
    demos = []
    for i in order:
        label = rng.choice(list(label_set))
        if synonyms is not None:
            label = rng.choice(list(synonyms[label]))
        demos.append((i, label))
    return demos

'''

_POSTERIOR = '''def task_posterior(X: torch.Tensor, y: torch.Tensor, x_query: torch.Tensor, prior: dict):
    """(weights (B, M), means (B, M, d)) of the Gaussian-mixture task posterior given k demos and the query input."""
    X, y, xq = X.double(), y.double(), x_query.double()
    pi = torch.as_tensor(prior["weights"], dtype=torch.float64)
    mu = torch.as_tensor(prior["task_means"], dtype=torch.float64)  # (M, d)
    tau = torch.as_tensor(prior["task_std"], dtype=torch.float64)  # (M,)
    nu = torch.as_tensor(prior["input_means"], dtype=torch.float64)  # (M, d)
    s2 = float(prior["noise_std"]) ** 2
    B, k, d = X.shape
    M = pi.shape[0]
    # inputs: every demo input and the query input come from the group's N(nu_m, I)
    inputs = torch.cat([X, xq[:, None, :]], dim=1)  # (B, k+1, d)
    log_in = -0.5 * ((inputs[:, None] - nu[None, :, None]) ** 2).sum((-1, -2))  # (B, M), constants cancel
    # labels: y | X, m ~ N(X mu_m, s2 I + tau_m^2 X X^T)
    cov = s2 * torch.eye(k, dtype=torch.float64) + tau[None, :, None, None] ** 2 * (X @ X.transpose(1, 2))[:, None]
    mean = torch.einsum("bkd,md->bmk", X, mu)
    log_lab = torch.distributions.MultivariateNormal(mean, covariance_matrix=cov).log_prob(y[:, None, :]) if k else torch.zeros(B, M, dtype=torch.float64)
    logw = torch.log(pi) + log_in + log_lab
    weights = torch.softmax(logw, dim=-1)
    # each component's Gaussian posterior mean: (X^T X / s2 + I / tau^2)^-1 (X^T y / s2 + mu / tau^2)
    prec = (X.transpose(1, 2) @ X)[:, None] / s2 + torch.eye(d, dtype=torch.float64) / tau[None, :, None, None] ** 2
    rhs = (X.transpose(1, 2) @ y[..., None])[:, None, :, 0] / s2 + mu[None] / tau[None, :, None] ** 2
    means = torch.linalg.solve(prec, rhs)
    return weights, means

'''

_MMSE = '''def mmse_predict(X: torch.Tensor, y: torch.Tensor, x_query: torch.Tensor, prior: dict) -> torch.Tensor:
    """The Bayes-optimal (MMSE) prediction E[x_q^T w | X, y, x_q], shape (B,)."""
    weights, means = task_posterior(X, y, x_query, prior)
    return (weights * torch.einsum("bmd,bd->bm", means, x_query.double())).sum(-1)

'''

_INTERN = '''def intern_stage(instruction_words: list, importance: list, demos: list, stage: int, n_stages: int):
    """(kept instruction words in their order, kept demos) at `stage` of a linear n_stages schedule."""
    keep = 1 - stage / (n_stages - 1)
    n_words = math.ceil(keep * len(instruction_words) - 1e-9)
    n_demos = math.ceil(keep * len(demos) - 1e-9)
    ranked = sorted(range(len(instruction_words)), key=lambda i: (-importance[i], i))[:n_words]
    return [instruction_words[i] for i in sorted(ranked)], list(demos[:n_demos])

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


_BOTH = ["test_task_posterior", "test_mmse_predict"]

WRONG_IMPLEMENTATIONS = [
    # ---- build_prompt --------------------------------------------------------------------------------------------
    _entry("prompt_ignores_label_words", "build_prompt", "writes the raw labels, never the label words",
           "Your demos show the label names, not the words the verbalizer maps them to.",
           _PROMPT, "y=words.get(y, y)", "y=y"),
    _entry("prompt_label_words_on_query", "build_prompt", "also passes the query's input through the label words",
           "The label words reach a part of the prompt that is not a label.",
           _PROMPT, "template[\"query\"].format(x=query)", "template[\"query\"].format(x=words.get(query, query))"),
    _entry("prompt_empty_instruction_separator", "build_prompt", "adds an empty instruction (and its separator) when instruction is \"\"",
           "With an empty instruction your prompt starts with a separator.",
           _PROMPT, "parts = [instruction] if instruction else []", "parts = [instruction] if instruction is not None else []"),
    _entry("prompt_demos_reversed", "build_prompt", "writes the demos in reverse order",
           "Your demos do not appear in the order they were given.",
           _PROMPT, "for x, y in demos]", "for x, y in reversed(demos)]"),
    _entry("prompt_newline_before_query", "build_prompt", "joins the query with a single newline instead of the template's separator",
           "The gap between the last demo and the query is not the template's separator.",
           _PROMPT, "    parts.append(template[\"query\"].format(x=query))\n    return template[\"sep\"].join(parts)",
           "    return template[\"sep\"].join(parts) + (\"\\n\" if parts else \"\") + template[\"query\"].format(x=query)"),
    _entry("prompt_trailing_space", "build_prompt", "ends the prompt with a space after the query template",
           "Your prompt ends with a character the template does not have (the answer's leading space belongs to the answer).",
           _PROMPT, "return template[\"sep\"].join(parts)", "return template[\"sep\"].join(parts) + \" \""),
    # ---- corrupt_labels ------------------------------------------------------------------------------------------
    _entry("random_fixed_relabelling", "corrupt_labels", "random mode draws one random mapping of the label set and applies it to every demo",
           "Your random labels are a deterministic function of the gold label, so they still carry its information.",
           _LABELS, "return [rng.choice(label_set) for _ in labels]",
           "perm = label_set[:]\n        rng.shuffle(perm)\n        return [dict(zip(label_set, perm))[y] for y in labels]"),
    _entry("random_always_wrong", "corrupt_labels", "random mode draws a random label different from the gold one",
           "Your random labels never agree with the gold label, so they are anti-correlated with it instead of independent.",
           _LABELS, "return [rng.choice(label_set) for _ in labels]",
           "return [rng.choice([c for c in label_set if c != y]) for y in labels]"),
    _entry("random_unseeded", "corrupt_labels", "random mode uses the global random generator, ignoring the seed",
           "Calling your function twice with the same seed gives different labels.",
           _LABELS, "return [rng.choice(label_set) for _ in labels]", "return [random.choice(label_set) for _ in labels]"),
    _entry("random_seed_ignored", "corrupt_labels", "seeds its generator with a constant",
           "Different seeds give your function the same draws.",
           _LABELS, "rng = random.Random(seed)", "rng = random.Random(0)"),
    _entry("flipped_allows_fixed_points", "corrupt_labels", "flips through any random permutation, fixed points included",
           "Some labels keep their value under your flipped mapping.",
           _LABELS, "            if all(a != b for a, b in zip(label_set, perm)):\n                break",
           "            break"),
    _entry("flipped_per_demo", "corrupt_labels", "flips each demo to an independently drawn wrong label",
           "Two demos with the same gold label can get different flipped labels: flipping should be one consistent mapping.",
           _LABELS, "        return [mapping[y] for y in labels]",
           "        return [rng.choice([c for c in label_set if c != y]) for y in labels]"),
    _entry("flipped_reversed_list", "corrupt_labels", "flips by reading the label list backwards (the middle label of an odd set keeps its value)",
           "With an odd number of labels your flipped mapping leaves one label unchanged.",
           _LABELS, "        mapping = dict(zip(label_set, perm))", "        mapping = dict(zip(label_set, label_set[::-1]))"),
    # ---- zicl_pseudo_demos ---------------------------------------------------------------------------------------
    _entry("zicl_dot_product", "zicl_pseudo_demos", "ranks sentences by dot product instead of cosine similarity",
           "Your neighbours favour sentences with large embeddings rather than those pointing the same way as the query.",
           _ZICL, "order = torch.argsort(c @ q,", "order = torch.argsort(corpus_vecs @ query_vec,"),
    _entry("zicl_least_similar", "zicl_pseudo_demos", "sorts the similarities in ascending order",
           "Your demos are the sentences least like the query.",
           _ZICL, "descending=True", "descending=False"),
    _entry("zicl_skips_first", "zicl_pseudo_demos", "drops the most similar sentence, assuming it is the query itself",
           "Your list of neighbours starts one place too late.",
           _ZICL, "[:k].tolist()", "[1:k + 1].tolist()"),
    _entry("zicl_previous_neighbour", "zicl_pseudo_demos", "takes the sentence before each neighbour (index -1 for the first sentence)",
           "Your physical neighbours are on the wrong side of the retrieved sentences.",
           _ZICL, "order = [i + 1 if i + 1 < n else i - 1 for i in order]", "order = [i - 1 for i in order]"),
    _entry("zicl_wraps_around", "zicl_pseudo_demos", "wraps the last sentence's neighbour around to the first sentence",
           "The last sentence of the corpus gets a neighbour that is not next to it.",
           _ZICL, "order = [i + 1 if i + 1 < n else i - 1 for i in order]", "order = [(i + 1) % n for i in order]"),
    _entry("zicl_pooled_synonyms", "zicl_pseudo_demos", "draws the written word uniformly from all synonyms pooled together",
           "When labels have different numbers of synonyms, your labels are no longer uniform over the label set.",
           _ZICL, "            label = rng.choice(list(synonyms[label]))",
           "            label = rng.choice([w for ws in synonyms.values() for w in ws])"),
    _entry("zicl_unseeded_labels", "zicl_pseudo_demos", "draws the random labels from the global generator",
           "The same seed gives your pseudo-demonstrations different labels.",
           _ZICL, "label = rng.choice(list(label_set))", "label = random.choice(list(label_set))"),
    _entry("zicl_physical_ignored", "zicl_pseudo_demos", "always returns the nearest sentences, even with physical=True",
           "With physical=True your demos are still the nearest sentences themselves.",
           _ZICL, "    if physical:\n", "    if False:\n"),
    # ---- task_posterior ------------------------------------------------------------------------------------------
    _entry("posterior_ignores_query_input", "task_posterior", "weighs the groups by the demos' inputs but not by the query's input",
           "With no demos your weights stay at the prior, although the query's input is evidence about the group too.",
           _POSTERIOR, "inputs = torch.cat([X, xq[:, None, :]], dim=1)", "inputs = X", loses=_BOTH),
    _entry("posterior_ignores_inputs", "task_posterior", "re-weights the groups by the labels only",
           "Your weights ignore how well each group's input distribution explains the inputs.",
           _POSTERIOR, "logw = torch.log(pi) + log_in + log_lab", "logw = torch.log(pi) + log_lab", loses=_BOTH),
    _entry("posterior_noise_only_covariance", "task_posterior", "scores the labels with covariance sigma^2 I, as if w were fixed at the group mean",
           "Your label likelihood forgets that w varies within a group (w is integrated out).",
           _POSTERIOR, "cov = s2 * torch.eye(k, dtype=torch.float64) + tau[None, :, None, None] ** 2 * (X @ X.transpose(1, 2))[:, None]",
           "cov = s2 * torch.eye(k, dtype=torch.float64).expand(B, M, k, k)", loses=_BOTH),
    _entry("posterior_diagonal_covariance", "task_posterior", "keeps only the diagonal of tau^2 X X^T (treats the labels as independent)",
           "Your label likelihood treats the demos' labels as independent, but they share the same w.",
           _POSTERIOR, "tau[None, :, None, None] ** 2 * (X @ X.transpose(1, 2))[:, None]",
           "tau[None, :, None, None] ** 2 * torch.diag_embed((X * X).sum(-1))[:, None]", loses=_BOTH),
    _entry("posterior_no_shift", "task_posterior", "returns the prior group means as the posterior means",
           "Your component means never move towards the demos (no task learning).",
           _POSTERIOR, "    means = torch.linalg.solve(prec, rhs)", "    means = mu[None].expand(B, M, d)", loses=_BOTH),
    _entry("posterior_tau_not_squared", "task_posterior", "uses 1 / tau instead of 1 / tau^2 for the prior precision",
           "Your component means weigh the prior with a standard deviation where a variance belongs.",
           _POSTERIOR, "prec = (X.transpose(1, 2) @ X)[:, None] / s2 + torch.eye(d, dtype=torch.float64) / tau[None, :, None, None] ** 2\n    rhs = (X.transpose(1, 2) @ y[..., None])[:, None, :, 0] / s2 + mu[None] / tau[None, :, None] ** 2",
           "prec = (X.transpose(1, 2) @ X)[:, None] / s2 + torch.eye(d, dtype=torch.float64) / tau[None, :, None, None]\n    rhs = (X.transpose(1, 2) @ y[..., None])[:, None, :, 0] / s2 + mu[None] / tau[None, :, None]",
           loses=_BOTH),
    _entry("posterior_linear_space", "task_posterior", "exponentiates the log-weights before normalising (underflows with many demos)",
           "With many demos your weights come out as 0/0: the likelihoods underflow before you normalise them.",
           _POSTERIOR, "    weights = torch.softmax(logw, dim=-1)",
           "    weights = torch.exp(logw + (-0.5 * d * (k + 1)) * math.log(2 * math.pi))\n    weights = weights / weights.sum(-1, keepdim=True)",
           loses=["test_task_posterior"]),
    # ---- mmse_predict --------------------------------------------------------------------------------------------
    _entry("mmse_hard_retrieval", "mmse_predict", "predicts with the single most probable group",
           "Your prediction commits to one group instead of averaging over the posterior.",
           _MMSE, "return (weights * torch.einsum(\"bmd,bd->bm\", means, x_query.double())).sum(-1)",
           "best = weights.argmax(-1)\n    return torch.einsum(\"bd,bd->b\", means[torch.arange(len(best)), best], x_query.double())"),
    _entry("mmse_prior_weights", "mmse_predict", "averages the component predictions with the prior weights",
           "Your prediction never re-weights the groups (no task retrieval).",
           _MMSE, "return (weights * torch.einsum", "return (torch.as_tensor(prior[\"weights\"], dtype=torch.float64) * torch.einsum"),
    _entry("mmse_prior_means", "mmse_predict", "averages x_q^T mu_m (the groups' prior means) with the posterior weights",
           "Your prediction uses each group's prior task, not its posterior mean.",
           _MMSE, "torch.einsum(\"bmd,bd->bm\", means, x_query.double())",
           "torch.einsum(\"md,bd->bm\", torch.as_tensor(prior[\"task_means\"], dtype=torch.float64), x_query.double())"),
    # ---- intern_stage --------------------------------------------------------------------------------------------
    _entry("intern_floor", "intern_stage", "rounds the kept counts down",
           "Your kept counts are one too small whenever r L is not a whole number.",
           _INTERN, "n_words = math.ceil(keep * len(instruction_words) - 1e-9)\n    n_demos = math.ceil(keep * len(demos) - 1e-9)",
           "n_words = math.floor(keep * len(instruction_words) + 1e-9)\n    n_demos = math.floor(keep * len(demos) + 1e-9)"),
    _entry("intern_importance_order", "intern_stage", "returns the kept words sorted by importance",
           "Your compressed instruction scrambles the word order.",
           _INTERN, "return [instruction_words[i] for i in sorted(ranked)]", "return [instruction_words[i] for i in ranked]"),
    _entry("intern_least_important", "intern_stage", "keeps the least important words",
           "Your compression keeps the words that carry the least information.",
           _INTERN, "key=lambda i: (-importance[i], i)", "key=lambda i: (importance[i], i)"),
    _entry("intern_last_demos", "intern_stage", "keeps the last demos instead of the first",
           "The demos you keep are not the ones the schedule keeps.",
           _INTERN, "list(demos[:n_demos])", "list(demos[len(demos) - n_demos:])"),
    _entry("intern_schedule_off_by_one", "intern_stage", "uses r = 1 - s / S, so the last stage still has a prompt",
           "Your last stage does not reach the bare query.",
           _INTERN, "keep = 1 - stage / (n_stages - 1)", "keep = 1 - stage / n_stages"),
]
