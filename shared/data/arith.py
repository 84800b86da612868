"""`arith`: arithmetic word problems with step-by-step solutions, each with a twin that has one wrong step.

Used by w08-2 (process reward model on the step labels; best-of-N with PRM/ORM/majority; transfer across
the four `domain`s), w07-2 and w08-1 (a verifiable reward for RL), w09-1 (calculator tool) and w04-2
(verification filtering of reasoning traces).

A record (numbers stay below 100 so that a tiny LM has a chance):

    question   Tom has 7 apples. Mia gives Tom 5 more apples. Tom eats 3 apples.
               How many apples does Tom have now?
    steps      ["7 + 5 = 12", "12 - 3 = 9"]
    refs       [[-1, -1], [0, -1]]     where each operand comes from: -1 = a number of the question,
                                        j = the result of step j
    answer     9
    solution   "7 + 5 = 12\n12 - 3 = 9\nThe answer is 9."
    wrong_*    the same solution with exactly one wrong step (wrong_index), later steps carried on
               correctly from the wrong value; wrong_labels[i] = 1 if step i is correct, else 0;
               error_type: "arithmetic" (a false equation), "operand" (a number misread from the
               question or the previous step) or "operator" (the wrong operation).

Step labels follow one convention, implemented by `label_steps`: a step is correct when it applies the
operation the question asks for, to the numbers the question gives and the results the solution's own
earlier steps wrote, and computes the result exactly.  So the step right after a mistake, which
carries the wrong value forward correctly, counts as correct: exactly one label is 0.  (Math-Shepherd
style labels, 0 from the first error on, are `[1] * wrong_index + [0] * (n - wrong_index)`.)
"""

from __future__ import annotations

import re

from .rng import Rng
from .world import COUNTABLE_FOODS, NAMES, OBJECTS, PLACES, WORLD, plural_object, plural_species

NAME = "arith"
DESCRIPTION = (
    "Arithmetic word problems (add, subtract, multiply, exact divide; numbers < 100; 1-5 steps) in four "
    "domains (fruit, toys, coins, farm) about the shared world's characters, with step-by-step solutions "
    "('7 + 5 = 12' per line, then 'The answer is N.'), the integer answer, operand provenance per step, "
    "and a twin solution with exactly one wrong step (arithmetic, operand or operator error) plus "
    "per-step correctness labels (1 correct, 0 wrong) for process reward models. arith.verify checks a "
    "final answer; arith.label_steps labels any solution's steps."
)
LABS = ("w04-2", "w07-2", "w08-1", "w08-2", "w09-1")
ARGUMENTS = {"seed": 902, "counts": {"train": 4000, "validation": 500, "test": 500}}
FIELDS = {
    "id": "string",
    "domain": "string",
    "question": "string",
    "steps": "list<string>",
    "refs": "list<list<int64>>",
    "answer": "int64",
    "solution": "string",
    "wrong_steps": "list<string>",
    "wrong_labels": "list<int64>",
    "wrong_index": "int64",
    "wrong_answer": "int64",
    "wrong_solution": "string",
    "error_type": "string",
}

MAX_VALUE = 99

# Sentence templates per domain.  {who} owns the items, {other} is someone else, {n}/{m} are numbers.
DOMAINS = {
    "fruit": {
        "items": COUNTABLE_FOODS,
        "start": "{who} has {a} {item}.",
        "add": ("{other} gives {who} {n} more {item}.", "{who} picks {n} more {item}."),
        "sub": ("{who} eats {n} {item}.", "{who} gives {n} {item} to {other}."),
        "muladd": ("{who} buys {n} bags with {m} {item} in each bag.",),
        "mulsub": ("{who} gives {n} friends {m} {item} each.",),
        "div": ("{who} shares the {item} equally among {n} friends.", "How many {item} does each friend get?"),
        "ask": "How many {item} does {who} have now?",
    },
    "toys": {
        "items": tuple(plural_object(o) for o in OBJECTS if o != "box"),
        "start": "{who} has {a} {item}.",
        "add": ("{who} finds {n} more {item} in the {place}.", "{other} gives {who} {n} {item}."),
        "sub": ("{who} loses {n} {item}.", "{who} gives {n} {item} to {other}."),
        "muladd": ("{who} gets {n} boxes with {m} {item} in each box.",),
        "mulsub": ("{who} gives {m} {item} to each of {n} friends.",),
        "div": ("{who} puts the {item} into {n} equal piles.", "How many {item} are in each pile?"),
        "ask": "How many {item} does {who} have now?",
    },
    "coins": {
        "items": ("coins",),
        "start": "{who} has {a} coins.",
        "add": ("{who} earns {n} coins at the market.", "{other} gives {who} {n} coins."),
        "sub": ("{who} spends {n} coins on a {object}.", "{who} pays {other} {n} coins."),
        "muladd": ("{who} sells {n} {objects} for {m} coins each.",),
        "mulsub": ("{who} buys {n} {objects} for {m} coins each.",),
        "div": ("{who} splits the coins equally among {n} friends.", "How many coins does each friend get?"),
        "ask": "How many coins does {who} have now?",
    },
    "farm": {
        "items": tuple(plural_species(s) for s in ("duck", "goat", "rabbit", "frog", "horse", "mouse")),
        "start": "There are {a} {item} on the farm of {who}.",
        "add": ("{n} more {item} come to the farm.", "{other} brings {n} {item} to the farm."),
        "sub": ("{n} {item} run away.", "{who} gives {n} {item} to {other}."),
        "muladd": ("{n} families with {m} {item} each move in.",),
        "mulsub": ("{n} groups of {m} {item} leave the farm.",),
        "div": ("{who} puts the {item} into {n} equal pens.", "How many {item} are in each pen?"),
        "ask": "How many {item} are on the farm now?",
    },
}

_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


def apply(a: int, op: str, b: int) -> int | None:
    """a op b over the naturals: None when the result is negative or a division is not exact."""
    if op == "/":
        return a // b if b > 0 and a % b == 0 else None
    r = _OPS[op](a, b)
    return r if r >= 0 else None


def step_text(a: int, op: str, b: int, c: int) -> str:
    return f"{a} {op} {b} = {c}"


_STEP = re.compile(r"\s*(\d+) ([-+*/]) (\d+) = (\d+)\s*")
_ANSWER = re.compile(r"The answer is (-?\d+)")


def parse_step(text: str) -> tuple[int, str, int, int] | None:
    """(a, op, b, c) of a step "a op b = c", or None."""
    m = _STEP.fullmatch(text)
    return (int(m[1]), m[2], int(m[3]), int(m[4])) if m else None


def extract_answer(text: str) -> int | None:
    """The last "The answer is N" in a generated solution, or None if there is none."""
    found = _ANSWER.findall(text)
    return int(found[-1]) if found else None


def verify(record: dict, text: str) -> bool:
    """Does a generated solution end with the right answer?"""
    return extract_answer(text) == record["answer"]


def solution_text(steps: list[str], answer: int) -> str:
    return "\n".join(steps + [f"The answer is {answer}."])


def label_steps(record: dict, steps: list[str]) -> list[int]:
    """1/0 per step under the module's convention (see the docstring), checked against `record`'s problem.

    Works for any list of step strings aligned with the record's steps (a model's output too); extra
    steps, missing steps or unparseable ones are 0.
    """
    expected = [parse_step(s) for s in record["steps"]]
    written = [parse_step(s) for s in steps]
    labels = []
    for i, got in enumerate(written):
        if got is None or i >= len(expected):
            labels.append(0)
            continue
        a, op, b, c = got
        ea, eop, eb, _ = expected[i]
        ok = op == eop and apply(a, op, b) == c
        for value, ref, constant in ((a, record["refs"][i][0], ea), (b, record["refs"][i][1], eb)):
            if ref < 0:
                ok = ok and value == constant  # a number of the question
            else:
                prev = written[ref] if ref < len(written) else None
                ok = ok and prev is not None and value == prev[3]  # the result this solution wrote
        labels.append(int(ok))
    return labels


# ---- generation --------------------------------------------------------------------------------------------


def _problem(rng: Rng) -> dict:
    domain = rng.choice(list(DOMAINS))
    spec = DOMAINS[domain]
    hero = rng.choice(WORLD.characters)
    names = {"who": hero.name, "item": rng.choice(spec["items"])}
    value = rng.randint(2, 20)
    sentences = [spec["start"].format(a=value, **names)]
    steps: list[tuple[int, str, int, int]] = []
    refs: list[list[int]] = []
    carry = -1  # step whose result is the running value; -1: the start number of the question
    n_ops = 1 + rng.weighted_index([3, 4, 3])  # 1, 2 or 3 operations
    ask = spec["ask"]
    for k in range(n_ops):
        last = k == n_ops - 1
        feasible = ["add"]
        if value >= 2:
            feasible.append("sub")
        if value + 4 <= MAX_VALUE:
            feasible.append("muladd")
        if value >= 5:  # room for the smallest product, 2 * 2
            feasible.append("mulsub")
        divisors = [d for d in range(2, 6) if value % d == 0 and value // d >= 1]
        if last and divisors and k > 0:
            feasible.append("div")
        op = rng.choice(feasible)
        # The other person is the hero's friend (a fact of the world) half of the time.
        other = hero.friend if rng.chance(1, 2) else rng.choice([n for n in NAMES if n != hero.name])
        obj = rng.choice(OBJECTS)
        fill = dict(names, other=other, place=rng.choice(PLACES), object=obj, objects=plural_object(obj))
        if op == "add":
            n = rng.randint(1, min(9, MAX_VALUE - value))
            sentences.append(rng.choice(spec["add"]).format(n=n, **fill))
            steps.append((value, "+", n, value + n))
            refs.append([carry, -1])
        elif op == "sub":
            n = rng.randint(1, min(9, value - 1))
            sentences.append(rng.choice(spec["sub"]).format(n=n, **fill))
            steps.append((value, "-", n, value - n))
            refs.append([carry, -1])
        elif op in ("muladd", "mulsub"):
            pairs = [(n, m) for n in range(2, 5) for m in range(2, 6)
                     if (value + n * m <= MAX_VALUE if op == "muladd" else n * m < value)]  # fmt: skip
            n, m = rng.choice(pairs)
            sentences.append(rng.choice(spec[op]).format(n=n, m=m, **fill))
            steps.append((n, "*", m, n * m))
            refs.append([-1, -1])
            sign = "+" if op == "muladd" else "-"
            steps.append((value, sign, n * m, apply(value, sign, n * m)))
            refs.append([carry, len(steps) - 2])
        else:
            n = rng.choice(divisors)
            share, ask = spec["div"]
            sentences.append(share.format(n=n, **fill))
            steps.append((value, "/", n, value // n))
            refs.append([carry, -1])
        value = steps[-1][3]
        carry = len(steps) - 1
    sentences.append(ask.format(**names))
    return {"domain": domain, "question": " ".join(sentences), "steps": steps, "refs": refs}


_SWAP = {"+": "-", "-": "+", "*": "+", "/": "*"}


def _wrong(rng: Rng, steps: list[tuple[int, str, int, int]], refs: list[list[int]]) -> tuple[list, int, str]:
    """The solution with one wrong step, carried forward; retries until every later step stays valid."""
    answer = steps[-1][3]
    for _ in range(200):
        k = rng.below(len(steps))
        error = rng.choice(["arithmetic", "operand", "operator"])
        new: list[tuple[int, str, int, int]] = []
        ok = True
        for i, (a, op, b, c) in enumerate(steps):
            # operands come from the new solution's own earlier results, so errors propagate
            a = new[refs[i][0]][3] if refs[i][0] >= 0 else a
            b = new[refs[i][1]][3] if refs[i][1] >= 0 else b
            if i == k and error == "operand":
                j = rng.below(2)  # misread the left or the right number
                delta = rng.choice([-3, -2, -1, 1, 2, 3])
                a, b = (a + delta, b) if j == 0 else (a, b + delta)
                if min(a, b) < 1:
                    ok = False
                    break
            if i == k and error == "operator":
                op = _SWAP[op]
            c = apply(a, op, b)
            if c is None:
                ok = False
                break
            if i == k and error == "arithmetic":
                c += rng.choice([-3, -2, -1, 1, 2, 3])
                if c < 0:
                    ok = False
                    break
            if c > 999:
                ok = False
                break
            new.append((a, op, b, c))
        if ok and new[-1][3] != answer and new[k] != steps[k]:
            return new, k, error
    raise AssertionError("could not inject an error; widen the generator's ranges")


def sample_problem(rng: Rng) -> dict:
    """A fresh problem: {"domain", "question", "steps", "answer", "solution"} (no wrong twin)."""
    p = _problem(rng)
    steps = [step_text(*s) for s in p["steps"]]
    answer = p["steps"][-1][3]
    return {"domain": p["domain"], "question": p["question"], "steps": steps, "answer": answer,
            "solution": solution_text(steps, answer)}  # fmt: skip


def _record(split: str, i: int, rng: Rng) -> dict:
    p = _problem(rng)
    steps = [step_text(*s) for s in p["steps"]]
    answer = p["steps"][-1][3]
    wrong, k, error = _wrong(rng, p["steps"], p["refs"])
    wrong_steps = [step_text(*s) for s in wrong]
    labels = [0 if j == k else 1 for j in range(len(steps))]
    return {
        "id": f"{NAME}-{split}-{i:06d}",
        "domain": p["domain"],
        "question": p["question"],
        "steps": steps,
        "refs": p["refs"],
        "answer": answer,
        "solution": solution_text(steps, answer),
        "wrong_steps": wrong_steps,
        "wrong_labels": labels,
        "wrong_index": k,
        "wrong_answer": wrong[-1][3],
        "wrong_solution": solution_text(wrong_steps, wrong[-1][3]),
        "error_type": error,
    }


def generate(seed: int, counts: dict[str, int]) -> dict[str, list[dict]]:
    """The records of every split; record i of a split is drawn from its own stream (NAME, seed, split, i)."""
    return {split: [_record(split, i, Rng(NAME, seed, split, i)) for i in range(n)] for split, n in counts.items()}


def record_text(record: dict) -> str:
    """The text an LM trains on: the question and the correct solution."""
    return record["question"] + "\n" + record["solution"]


def prm_examples(records) -> list[dict]:
    """Two PRM examples per record: the correct solution (all 1) and the one-wrong-step twin."""
    out = []
    for r in records:
        out.append({"question": r["question"], "steps": list(r["steps"]), "labels": [1] * len(r["steps"])})
        out.append({"question": r["question"], "steps": list(r["wrong_steps"]), "labels": list(r["wrong_labels"])})
    return out
