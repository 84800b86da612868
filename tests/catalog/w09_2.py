"""Wrong implementations for lab w09-2 (DSPy, GEPA).

Each entry replaces one answer cell of weeks/w09-2-dspy-gepa/solution.ipynb (format: tests/catalog/__init__.py).
Every entry also has a `hint`: one student-facing sentence naming the likely mistake without giving the fix.
"""

_RENDER = r'''def render_prompt(signature, instruction, demos, inputs):
    """The prompt of one module call (a string), in the format above.

    signature: {"inputs": [names], "outputs": [names]}; instruction: str;
    demos: list of dicts (a value for every field); inputs: dict (a value for every input field).
    """
    blocks = [instruction]
    for demo in demos:
        fields = signature["inputs"] + signature["outputs"]
        blocks.append("\n".join(f"{field_label(name)}: {demo[name]}" for name in fields))
    query = [f"{field_label(name)}: {inputs[name]}" for name in signature["inputs"]]
    query.append(field_label(signature["outputs"][0]) + ":")
    blocks.append("\n".join(query))
    return "\n\n".join(blocks)
'''

_RUN = r'''def run_program(program, lm, example):
    """Run every module of `program` on `example` with the scripted LM; return {"prediction", "trace"}."""
    fields = dict(example)
    prediction, trace = {}, []
    for module in program["modules"]:
        signature = module["signature"]
        inputs = {name: fields[name] for name in signature["inputs"]}
        prompt = render_prompt(signature, module["instruction"], module["demos"], inputs)
        outputs = parse_completion(signature, scripted_lm(lm, prompt))
        trace.append({"module": module["name"], "inputs": inputs, "outputs": outputs})
        fields.update(outputs)
        prediction.update(outputs)
    return {"prediction": prediction, "trace": trace}
'''

_BOOT = r'''def bootstrap_fewshot(program, lm, trainset, max_demos):
    """BootstrapFewShot: the program with demonstrations from (at most max_demos) passing training runs."""
    compiled = copy.deepcopy(program)
    for module in compiled["modules"]:
        module["demos"] = []
    passed = 0
    for example in trainset:
        if passed >= max_demos:
            break
        run = run_program(program, lm, example)
        if metric(example, run["prediction"])["score"] == 1.0:
            passed += 1
            for module, record in zip(compiled["modules"], run["trace"]):
                module["demos"].append({**record["inputs"], **record["outputs"]})
    return compiled
'''

_PARETO = r'''def pareto_weights(scores):
    """scores[k][i]: candidate k on instance i. The selection weight of every candidate (a list of ints)."""
    n_cand, n_inst = len(scores), len(scores[0])
    best = [{k for k in range(n_cand) if scores[k][i] == max(s[i] for s in scores)} for i in range(n_inst)]
    front = set().union(*best)

    def dominates(a, b):
        return all(x >= y for x, y in zip(scores[a], scores[b])) and any(x > y for x, y in zip(scores[a], scores[b]))

    kept = {k for k in front if not any(dominates(j, k) for j in front if j != k)}
    return [sum(k in best[i] for i in range(n_inst)) if k in kept else 0 for k in range(n_cand)]
'''

_SELECT = r'''def select_candidate(scores, u):
    """The candidate GEPA mutates next, from one uniform draw u in [0, 1) (an int index)."""
    weights = pareto_weights(scores)
    target = u * sum(weights)
    cumulative = 0
    for k, weight in enumerate(weights):
        cumulative += weight
        if weight > 0 and target < cumulative:
            return k
    return max(k for k, weight in enumerate(weights) if weight > 0)
'''

_MUTATE = r'''def reflective_mutation(program, module_index, runs, reflector):
    """The child program: module `module_index` gets the instruction the reflector proposes from the runs."""
    module = program["modules"][module_index]
    records = []
    for run in runs:
        call = run["trace"][module_index]
        lines = [f"{field_label(k)}: {v}" for k, v in {**call["inputs"], **call["outputs"]}.items()]
        lines += [f"Score: {run['score']}", f"Feedback: {run['feedback']}"]
        records.append("\n".join(lines))
    prompt = REFLECTION_TEMPLATE.format(instruction=module["instruction"], examples="\n\n".join(records))
    child = copy.deepcopy(program)
    child["modules"][module_index]["instruction"] = run_reflector(reflector, prompt)
    return child
'''

_GEPA = r'''def gepa(program, lm, reflector, trainset, valset, budget, minibatch_size, seed):
    """GEPA (without merge) under a budget of metric calls. Returns the dict described above."""
    rng = random.Random(seed)
    used = 0

    def rollouts(candidate, examples):
        nonlocal used
        runs = []
        for example in examples:
            run = run_program(candidate, lm, example)
            judged = metric(example, run["prediction"])
            used += 1
            runs.append({"trace": run["trace"], "score": judged["score"], "feedback": judged["feedback"]})
        return runs

    candidates, parents = [program], [None]
    val_scores = [[run["score"] for run in rollouts(program, valset)]]
    log = []
    n_modules = len(program["modules"])
    while used + 2 * minibatch_size + len(valset) <= budget:
        module = len(log) % n_modules
        parent = select_candidate(val_scores, rng.random())
        batch = rng.sample(range(len(trainset)), minibatch_size)
        examples = [trainset[i] for i in batch]
        parent_runs = rollouts(candidates[parent], examples)
        child = reflective_mutation(candidates[parent], module, parent_runs, reflector)
        child_runs = rollouts(child, examples)
        parent_score = sum(run["score"] for run in parent_runs)
        child_score = sum(run["score"] for run in child_runs)
        accepted = child_score > parent_score
        log.append({"parent": parent, "module": module, "minibatch": batch, "parent_score": parent_score,
                    "child_score": child_score, "accepted": accepted, "child": child})
        if accepted:
            candidates.append(child)
            parents.append(parent)
            val_scores.append([run["score"] for run in rollouts(child, valset)])
    means = [sum(row) / len(row) for row in val_scores]
    best = max(range(len(means)), key=lambda k: (means[k], -k))
    return {"candidates": candidates, "parents": parents, "val_scores": val_scores, "log": log, "best": best}
'''


def _sub(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


def _entry(name, cell, why, base, old, new, loses=None):
    return {"name": name, "cell": cell, "why": why, "source": _sub(base, old, new), "loses": loses or [f"test_{cell}"]}


# a wrong render_prompt or run_program also breaks every function built on them
_DOWNSTREAM = ["test_run_program", "test_bootstrap_fewshot", "test_gepa"]

WRONG_IMPLEMENTATIONS = [
    # ---- render_prompt ------------------------------------------------------------------------------------------
    _entry("render_query_before_demos", "render_prompt", "puts the query block before the demonstrations", _RENDER,
           "    blocks.append(\"\\n\".join(query))", "    blocks.insert(1, \"\\n\".join(query))"),
    _entry("render_no_output_label", "render_prompt", "ends the query with its inputs, without the first output label",
           _RENDER, "    query.append(field_label(signature[\"outputs\"][0]) + \":\")\n", ""),
    _entry("render_all_output_labels", "render_prompt", "ends the query with every output label, one per line",
           _RENDER, "    query.append(field_label(signature[\"outputs\"][0]) + \":\")\n",
           "    query += [field_label(name) + \":\" for name in signature[\"outputs\"]]\n"),
    _entry("render_demos_inputs_only", "render_prompt", "shows only the inputs of each demonstration", _RENDER,
           "fields = signature[\"inputs\"] + signature[\"outputs\"]", "fields = signature[\"inputs\"]"),
    _entry("render_drops_empty_instruction", "render_prompt", "leaves out the instruction block when it is empty",
           _RENDER, "    blocks = [instruction]\n", "    blocks = [instruction] if instruction else []\n"),
    _entry("render_dict_order", "render_prompt", "shows the fields in the order of the dicts, not of the signature",
           _RENDER, "    query = [f\"{field_label(name)}: {inputs[name]}\" for name in signature[\"inputs\"]]",
           "    query = [f\"{field_label(name)}: {value}\" for name, value in inputs.items()]"),
    _entry("render_raw_names", "render_prompt", "labels fields with their raw names ('passage_text:')", _RENDER,
           "        blocks.append(\"\\n\".join(f\"{field_label(name)}: {demo[name]}\" for name in fields))",
           "        blocks.append(\"\\n\".join(f\"{name.capitalize()}: {demo[name]}\" for name in fields))"),
    _entry("render_single_newline", "render_prompt", "separates blocks by a single newline", _RENDER,
           "    return \"\\n\\n\".join(blocks)", "    return \"\\n\".join(blocks)", loses=["test_render_prompt"] + _DOWNSTREAM),
    # ---- run_program --------------------------------------------------------------------------------------------
    _entry("run_reads_example_only", "run_program", "every module reads its inputs from the example, never from earlier outputs",
           _RUN, "        fields.update(outputs)\n", ""),
    _entry("run_prediction_last_module", "run_program", "returns only the last module's outputs as the prediction",
           _RUN, "        prediction.update(outputs)\n", "        prediction = dict(outputs)\n"),
    _entry("run_prediction_includes_example", "run_program", "returns every field (the example's too) as the prediction",
           _RUN, "    return {\"prediction\": prediction, \"trace\": trace}", "    return {\"prediction\": fields, \"trace\": trace}"),
    _entry("run_ignores_demos", "run_program", "renders every module without its demonstrations", _RUN,
           "module[\"instruction\"], module[\"demos\"], inputs)", "module[\"instruction\"], [], inputs)"),
    _entry("run_first_instruction_everywhere", "run_program", "uses the first module's instruction for every module",
           _RUN, "module[\"instruction\"], module[\"demos\"], inputs)",
           "program[\"modules\"][0][\"instruction\"], module[\"demos\"], inputs)"),
    _entry("run_trace_prompt_inputs", "run_program", "records all the fields seen so far as the inputs of every call",
           _RUN, "        trace.append({\"module\": module[\"name\"], \"inputs\": inputs, \"outputs\": outputs})",
           "        trace.append({\"module\": module[\"name\"], \"inputs\": dict(fields), \"outputs\": outputs})"),
    # ---- bootstrap_fewshot --------------------------------------------------------------------------------------
    _entry("boot_keeps_failures", "bootstrap_fewshot", "keeps every trace as a demonstration, passing or not", _BOOT,
           "        if metric(example, run[\"prediction\"])[\"score\"] == 1.0:",
           "        metric(example, run[\"prediction\"])\n        if True:"),
    _entry("boot_no_cap", "bootstrap_fewshot", "ignores max_demos", _BOOT,
           "        if passed >= max_demos:\n            break\n", ""),
    _entry("boot_cap_on_examples", "bootstrap_fewshot", "stops after max_demos training examples, passing or not", _BOOT,
           "        if passed >= max_demos:", "        if trainset.index(example) >= max_demos:"),
    _entry("boot_labels_not_traces", "bootstrap_fewshot", "uses the gold example fields (labeled demos) instead of the run's trace",
           _BOOT, "                module[\"demos\"].append({**record[\"inputs\"], **record[\"outputs\"]})",
           "                module[\"demos\"].append({k: example.get(k, v) for k, v in {**record[\"inputs\"], **record[\"outputs\"]}.items()})"),
    _entry("boot_growing_teacher", "bootstrap_fewshot", "runs the growing compiled program as the teacher", _BOOT,
           "        run = run_program(program, lm, example)", "        run = run_program(compiled, lm, example)"),
    _entry("boot_keeps_old_demos", "bootstrap_fewshot", "appends the bootstrapped demos to the program's existing ones", _BOOT,
           "    for module in compiled[\"modules\"]:\n        module[\"demos\"] = []\n", ""),
    _entry("boot_scores_after_cap", "bootstrap_fewshot", "keeps scoring the remaining examples after the cap is reached",
           _BOOT, "        if passed >= max_demos:\n            break\n        run = run_program(program, lm, example)\n        if metric(example, run[\"prediction\"])[\"score\"] == 1.0:",
           "        run = run_program(program, lm, example)\n        if metric(example, run[\"prediction\"])[\"score\"] == 1.0 and passed < max_demos:"),
    _entry("boot_outputs_only", "bootstrap_fewshot", "stores only each call's outputs as its demonstration", _BOOT,
           "{**record[\"inputs\"], **record[\"outputs\"]}", "dict(record[\"outputs\"])"),
    # ---- pareto_weights -----------------------------------------------------------------------------------------
    _entry("pareto_no_pruning", "pareto_weights", "never removes dominated candidates from the per-instance best sets",
           _PARETO, "    kept = {k for k in front if not any(dominates(j, k) for j in front if j != k)}", "    kept = front",
           loses=["test_pareto_weights", "test_select_candidate"]),
    _entry("pareto_uniform_weights", "pareto_weights", "gives every selectable candidate weight 1", _PARETO,
           "sum(k in best[i] for i in range(n_inst)) if k in kept", "1 if k in kept",
           loses=["test_pareto_weights", "test_select_candidate"]),
    _entry("pareto_first_best_only", "pareto_weights", "credits only the lowest-index best candidate on each instance (ties ignored)",
           _PARETO, "    best = [{k for k in range(n_cand) if scores[k][i] == max(s[i] for s in scores)} for i in range(n_inst)]",
           "    best = [{max(range(n_cand), key=lambda k: (scores[k][i], -k))} for i in range(n_inst)]",
           loses=["test_pareto_weights", "test_select_candidate"]),
    _entry("pareto_weak_dominance", "pareto_weights", "removes candidates that are only weakly dominated (so identical ones remove each other)",
           _PARETO, " and any(x > y for x, y in zip(scores[a], scores[b]))", ""),
    _entry("pareto_mean_score", "pareto_weights", "weights the non-dominated candidates by their mean score instead of instances won",
           _PARETO, "sum(k in best[i] for i in range(n_inst)) if k in kept", "round(sum(scores[k])) if k in kept",
           loses=["test_pareto_weights", "test_select_candidate"]),
    _entry("pareto_skip_all_zero", "pareto_weights", "does not count instances on which every candidate scores 0",
           _PARETO, "    front = set().union(*best)",
           "    best = [b if max(s[i] for s in scores) > 0 else set() for i, b in enumerate(best)]\n    front = set().union(*best)"),
    # ---- select_candidate ---------------------------------------------------------------------------------------
    _entry("select_argmax_weight", "select_candidate", "always picks the candidate with the largest weight", _SELECT,
           "    target = u * sum(weights)", "    return weights.index(max(weights))\n    target = u * sum(weights)"),
    _entry("select_best_mean", "select_candidate", "always mutates the candidate with the best mean score (greedy)", _SELECT,
           "    weights = pareto_weights(scores)", "    return max(range(len(scores)), key=lambda k: sum(scores[k]))\n    weights = pareto_weights(scores)"),
    _entry("select_uniform_front", "select_candidate", "picks uniformly among the candidates of positive weight", _SELECT,
           "    weights = pareto_weights(scores)", "    weights = [1 if w > 0 else 0 for w in pareto_weights(scores)]"),
    _entry("select_uniform_all", "select_candidate", "picks uniformly among all candidates", _SELECT,
           "    weights = pareto_weights(scores)", "    weights = [1] * len(scores)"),
    # ---- reflective_mutation ------------------------------------------------------------------------------------
    _entry("mutate_every_module", "reflective_mutation", "writes the proposed instruction into every module", _MUTATE,
           "    child[\"modules\"][module_index][\"instruction\"] = run_reflector(reflector, prompt)",
           "    new = run_reflector(reflector, prompt)\n    for m in child[\"modules\"]:\n        m[\"instruction\"] = new",
           loses=["test_reflective_mutation", "test_gepa"]),
    _entry("mutate_no_feedback", "reflective_mutation", "shows the reflector the inputs and outputs but not the feedback",
           _MUTATE, "        lines += [f\"Score: {run['score']}\", f\"Feedback: {run['feedback']}\"]",
           "        lines += [f\"Score: {run['score']}\"]", loses=["test_reflective_mutation", "test_gepa"]),
    _entry("mutate_failures_last_first", "reflective_mutation", "lists the runs in reverse order", _MUTATE,
           "    for run in runs:", "    for run in reversed(runs):"),
    _entry("mutate_wrong_instruction", "reflective_mutation", "puts the first module's instruction in the meta-prompt, whatever module is mutated",
           _MUTATE, "REFLECTION_TEMPLATE.format(instruction=module[\"instruction\"]",
           "REFLECTION_TEMPLATE.format(instruction=program[\"modules\"][0][\"instruction\"]"),
    _entry("mutate_first_run_only", "reflective_mutation", "reflects on the first run of the minibatch only", _MUTATE,
           "    for run in runs:", "    for run in runs[:1]:"),
    # ---- gepa ---------------------------------------------------------------------------------------------------
    _entry("gepa_accept_ties", "gepa", "accepts a child that only ties its parent on the minibatch", _GEPA,
           "        accepted = child_score > parent_score", "        accepted = child_score >= parent_score"),
    _entry("gepa_always_accept", "gepa", "accepts every child without the minibatch test", _GEPA,
           "        accepted = child_score > parent_score", "        accepted = True"),
    _entry("gepa_budget_ignores_minibatch", "gepa", "checks the budget only against the validation evaluation", _GEPA,
           "    while used + 2 * minibatch_size + len(valset) <= budget:", "    while used + len(valset) <= budget:"),
    _entry("gepa_budget_stops_early", "gepa", "stops when the budget left is less than two full validation passes", _GEPA,
           "    while used + 2 * minibatch_size + len(valset) <= budget:",
           "    while used + 2 * minibatch_size + 2 * len(valset) <= budget:"),
    _entry("gepa_child_val_from_minibatch", "gepa", "records the child's minibatch scores as its validation row (no Pareto evaluation)",
           _GEPA, "            val_scores.append([run[\"score\"] for run in rollouts(child, valset)])",
           "            val_scores.append([run[\"score\"] for run in child_runs] + [0.0] * (len(valset) - len(child_runs)))"),
    _entry("gepa_module_zero_only", "gepa", "always mutates the first module", _GEPA,
           "        module = len(log) % n_modules", "        module = 0"),
    _entry("gepa_greedy_parent", "gepa", "always mutates the candidate with the best mean validation score", _GEPA,
           "        parent = select_candidate(val_scores, rng.random())",
           "        rng.random()\n        parent = max(range(len(val_scores)), key=lambda k: sum(val_scores[k]))"),
    _entry("gepa_latest_parent", "gepa", "always mutates the newest candidate", _GEPA,
           "        parent = select_candidate(val_scores, rng.random())", "        rng.random()\n        parent = len(candidates) - 1"),
    _entry("gepa_unseeded", "gepa", "draws the minibatches from the global random module, not from random.Random(seed)",
           _GEPA, "        batch = rng.sample(range(len(trainset)), minibatch_size)",
           "        batch = random.sample(range(len(trainset)), minibatch_size)"),
    _entry("gepa_best_last", "gepa", "reports the last candidate as the best", _GEPA,
           "    best = max(range(len(means)), key=lambda k: (means[k], -k))", "    best = len(candidates) - 1"),
]


# ----------------------------------------------------------------------------------------------- hints
# One sentence per entry for the student who made that mistake, shown under the failed test.
# Entries in _HINTS_NOT_SHOWN keep their hint for the class report only: any useful hint would give the fix away.
_HINTS = {
    "render_query_before_demos": "In your prompt the query is not the last block, so the LM continues a demonstration instead of the query.",
    "render_no_output_label": "Your query block stops after the inputs: the LM is not told which field to write first.",
    "render_all_output_labels": "Your query lists every output label, so the LM is shown empty fields instead of a place to continue.",
    "render_demos_inputs_only": "Your demonstrations show questions without answers, so they demonstrate nothing.",
    "render_drops_empty_instruction": "Your prompt changes shape when the instruction is empty; the format keeps its block in every case.",
    "render_dict_order": "Your fields follow the order of the dict you are given rather than the signature's.",
    "render_raw_names": "Your labels for multi-word field names differ from the ones the lab's helper produces.",
    "render_single_newline": "Your blocks are not separated the way the LM splits them, so it cannot find the query.",
    "run_reads_example_only": "Your later modules never see what the earlier modules wrote.",
    "run_prediction_last_module": "Your prediction loses the fields written by the earlier modules.",
    "run_prediction_includes_example": "Your prediction also contains the example's own fields, which the program did not produce.",
    "run_ignores_demos": "The modules' demonstrations never reach the LM in your program.",
    "run_first_instruction_everywhere": "Each module has its own instruction, but your program sends the same one to every module.",
    "run_trace_prompt_inputs": "Your trace records more inputs than the module actually read.",
    "boot_keeps_failures": "Your optimiser turns failing runs into demonstrations too.",
    "boot_no_cap": "Your optimiser collects more demonstrations than it is allowed.",
    "boot_cap_on_examples": "Your cap counts training examples tried, not runs that passed.",
    "boot_labels_not_traces": "Your demonstrations copy the gold fields, where bootstrapping keeps what the program itself produced.",
    "boot_growing_teacher": "Your teacher changes during the loop: it should be the program you were given.",
    "boot_keeps_old_demos": "Your compiled program still carries the demonstrations it started with.",
    "boot_scores_after_cap": "Your optimiser keeps spending metric calls after it has all its demonstrations.",
    "boot_outputs_only": "Your demonstrations lack the inputs of the calls they record.",
    "pareto_no_pruning": "A candidate that another beats or ties everywhere still gets weight in your selection.",
    "pareto_uniform_weights": "Your weights do not depend on how many instances a candidate wins.",
    "pareto_first_best_only": "When several candidates tie for the best score on an instance, your function credits only one.",
    "pareto_weak_dominance": "Your pruning also removes candidates that are identical to another, which GEPA keeps.",
    "pareto_mean_score": "Your weights come from average scores, not from the instances a candidate wins.",
    "pareto_skip_all_zero": "Your function skips instances on which every candidate fails; GEPA's best sets include them.",
    "select_argmax_weight": "Your selection is deterministic: GEPA samples, in proportion to the weights.",
    "select_best_mean": "Your selection is greedy on the mean score, which is what GEPA's Pareto selection is meant to avoid.",
    "select_uniform_front": "Your selection ignores how many instances each candidate wins.",
    "select_uniform_all": "Your selection can pick dominated candidates and ignores the weights.",
    "mutate_every_module": "Your mutation rewrites every module's instruction, not just the chosen one.",
    "mutate_no_feedback": "The reflector never sees the feedback, so it cannot learn from the failures.",
    "mutate_failures_last_first": "Your examples block does not present the runs in the order they were given.",
    "mutate_wrong_instruction": "The meta-prompt shows the reflector another module's instruction.",
    "mutate_first_run_only": "The reflector sees only part of the minibatch.",
    "gepa_accept_ties": "Your loop accepts children that are no better than their parent on the minibatch.",
    "gepa_always_accept": "Your loop adds every child to the pool, however it did on the minibatch.",
    "gepa_budget_ignores_minibatch": "Your budget check forgets the rollouts of the minibatch evaluations, so the budget can be exceeded.",
    "gepa_budget_stops_early": "Your loop stops while an iteration still fits in the budget.",
    "gepa_child_val_from_minibatch": "The validation scores you record for a new candidate are not its scores on the validation set.",
    "gepa_module_zero_only": "Your loop only ever mutates one module.",
    "gepa_greedy_parent": "Your parents are chosen greedily, not from the per-instance Pareto front.",
    "gepa_latest_parent": "Your parents are not sampled from the Pareto front of the pool.",
    "gepa_unseeded": "Part of your loop's randomness ignores the seed, so two runs with the same seed differ.",
    "gepa_best_last": "The candidate you report as best is not the one with the highest validation score.",
}
_HINTS_NOT_SHOWN = {
    "render_single_newline",  # any useful hint names the separator
    "mutate_failures_last_first",  # any useful hint names the order
}
assert set(_HINTS) == {e["name"] for e in WRONG_IMPLEMENTATIONS}, "one hint per entry, no stale names"
for _wrong in WRONG_IMPLEMENTATIONS:
    _wrong["hint"] = _HINTS[_wrong["name"]]
    if _wrong["name"] in _HINTS_NOT_SHOWN:
        _wrong["show_hint"] = False
