"""`kb`: the facts of the shared world as (subject, relation, object) triples, a lookup tool, and questions.

Used by w09-1 (a ReAct loop with a `kb` lookup tool and a calculator; Toolformer's filter on fact
sentences; accuracy with and without tools).

Splits:
    facts      every fact of `world.WORLD`: 7 relations for each of the 40 characters (species, color,
               home, food, friend, age, month) and `near` for each of the 12 places, with the sentence
               that states it ("Tom is 9 years old.") and `in_stories`: whether `toystories` states it
               (species, color, home, food, friend: yes; age, month: never, nor in any other data set
               but kb, so an LM trained on the rest needs the tool;
               "The <place> is near ...": only for places that are some character's home).
    questions  a question for every character fact, plus questions that need two lookups
               ("What does Tom's friend like to eat?") or two lookups and arithmetic ("How old are Tom
               and Mia together?"); each lists the lookups it needs (`lookups`, "Subject.relation").

The tool: `lookup(subject, relation)` returns the object as a string; `lookup_tool("Tom, age")` is the
same behind a one-string interface that returns an error message (never raises) for bad queries, the
way a ReAct loop feeds errors back as observations.
"""

from __future__ import annotations

from .rng import Rng
from .world import CHARACTER_RELATIONS, PLACES, STORY_RELATIONS, WORLD, fact_sentence, question

NAME = "kb"
DESCRIPTION = (
    "Facts of the shared toy world as (subject, relation, object) triples (facts split: 40 characters x "
    "7 relations: species, color, home, food, friend, age, month; 12 places x near), each with the sentence "
    "stating it and whether toystories states it (age and month appear in no other data set, so answering "
    "them needs the lookup tool). questions split: one question per character fact plus two-hop questions (friend's "
    "food/home/age) and arithmetic questions over ages (sum, difference, age in n years), each with its "
    "answer and the lookups it needs. kb.lookup / kb.lookup_tool implement the tool."
)
LABS = ("w09-1",)
ARGUMENTS = {"seed": 906, "counts": {"facts": 292, "questions": 600}}
FIELDS = {
    "facts": {
        "id": "string",
        "subject": "string",
        "relation": "string",
        "object": "string",
        "subject_type": "string",
        "sentence": "string",
        "in_stories": "bool",
    },
    "questions": {
        "id": "string",
        "question": "string",
        "answer": "string",
        "kind": "string",
        "lookups": "list<string>",
        "in_stories": "bool",
    },
}
RELATIONS = CHARACTER_RELATIONS + ("near",)


def lookup(subject: str, relation: str) -> str:
    """The object of (subject, relation); KeyError with a helpful message if there is none."""
    if relation not in RELATIONS:
        raise KeyError(f"unknown relation {relation!r}; relations are: {', '.join(RELATIONS)}")
    if subject not in WORLD.by_name and subject not in PLACES:
        raise KeyError(f"unknown subject {subject!r}; subjects are character names (e.g. Tom) and places (e.g. forest)")
    return WORLD.value(subject, relation)


def lookup_tool(query: str) -> str:
    """Tool interface: "Tom, age" -> "9".  Bad queries give an error message as the observation."""
    parts = [p.strip() for p in query.replace(";", ",").split(",")]
    if len(parts) != 2 or not all(parts):
        return f"Error: expected 'subject, relation' (e.g. 'Tom, age'), got {query!r}"
    try:
        return lookup(parts[0], parts[1])
    except KeyError as e:
        return f"Error: {e.args[0]}"


def subjects() -> list[str]:
    return [c.name for c in WORLD.characters] + list(PLACES)


def _facts() -> list[dict]:
    story_homes = {c.home for c in WORLD.characters}
    rows = []
    for f in WORLD.facts():
        is_place = f.relation == "near"
        rows.append({
            "subject": f.subject,
            "relation": f.relation,
            "object": f.value,
            "subject_type": "place" if is_place else "character",
            "sentence": fact_sentence(f.subject, f.relation, f.value),
            # toystories' fact paragraphs state "The <home> is near the <place>." for homes only
            "in_stories": (f.subject in story_homes) if is_place else f.relation in STORY_RELATIONS,
        })  # fmt: skip
    return rows


def _questions(seed: int, n: int) -> list[dict]:
    rows = []
    for c in WORLD.characters:
        for r in CHARACTER_RELATIONS:
            rows.append({"question": question(c.name, r), "answer": c.value(r), "kind": "single",
                         "lookups": [f"{c.name}.{r}"], "in_stories": r in STORY_RELATIONS})  # fmt: skip
    i = 0
    while len(rows) < n:
        rng = Rng(NAME, seed, "questions", i)
        i += 1
        a, b = rng.sample(WORLD.characters, 2)
        kind = rng.choice(["two_hop", "sum", "difference", "future"])
        if kind == "two_hop":
            r = rng.choice(["food", "home", "age"])
            f = WORLD.by_name[a.friend]
            text = {"food": f"What does {a.name}'s friend like to eat?", "home": f"Where does {a.name}'s friend live?",
                    "age": f"How old is {a.name}'s friend?"}[r]  # fmt: skip
            row = {"question": text, "answer": f.value(r), "lookups": [f"{a.name}.friend", f"{f.name}.{r}"],
                   "in_stories": r in STORY_RELATIONS}  # fmt: skip
        elif kind == "sum":
            row = {"question": f"How old are {a.name} and {b.name} together?", "answer": str(a.age + b.age),
                   "lookups": [f"{a.name}.age", f"{b.name}.age"], "in_stories": False}  # fmt: skip
        elif kind == "difference":
            if a.age == b.age:
                continue
            old, young = (a, b) if a.age > b.age else (b, a)
            row = {"question": f"How many years older is {old.name} than {young.name}?",
                   "answer": str(old.age - young.age), "lookups": [f"{old.name}.age", f"{young.name}.age"],
                   "in_stories": False}  # fmt: skip
        else:
            k = rng.randint(2, 9)
            row = {"question": f"How old will {a.name} be in {k} years?", "answer": str(a.age + k),
                   "lookups": [f"{a.name}.age"], "in_stories": False}  # fmt: skip
        if any(r["question"] == row["question"] for r in rows):
            continue  # each question once
        rows.append({"question": row["question"], "answer": row["answer"], "kind": kind, "lookups": row["lookups"],
                     "in_stories": row["in_stories"]})  # fmt: skip
    return rows


def generate(seed: int, counts: dict[str, int]) -> dict[str, list[dict]]:
    facts = _facts()
    if counts["facts"] != len(facts):
        raise ValueError(f"the world has {len(facts)} facts; counts['facts'] must say so")
    questions = _questions(seed, counts["questions"])
    return {
        "facts": [{"id": f"{NAME}-facts-{i:06d}", **r} for i, r in enumerate(facts)],
        "questions": [{"id": f"{NAME}-questions-{i:06d}", **r} for i, r in enumerate(questions)],
    }


def record_text(record: dict) -> str:
    if "sentence" in record:
        return record["sentence"]
    return f"Q: {record['question']} A: {record['answer']}"
