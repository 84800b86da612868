"""Wrong implementations for lab w13-2 (APE, PromptBreeder, Evol-Instruct, PromptAgent).

Each entry replaces one answer cell of weeks/w13-2-prompt-evolution/solution.ipynb (format: tests/catalog/__init__.py).
Every entry also has a `hint`: one student-facing sentence naming the likely mistake without giving the fix.
"""

_APE = '''def ape_monte_carlo_step(scores, neighbours, keep, n_new, seed):
    ranked = sorted(scores, key=lambda c: scores[c], reverse=True)
    kept = ranked[:keep]
    pool = []
    for c in kept:
        for v in neighbours.get(c, []):
            if v not in scores and v not in pool:
                pool.append(v)
    proposals = random.Random(seed).sample(pool, min(n_new, len(pool)))
    return kept, proposals
'''

_TOURNAMENT = '''def tournament_step(population, fitness, pair, mutants):
    i, j = pair
    winner, loser = (i, j) if fitness[i] >= fitness[j] else (j, i)
    new = list(population)
    new[loser] = mutants[population[winner]]
    return new
'''

_HYPER = '''def hyper_mutate(unit, hyper, apply):
    task_prompt, mutation_prompt = unit
    new_mutation = hyper[mutation_prompt]
    return [apply[new_mutation][task_prompt], new_mutation]
'''

_FILTER = '''def elimination_reason(original, evolved, response):
    if " ".join(evolved.lower().split()) == " ".join(original.lower().split()):
        return 1
    if "sorry" in response.lower() and len(response.split()) < 80:
        return 2
    if all(w in STOP_WORDS for w in re.findall(r"[\\w']+", response.lower())):
        return 3
    if any(p in evolved.lower() for p in COPY_PHRASES):
        return 4
    return 0
'''

_UCT = '''def uct_select(visits, value_sums, parent_visits, c):
    for i, n in enumerate(visits):
        if n == 0:
            return i
    ucb = [q / n + c * math.sqrt(math.log(parent_visits) / n) for q, n in zip(value_sums, visits)]
    return max(range(len(ucb)), key=lambda i: (ucb[i], -i))
'''

_BACKUP = '''def mcts_backup(stats, path, rewards):
    new = {k: list(v) for k, v in stats.items()}
    future = 0.0
    for node, r in zip(reversed(path), reversed(rewards)):
        future += r
        n, v = new.get(node, [0, 0.0])
        new[node] = [n + 1, v + future]
    return new
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


def _whole(name, cell, why, hint, source, loses=None):
    return {"name": name, "cell": cell, "why": why, "hint": hint, "source": source, "loses": loses or [f"test_{cell}"]}


WRONG_IMPLEMENTATIONS = [
    # ---- ape_monte_carlo_step --------------------------------------------------------------------------------------
    _entry("ape_keeps_worst", "ape_monte_carlo_step", "sorts the scores ascending and keeps the worst candidates",
           "Your kept set holds the lowest-scoring candidates: check which end of the ranking survives.",
           _APE, "key=lambda c: scores[c], reverse=True", "key=lambda c: scores[c]"),
    _entry("ape_resamples_scored", "ape_monte_carlo_step", "proposes variants that were already scored",
           "Some of your proposals were scored before, which wastes the scoring budget.",
           _APE, "if v not in scores and v not in pool:", "if v not in pool:"),
    _entry("ape_duplicates", "ape_monte_carlo_step", "lets a variant shared by two kept candidates enter the pool twice",
           "Your proposals can contain the same instruction twice when two kept candidates share a variant.",
           _APE, "if v not in scores and v not in pool:", "if v not in scores:"),
    _entry("ape_only_best_neighbours", "ape_monte_carlo_step", "resamples only around the single best candidate",
           "Your proposals never come from the variants of the kept candidates other than the best one.",
           _APE, "for c in kept:\n        for v", "for c in kept[:1]:\n        for v"),
    _entry("ape_all_neighbours", "ape_monte_carlo_step", "draws variants of every scored candidate, not only the kept ones",
           "Your proposals include variants of candidates that did not survive the selection.",
           _APE, "for c in kept:\n        for v", "for c in scores:\n        for v"),
    _entry("ape_ignores_n_new", "ape_monte_carlo_step", "returns the whole pool instead of at most n_new proposals",
           "You propose more candidates than asked, so the loop overspends its scoring budget.",
           _APE, "random.Random(seed).sample(pool, min(n_new, len(pool)))", "random.Random(seed).sample(pool, len(pool))"),
    _entry("ape_global_rng", "ape_monte_carlo_step", "draws with the global random generator, ignoring the seed",
           "Two calls with the same seed give different proposals: your draw does not depend on `seed`.",
           _APE, "random.Random(seed).sample(", "random.sample("),
    _entry("ape_no_random_draw", "ape_monte_carlo_step", "always takes the first n_new variants of the pool instead of drawing",
           "Your proposals are the same whatever the seed, so variants late in the pool are never tried.",
           _APE, "random.Random(seed).sample(pool, min(n_new, len(pool)))", "pool[:n_new]"),
    _entry("ape_keep_off_by_one", "ape_monte_carlo_step", "keeps keep - 1 candidates",
           "Your kept set is one candidate short.",
           _APE, "ranked[:keep]", "ranked[:keep - 1]"),
    # ---- tournament_step ------------------------------------------------------------------------------------------
    _entry("tournament_replaces_winner", "tournament_step", "writes the mutant over the winner instead of the loser",
           "The fitter unit of the pair disappears from your population after the tournament.",
           _TOURNAMENT, "new[loser] = mutants", "new[winner] = mutants"),
    _entry("tournament_mutates_loser", "tournament_step", "replaces the loser by a mutant of the loser itself",
           "The new unit in the loser's slot descends from the loser, so selection never spreads the winner.",
           _TOURNAMENT, "mutants[population[winner]]", "mutants[population[loser]]"),
    _entry("tournament_lower_wins", "tournament_step", "lets the lower fitness win",
           "Your tournament keeps the less fit unit: check the direction of the comparison.",
           _TOURNAMENT, "fitness[i] >= fitness[j]", "fitness[i] <= fitness[j]"),
    _entry("tournament_tie_to_j", "tournament_step", "gives ties to the second unit of the pair",
           "When both units have the same fitness your tournament keeps the wrong one of the pair (see the convention).",
           _TOURNAMENT, "fitness[i] >= fitness[j]", "fitness[i] > fitness[j]"),
    _entry("tournament_appends_mutant", "tournament_step", "appends the mutant and drops the loser, shifting the other slots",
           "Your population's other slots move around after a tournament; only the loser's slot should change.",
           _TOURNAMENT, "new[loser] = mutants[population[winner]]",
           "new.pop(loser)\n    new.append(mutants[population[winner]])"),
    # ---- hyper_mutate ----------------------------------------------------------------------------------------------
    _entry("hyper_applies_old_mutation", "hyper_mutate", "rewrites the task prompt with the old mutation prompt",
           "Your new task prompt was written by the mutation prompt from before the hyper-mutation.",
           _HYPER, "apply[new_mutation][task_prompt]", "apply[mutation_prompt][task_prompt]"),
    _entry("hyper_keeps_mutation_prompt", "hyper_mutate", "returns the old mutation prompt in the new unit",
           "Your unit's mutation prompt never changes, so the search is not self-referential.",
           _HYPER, "return [apply[new_mutation][task_prompt], new_mutation]",
           "return [apply[new_mutation][task_prompt], mutation_prompt]"),
    _entry("hyper_swapped_unit", "hyper_mutate", "returns [M', P'] instead of [P', M']",
           "Your unit comes back in the wrong order.",
           _HYPER, "return [apply[new_mutation][task_prompt], new_mutation]",
           "return [new_mutation, apply[new_mutation][task_prompt]]"),
    _entry("hyper_task_prompt_unchanged", "hyper_mutate", "updates the mutation prompt but keeps the old task prompt",
           "Your hyper-mutation improves the mutation prompt but never uses it on the task prompt.",
           _HYPER, "return [apply[new_mutation][task_prompt], new_mutation]", "return [task_prompt, new_mutation]"),
    # ---- elimination_reason -----------------------------------------------------------------------------------------
    _entry("filter_sorry_at_most_80", "elimination_reason", "drops responses of 80 words or fewer (<= 80)",
           "Your length threshold for the 'sorry' rule is off by one at exactly 80 words.",
           _FILTER, "len(response.split()) < 80", "len(response.split()) <= 80"),
    _entry("filter_sorry_any_length", "elimination_reason", "drops every response that says sorry, whatever its length",
           "Your 'sorry' rule also drops long, useful responses: the paper's rule has a second condition.",
           _FILTER, ' and len(response.split()) < 80', ''),
    _entry("filter_sorry_case", "elimination_reason", "looks for 'sorry' case-sensitively",
           "A response starting with 'Sorry' or 'SORRY' slips through your rule 2.",
           _FILTER, '"sorry" in response.lower()', '"sorry" in response'),
    _entry("filter_exact_equal", "elimination_reason", "compares the instructions as raw strings",
           "Your rule 1 misses rewrites that differ from the original only in case or spacing.",
           _FILTER, 'if " ".join(evolved.lower().split()) == " ".join(original.lower().split()):',
           "if evolved == original:"),
    _entry("filter_stopwords_need_a_word", "elimination_reason", "lets a response of punctuation only survive rule 3",
           "A response made only of punctuation passes your filter.",
           _FILTER, "if all(w in STOP_WORDS", "words = re.findall(r\"[\\w']+\", response.lower())\n    if words and all(w in STOP_WORDS"),
    _entry("filter_letters_only", "elimination_reason", "counts only letters as words, so a numeric answer is dropped",
           "Your rule 3 treats numbers like punctuation and drops an answer such as '42'.",
           _FILTER, "[\\w']+", "[a-z']+"),
    _entry("filter_copy_case", "elimination_reason", "looks for the copied phrases case-sensitively",
           "An evolved instruction with '#Rewritten Prompt#' or 'Given Prompt' in capitals slips through your rule 4.",
           _FILTER, "if any(p in evolved.lower() for p in COPY_PHRASES):", "if any(p in evolved for p in COPY_PHRASES):"),
    _entry("filter_copy_on_response", "elimination_reason", "checks the copied phrases in the response instead of the instruction",
           "Your rule 4 looks at the wrong text: it is about what the evolved instruction copied.",
           _FILTER, "if any(p in evolved.lower() for p in COPY_PHRASES):", "if any(p in response.lower() for p in COPY_PHRASES):"),
    _whole("filter_wrong_order", "elimination_reason", "checks rule 4 before the others",
           "When several rules fire you report a later one: the filter reports the first rule in the paper's order.",
           '''def elimination_reason(original, evolved, response):
    if any(p in evolved.lower() for p in COPY_PHRASES):
        return 4
    if " ".join(evolved.lower().split()) == " ".join(original.lower().split()):
        return 1
    if "sorry" in response.lower() and len(response.split()) < 80:
        return 2
    if all(w in STOP_WORDS for w in re.findall(r"[\\w']+", response.lower())):
        return 3
    return 0
'''),
    # ---- uct_select -------------------------------------------------------------------------------------------------
    _entry("uct_value_sum_not_mean", "uct_select", "uses the value sum as Q instead of its mean",
           "Your exploitation term grows with the number of visits: Q should not favour a child just for being visited.",
           _UCT, "q / n + c", "q + c"),
    _entry("uct_no_log", "uct_select", "forgets the logarithm of the parent's visits",
           "Your exploration bonus grows too fast with the parent's visit count.",
           _UCT, "math.log(parent_visits) / n", "parent_visits / n"),
    _entry("uct_no_sqrt", "uct_select", "forgets the square root of the exploration term",
           "Your exploration term has the wrong shape: check the UCT formula's outer function.",
           _UCT, "math.sqrt(math.log(parent_visits) / n)", "(math.log(parent_visits) / n)"),
    _entry("uct_argmin", "uct_select", "picks the smallest UCT score",
           "Your selection prefers the child with the worst UCT score.",
           _UCT, "max(range(len(ucb)), key=lambda i: (ucb[i], -i))", "min(range(len(ucb)), key=lambda i: (ucb[i], i))"),
    _entry("uct_last_unvisited", "uct_select", "returns the last unvisited child instead of the first",
           "With several unvisited children you pick a different one from the convention.",
           _UCT, "    for i, n in enumerate(visits):\n        if n == 0:\n            return i\n",
           "    zeros = [i for i, n in enumerate(visits) if n == 0]\n    if zeros:\n        return zeros[-1]\n"),
    # ---- mcts_backup ------------------------------------------------------------------------------------------------
    _entry("backup_immediate_reward", "mcts_backup", "adds each node's own reward instead of the cumulative future reward",
           "Your nodes only credit their own reward, not the rewards of the deeper prompts they led to.",
           _BACKUP, "new[node] = [n + 1, v + future]", "new[node] = [n + 1, v + r]"),
    _entry("backup_leaf_reward", "mcts_backup", "backs up the leaf's reward to every node (game-style MCTS)",
           "Your backup gives every node the same value, as if only the last prompt were rewarded.",
           _BACKUP, "        future += r\n", "        future = rewards[-1]\n"),
    _entry("backup_past_rewards", "mcts_backup", "adds the total reward of the path (past and future) to every node",
           "Your nodes are credited with rewards earned before they were reached.",
           _BACKUP, "new[node] = [n + 1, v + future]", "new[node] = [n + 1, v + sum(rewards)]"),
    _entry("backup_leaf_visit_only", "mcts_backup", "counts a visit only for the leaf",
           "Your visit counts do not grow along the whole simulated path.",
           _BACKUP, "new[node] = [n + 1, v + future]", "new[node] = [n + (node == path[-1]), v + future]"),
    _entry("backup_mean_stored", "mcts_backup", "stores the running mean in place of the value sum",
           "Your table's second number is an average, but the convention asks for the sum (Q = value_sum / visits).",
           _BACKUP, "new[node] = [n + 1, v + future]", "new[node] = [n + 1, (v * n + future) / (n + 1)]"),
]
