"""`prefs`: (prompt, chosen, rejected) pairs ranked by a written scoring rule, for reward models, DPO, KTO.

Used by w07-1 (Bradley-Terry reward model, DPO on the tiny pretrained LM, KTO, a critique-and-revise
pipeline whose "constitution" can be this rule).

Prompts ask about a character of the shared world ("Tell me about Tom.", "What does Tom like to
eat?", ...); responses are a few sentences in the language of `toystories`.  The rule (`score`):

    For each sentence of the response, in order (sentences end with '.', '?' or '!'):
      - an exact repeat of an earlier sentence                          -2
      - not a fact statement about a known character or place            -1   ("I am not sure.")
      - a fact statement that is false in the world                      -3
      - a true fact about someone or something else than the subject     -1   (off topic)
      - the first true sentence that answers the question asked          +3
      - any other true fact about the subject                            +2 if the prompt asks for no
                                                                            particular fact ("Tell me
                                                                            about X."), else +1
    and -1 for every sentence beyond the fourth (brevity).

Every pair has chosen_score > rejected_score.  Half the pairs are minimal edits (`pair_kind` "edit":
a good response and the same response with one sentence made false, off topic, vague or repeated; same
number of sentences), half pair a good response with one of random quality ("sample"), so that length
alone does not separate chosen from rejected.
"""

from __future__ import annotations

from .rng import Rng
from .world import (
    COLORS,
    FOODS,
    HOMES,
    NAMES,
    SPECIES,
    STORY_RELATIONS,
    WORLD,
    Character,
    fact_sentence,
    kind_sentence,
    parse_facts,
    parse_question,
    question,
    split_sentences,
)

NAME = "prefs"
DESCRIPTION = (
    "Preference pairs (prompt, chosen, rejected) about the shared world's characters, ranked by the written "
    "rule prefs.score(prompt, response) (chosen_score > rejected_score always). Rule, per sentence of the "
    "response: exact repeat -2; not a fact statement about a known character/place -1; false fact -3; true "
    "fact about another subject -1; first true sentence answering the asked relation +3; other true fact "
    "about the subject +2 for 'Tell me about X.' prompts, else +1; then -1 per sentence beyond the fourth. "
    "Half the pairs are one-sentence edits (same length), half independent samples."
)
LABS = ("w07-1",)
ARGUMENTS = {"seed": 904, "counts": {"train": 4000, "validation": 500, "test": 500}}
FIELDS = {
    "id": "string",
    "prompt": "string",
    "chosen": "string",
    "rejected": "string",
    "chosen_score": "int64",
    "rejected_score": "int64",
    "subject": "string",
    "relation": "string",
    "pair_kind": "string",
}

FILLERS = (
    "I am not sure.", "That is a good question.", "Let me think.", "I like stories.",
    "Thank you for asking.", "I do not know.", "Maybe.", "Here is what I know.",
)  # fmt: skip
MAX_SENTENCES = 4


def make_prompt(subject: str, relation: str | None) -> str:
    return f"Tell me about {subject}." if relation is None else question(subject, relation)


def parse_prompt(prompt: str) -> tuple[str, str | None]:
    """(subject, asked relation or None) of a prompt written by `make_prompt`."""
    p = prompt.strip()
    if p.startswith("Tell me about ") and p.endswith("."):
        return p[len("Tell me about "):-1], None
    parsed = parse_question(p)
    if parsed is None:
        raise ValueError(f"not a prompt of this data set: {prompt!r}")
    return parsed


def score(prompt: str, response: str) -> int:
    """The written rule (module docstring).  Deterministic, integer-valued, defined for any response text."""
    subject, asked = parse_prompt(prompt)
    sentences = split_sentences(response)
    total = 0
    seen: list[str] = []
    answered = False
    for sentence in sentences:
        if sentence in seen:
            total -= 2
            continue
        seen.append(sentence)
        facts = parse_facts(sentence)
        if facts is None:
            total -= 1
        elif not all(WORLD.holds(f) for f in facts):
            total -= 3
        elif any(f.subject != subject for f in facts):
            total -= 1
        elif asked is not None and not answered and any(f.relation == asked for f in facts):
            total += 3
            answered = True
        else:
            total += 2 if asked is None else 1
    return total - max(0, len(sentences) - MAX_SENTENCES)


# ---- generation --------------------------------------------------------------------------------------------


def _true_sentence(c: Character, relation: str) -> str:
    if relation in ("species", "color", "kind"):
        return kind_sentence(c)
    return fact_sentence(c.name, relation, c.value(relation))


def _false_sentence(rng: Rng, c: Character, relation: str) -> str:
    pools = {"species": SPECIES, "color": COLORS, "home": HOMES, "food": FOODS,
             "friend": [n for n in NAMES if n != c.name]}  # fmt: skip
    wrong = rng.choice([v for v in pools[relation] if v != c.value(relation)])
    return fact_sentence(c.name, relation, wrong)


def _sentence(rng: Rng, c: Character, asked: str | None, kind: str) -> str:
    relation = asked if (asked and rng.chance(1, 2)) else rng.choice(STORY_RELATIONS)
    if kind == "true":
        return _true_sentence(c, relation)
    if kind == "false":
        return _false_sentence(rng, c, relation)
    if kind == "other":
        other = WORLD.by_name[rng.choice([n for n in NAMES if n != c.name])]
        return _true_sentence(other, rng.choice(STORY_RELATIONS))
    return rng.choice(FILLERS)


def _response(rng: Rng, c: Character, asked: str | None, good: bool) -> list[str]:
    """A good response (true facts about the subject, the answer first) or one of random quality."""
    if good:
        # Distinct true facts ("kind" states species and colour at once), the asked one first, rarely vague.
        topics = rng.shuffle(["kind", "home", "food", "friend"])
        if asked:
            first = "kind" if asked in ("species", "color") else asked
            topics.remove(first)
            topics.insert(0, first)
        n = rng.randint(1, MAX_SENTENCES)
        return [rng.choice(FILLERS) if rng.chance(1, 8) else _true_sentence(c, t) for t in topics[:n]]
    # How likely a sentence is true, false, off topic, vague or a repeat differs from response to response.
    mix = [rng.randint(0, 6), rng.randint(0, 3), rng.randint(0, 2), rng.randint(0, 2), rng.randint(0, 1)]
    if sum(mix) == 0:
        mix[0] = 1
    out = []
    for _ in range(rng.randint(1, 6)):
        kind = ("true", "false", "other", "filler", "repeat")[rng.weighted_index(mix)]
        if kind == "repeat" and out:
            out.append(rng.choice(out))
        else:
            out.append(_sentence(rng, c, asked, "true" if kind == "repeat" else kind))
    return out


def _edit(rng: Rng, c: Character, asked: str | None, sentences: list[str]) -> list[str]:
    """The same response with one sentence made false, off topic, vague or a repeat of another."""
    edited = list(sentences)
    i = rng.below(len(edited))
    kind = rng.choice(["false", "other", "filler", "repeat"])
    if kind == "repeat" and len(edited) > 1:
        edited[i] = rng.choice([s for j, s in enumerate(edited) if j != i])
    else:
        edited[i] = _sentence(rng, c, asked, "false" if kind == "repeat" else kind)
    return edited


def _pair(rng: Rng) -> dict:
    c = rng.choice(WORLD.characters)
    asked = [None, "species", "color", "home", "food", "friend"][rng.weighted_index([3, 1, 1, 1, 1, 1])]
    prompt = make_prompt(c.name, asked)
    edit = rng.chance(1, 2)
    for _ in range(1000):
        a = _response(rng, c, asked, good=True)
        b = _edit(rng, c, asked, a) if edit else _response(rng, c, asked, good=False)
        ra, rb = " ".join(a), " ".join(b)
        sa, sb = score(prompt, ra), score(prompt, rb)
        if sa != sb:
            (chosen, cs), (rejected, rs) = sorted([(ra, sa), (rb, sb)], key=lambda t: -t[1])
            return {
                "prompt": prompt, "chosen": chosen, "rejected": rejected, "chosen_score": cs,
                "rejected_score": rs, "subject": c.name, "relation": asked or "",
                "pair_kind": "edit" if edit else "sample",
            }  # fmt: skip
    raise AssertionError("no pair with different scores; the response sampler is broken")


def generate(seed: int, counts: dict[str, int]) -> dict[str, list[dict]]:
    """The records of every split; record i of a split is drawn from its own stream (NAME, seed, split, i)."""
    return {split: [{"id": f"{NAME}-{split}-{i:06d}", **_pair(Rng(NAME, seed, split, i))} for i in range(n)]
            for split, n in counts.items()}  # fmt: skip


def record_text(record: dict) -> str:
    return "\n".join([record["prompt"], record["chosen"], record["rejected"]])


def unpaired(records) -> list[dict]:
    """KTO-style examples: each chosen response is desirable, each rejected one undesirable."""
    out = []
    for r in records:
        out.append({"prompt": r["prompt"], "completion": r["chosen"], "label": True})
        out.append({"prompt": r["prompt"], "completion": r["rejected"], "label": False})
    return out
