"""Wrong implementations for lab w09-1 (ReAct, Toolformer).

Each entry replaces one answer cell of weeks/w09-1-tools/solution.ipynb (format: tests/catalog/__init__.py);
`hint` is one student-facing sentence naming the likely mistake.
"""

_PARSE = '''def parse_action(output):
    text = output.split("Observation:", 1)[0]
    thought, tool, arg = "", None, None
    lines = [line.strip() for line in text.splitlines()]
    for line in lines:
        if line.startswith("Thought:"):
            thought = line[len("Thought:"):].strip()
            break
    for line in lines:
        if line.startswith("Action:"):
            match = re.fullmatch(r"(\\w+)\\[(.*)\\]", line[len("Action:"):].strip(), flags=re.S)
            if match:
                tool, arg = match.group(1), match.group(2).strip()
            break
    return {"thought": thought, "tool": tool, "arg": arg}
'''

_STEP = '''def react_step(transcript, output):
    text = output.split("Observation:", 1)[0].strip()
    action = parse_action(text)
    if action["tool"] == "finish":
        return {"transcript": transcript + text + "\\n", "done": True, "answer": action["arg"]}
    if action["tool"] is None:
        observation = INVALID_ACTION
    elif action["tool"] not in TOOLS:
        observation = UNKNOWN_TOOL.format(name=action["tool"])
    else:
        try:
            observation = TOOLS[action["tool"]](action["arg"])
        except Exception as error:
            observation = f"Error: {error}"
    return {"transcript": transcript + text + "\\nObservation: " + observation + "\\n", "done": False, "answer": None}
'''

_LOOP = '''def react_loop(question, model, max_steps=6):
    transcript = ""
    steps = 0
    for k in range(max_steps):
        if isinstance(model, (list, tuple)):
            if k >= len(model):
                break
            output = model[k]
        else:
            output = model(REACT_PROMPT + "Question: " + question + "\\n" + transcript)
        steps += 1
        result = react_step(transcript, output)
        transcript = result["transcript"]
        if result["done"]:
            return {"answer": result["answer"], "transcript": transcript, "steps": steps}
    return {"answer": None, "transcript": transcript, "steps": steps}
'''

_SELECT = '''def select_positions(p_api, tau_s, k):
    eligible = [i for i, p in enumerate(p_api) if p > tau_s]
    best = sorted(eligible, key=lambda i: -p_api[i])[:k]
    return sorted(best)
'''

_WLOSS = '''def weighted_loss(token_nll):
    raw = [max(0.0, 1.0 - 0.2 * t) for t in range(6)]
    total = sum(raw)
    return float(sum(raw[t] / total * float(x) for t, x in enumerate(token_nll[:6])))
'''

_FILTER = '''def filter_call(nll_with_result, nll_empty_result, nll_without_call, tau):
    plus = weighted_loss(nll_with_result)
    minus = min(weighted_loss(nll_without_call), weighted_loss(nll_empty_result))
    return {"L_plus": plus, "L_minus": minus, "keep": bool(minus - plus >= tau)}
'''

_NLL = '''def continuation_nll(context_ids, continuation_ids):
    ids = torch.tensor([[TOK.bos_token_id] + list(context_ids) + list(continuation_ids)])
    with torch.no_grad():
        logprobs = LM(ids).logits[0].float().log_softmax(-1)
    start = 1 + len(context_ids)
    targets = ids[0, start:]
    return (-logprobs[start - 1 : ids.shape[1] - 1].gather(-1, targets[:, None])[:, 0]).tolist()
'''

_AUG = '''def augment_text(text, candidates, tau):
    gains, results, best = [], [], {}
    for index, (position, tool, arg) in enumerate(candidates):
        try:
            result = TOOLS[tool](arg)
        except Exception:
            result = "Error"
        results.append(result)
        before, after = encode(text[:position]), encode(text[position:])
        verdict = filter_call(continuation_nll(encode(format_call(tool, arg, result) + " ") + before, after),
                              continuation_nll(encode(format_call(tool, arg) + " ") + before, after),
                              continuation_nll(before, after), tau)
        gain = verdict["L_minus"] - verdict["L_plus"]
        gains.append(gain)
        if verdict["keep"] and (position not in best or gain > gains[best[position]]):
            best[position] = index
    augmented = text
    for position in sorted(best, reverse=True):
        _, tool, arg = candidates[best[position]]
        augmented = augmented[:position] + " " + format_call(tool, arg, results[best[position]]) + augmented[position:]
    return {"text": augmented, "kept": sorted(best.values()), "gains": gains}
'''


def _sub(base, old, new):
    assert base.count(old) == 1, f"{old!r} must occur once"
    return base.replace(old, new)


def _entry(name, cell, why, hint, base, old, new, loses=None, show_hint=True):
    entry = {"name": name, "cell": cell, "why": why, "hint": hint, "source": _sub(base, old, new),
             "loses": loses or [f"test_{cell}"]}
    if not show_hint:
        entry["show_hint"] = False
    return entry


WRONG_IMPLEMENTATIONS = [
    # ---- parse_action -------------------------------------------------------------------------------------------
    _entry("parse_keeps_invented_observation", "parse_action",
           "parses the whole output, so an Action written after a made-up Observation is executed",
           "Your parser trusts text that the model wrote after it started inventing an observation.",
           _PARSE, 'text = output.split("Observation:", 1)[0]', "text = output"),
    _entry("parse_last_action_line", "parse_action", "takes the last Action line instead of the first",
           "When the model writes several Action lines, your parser picks a different one than asked.",
           _PARSE, "                tool, arg = match.group(1), match.group(2).strip()\n            break",
           "                tool, arg = match.group(1), match.group(2).strip()"),
    _entry("parse_first_bracket", "parse_action", "stops the argument at the first ']' (nested brackets break it)",
           "An argument that itself contains brackets is cut short by your parser.",
           _PARSE, 'r"(\\w+)\\[(.*)\\]"', 'r"(\\w+)\\[([^\\]]*)\\]"'),
    _entry("parse_search_anywhere", "parse_action", "accepts name[arg] anywhere in the Action line (re.search)",
           "Your parser accepts Action lines with extra text around the call.",
           _PARSE, 're.fullmatch(r"(\\w+)\\[(.*)\\]", line[len("Action:"):].strip(), flags=re.S)',
           're.search(r"(\\w+)\\[(.*)\\]", line[len("Action:"):].strip(), flags=re.S)'),
    _entry("parse_no_strip_arg", "parse_action", "keeps the spaces around the argument",
           "Look at the whitespace around the argument you return.",
           _PARSE, "match.group(2).strip()", "match.group(2)"),
    _entry("parse_any_name_chars", "parse_action", "accepts any characters as the tool name",
           "Your parser accepts tool names that are not made of word characters.",
           _PARSE, 'r"(\\w+)\\[(.*)\\]"', 'r"([^\\[]+)\\[(.*)\\]"'),
    # ---- react_step ---------------------------------------------------------------------------------------------
    _entry("step_raises_on_tool_error", "react_step", "lets a tool's exception crash the loop",
           "A failing tool should be information for the model, not the end of the program.",
           _STEP, "        try:\n            observation = TOOLS[action[\"tool\"]](action[\"arg\"])\n        except Exception as error:\n"
           "            observation = f\"Error: {error}\"", "        observation = TOOLS[action[\"tool\"]](action[\"arg\"])"),
    _entry("step_error_type_name", "react_step", "writes the exception's type name instead of its message",
           "Compare your error observation with the format the docstring gives.",
           _STEP, 'f"Error: {error}"', 'f"Error: {type(error).__name__}"'),
    _entry("step_unknown_as_invalid", "react_step", "reports an unknown tool as an invalid action",
           "Your loop does not tell the model which tool name it got wrong.",
           _STEP, "UNKNOWN_TOOL.format(name=action[\"tool\"])", "INVALID_ACTION"),
    _entry("step_keeps_invented_observation", "react_step", "appends the model's whole output, invented observation included",
           "The transcript your step builds contains words the tools never said.",
           _STEP, 'text = output.split("Observation:", 1)[0].strip()', "text = output.strip()"),
    _entry("step_observation_on_finish", "react_step", "appends an empty observation after finish",
           "Check what your transcript looks like after the episode ends.",
           _STEP, 'return {"transcript": transcript + text + "\\n", "done": True',
           'return {"transcript": transcript + text + "\\nObservation: \\n", "done": True'),
    _entry("step_rewrites_action", "react_step", "rebuilds the step from the parsed parts instead of keeping the text verbatim",
           "The model's own text should reach the transcript unchanged, even when it is malformed.",
           _STEP, '    return {"transcript": transcript + text + "\\nObservation: "',
           '    text = f"Thought: {action[\'thought\']}\\nAction: {action[\'tool\']}[{action[\'arg\']}]"\n'
           '    return {"transcript": transcript + text + "\\nObservation: "'),
    # ---- react_loop ---------------------------------------------------------------------------------------------
    _entry("loop_off_by_one", "react_loop", "allows max_steps + 1 model calls",
           "Count how many times your loop calls the model when it never finishes.",
           _LOOP, "for k in range(max_steps):", "for k in range(max_steps + 1):"),
    _entry("loop_ignores_done", "react_loop", "keeps calling the model after finish",
           "Your loop does not stop when the model has answered.",
           _LOOP, '        if result["done"]:\n            return {"answer": result["answer"], "transcript": transcript, "steps": steps}\n',
           '        if result["done"] and k == max_steps - 1:\n            return {"answer": result["answer"], "transcript": transcript, "steps": steps}\n'),
    _entry("loop_counts_valid_steps_only", "react_loop", "does not count malformed outputs towards the step limit",
           "Every model call costs a step, whatever the model wrote.",
           _LOOP, "        steps += 1\n", "        steps += 1 if parse_action(output)[\"tool\"] else 0\n"),
    _entry("loop_no_transcript_carry", "react_loop", "starts every step from an empty transcript",
           "Your final transcript forgets the earlier rounds.",
           _LOOP, "result = react_step(transcript, output)", "result = react_step(\"\", output)"),
    # ---- select_positions ---------------------------------------------------------------------------------------
    _entry("select_first_k", "select_positions", "keeps the first k positions above tau_s, not the k most likely",
           "Your function picks positions by where they are rather than by how likely they are.",
           _SELECT, "best = sorted(eligible, key=lambda i: -p_api[i])[:k]", "best = eligible[:k]"),
    _entry("select_inclusive_tau", "select_positions", "keeps p_api >= tau_s",
           "Check the boundary case p_api == tau_s.",
           _SELECT, "if p > tau_s]", "if p >= tau_s]"),
    _entry("select_by_probability_order", "select_positions", "returns positions ordered by probability",
           "Check the order of the positions you return.",
           _SELECT, "    return sorted(best)", "    return best"),
    _entry("select_no_threshold", "select_positions", "takes the top k positions without the threshold tau_s",
           "Some positions you return are not likely enough to be candidates at all.",
           _SELECT, "    eligible = [i for i, p in enumerate(p_api) if p > tau_s]", "    eligible = list(range(len(p_api)))"),
    # ---- weighted_loss ------------------------------------------------------------------------------------------
    _entry("wloss_normalise_present", "weighted_loss", "normalises by the weights of the tokens present, not by the sum over all t",
           "Your weights depend on how many tokens follow; the paper's do not.",
           _WLOSS, "    total = sum(raw)\n", "    total = sum(raw[: len(token_nll)]) or 1.0\n"),
    _entry("wloss_unnormalised", "weighted_loss", "uses max(0, 1 - 0.2 t) without normalising",
           "Your weights do not sum to one.",
           _WLOSS, "raw[t] / total *", "raw[t] *"),
    _entry("wloss_t_from_one", "weighted_loss", "starts t at 1, so the first token gets weight 0.8",
           "The first token after the call should get the largest weight of all.",
           _WLOSS, "    raw = [max(0.0, 1.0 - 0.2 * t) for t in range(6)]", "    raw = [max(0.0, 1.0 - 0.2 * (t + 1)) for t in range(6)]"),
    _entry("wloss_plain_mean", "weighted_loss", "averages the NLL of all following tokens",
           "Your loss treats far tokens like near ones.",
           _WLOSS, "    return float(sum(raw[t] / total * float(x) for t, x in enumerate(token_nll[:6])))",
           "    return float(sum(token_nll) / max(len(token_nll), 1))"),
    # ---- filter_call --------------------------------------------------------------------------------------------
    _entry("filter_no_empty_baseline", "filter_call", "compares with the no-call loss only",
           "One of the two baselines of L minus is missing from your filter.",
           _FILTER, "min(weighted_loss(nll_without_call), weighted_loss(nll_empty_result))", "weighted_loss(nll_without_call)"),
    _entry("filter_max_baseline", "filter_call", "takes the larger of the two baselines",
           "Your L minus is the easier of the two baselines to beat.",
           _FILTER, "minus = min(", "minus = max("),
    _entry("filter_reversed_difference", "filter_call", "keeps the call when L+ - L- >= tau",
           "Your filter keeps calls that make the text harder to predict.",
           _FILTER, "bool(minus - plus >= tau)", "bool(plus - minus >= tau)"),
    _entry("filter_strict", "filter_call", "uses a strict inequality",
           "Check the case where the gain equals tau exactly.",
           _FILTER, "minus - plus >= tau", "minus - plus > tau"),
    # ---- continuation_nll ---------------------------------------------------------------------------------------
    _entry("nll_no_shift", "continuation_nll", "reads each token's probability at its own position (no shift)",
           "Each token must be scored by the prediction made just before it.",
           _NLL, "logprobs[start - 1 : ids.shape[1] - 1]", "logprobs[start : ids.shape[1]]",
           loses=["test_continuation_nll"]),
    _entry("nll_no_bos", "continuation_nll", "forgets BOS in front",
           "The model was trained with a special token in front of every text.",
           _NLL, "[[TOK.bos_token_id] + list(context_ids)", "[list(context_ids)", show_hint=True),
    _entry("nll_logits_not_logprobs", "continuation_nll", "returns minus the raw logit of the token",
           "Scores must be normalised over the vocabulary before they are NLLs.",
           _NLL, "LM(ids).logits[0].float().log_softmax(-1)", "LM(ids).logits[0].float()"),
    # ---- augment_text -------------------------------------------------------------------------------------------
    _entry("augment_insert_no_space", "augment_text", "inserts the call without the space in front",
           "Compare your augmented text character by character with the format in the docstring.",
           _AUG, 'augmented[:position] + " " + format_call', "augmented[:position] + format_call"),
    _entry("augment_left_to_right", "augment_text", "inserts from left to right, so later positions shift",
           "With several kept calls, where do your later insertions land?",
           _AUG, "sorted(best, reverse=True)", "sorted(best)"),
    _entry("augment_insert_empty_result", "augment_text", "inserts the call without its result",
           "The fine-tuning text should show what the tool answered.",
           _AUG, "format_call(tool, arg, results[best[position]]) + augmented[position:]", "format_call(tool, arg) + augmented[position:]"),
    _entry("augment_prefix_without_space", "augment_text", "scores the prefix e(c, r) without the separating space",
           "Check the exact prefix your filter gives to the model.",
           _AUG, 'continuation_nll(encode(format_call(tool, arg, result) + " ") + before, after)',
           "continuation_nll(encode(format_call(tool, arg, result)) + before, after)"),
    _entry("augment_keeps_all_at_position", "augment_text", "keeps the last passing call at a position, not the one with the largest gain",
           "When two calls pass at the same position, check which one your text keeps.",
           _AUG, '(position not in best or gain > gains[best[position]])', "True",
           ),
    _entry("augment_result_as_empty_baseline", "augment_text", "scores the empty-result baseline with the result",
           "One of your three prefixes is not the one the paper describes.",
           _AUG, "continuation_nll(encode(format_call(tool, arg) + \" \") + before, after)",
           "continuation_nll(encode(format_call(tool, arg, result) + \" \") + before, after)"),
]
