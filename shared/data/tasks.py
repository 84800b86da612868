"""`tasks`: small instruction tasks with many phrasings each and few-shot prompt formats.

Used by w13-1 (few-shot prompts; random and flipped label mappings on the classification tasks),
w13-2 (instruction search: APE, PromptBreeder, ...; each task has >= 8 phrasings, index 0 canonical),
w09-2 (a declarative pipeline and demo selection), w12-1 (LoRA on a task held out of instruction
tuning), w07-2 and w08-1 (exact-match rewards for RL).

Inputs and outputs are a few words of the shared vocabulary, so that a tiny LM can learn them:

    copy       fox key red          -> fox key red
    reverse    fox key red          -> red key fox
    sort       fox key red          -> fox key red (alphabetical)
    count      cup cup hat          -> 3
    first      fox key red          -> fox
    last       fox key red          -> red
    shift      cat                  -> dbu           (each letter to the next one, z -> a)
    category   carrots              -> food          (animal / color / food / place)
    sentiment  lonely               -> negative      (positive / negative)
    antonym    early                -> late

A record's `prompt` is the zero-shot prompt in the default format ("io"); `completion` is " " + output.
`few_shot_prompt(demos, query, fmt, instruction)` builds k-shot prompts in any of `FORMATS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .rng import Rng
from .world import ANTONYMS, COLORS, FEELINGS, FOODS, OBJECTS, PLACES, POSITIVE_FEELINGS, SPECIES

NAME = "tasks"
DESCRIPTION = (
    "Ten instruction tasks over the shared toy vocabulary (copy, reverse, sort, count, first, last, "
    "shift letters, category, sentiment, antonym), each with 9 phrasings of its instruction (index 0 is "
    "canonical) and short inputs/outputs (1-7 words). Records give the task, input, output, the phrasing "
    "used, and the zero-shot prompt/completion in the default 'io' format; tasks.few_shot_prompt builds "
    "k-shot prompts in the formats io, qa, arrow, colon. Classification tasks list their labels "
    "(tasks.TASKS[name].labels) for random/flipped-label experiments."
)
LABS = ("w07-2", "w08-1", "w09-2", "w12-1", "w13-1", "w13-2")
ARGUMENTS = {"seed": 903, "counts": {"train": 6000, "validation": 1000, "test": 1000}}
FIELDS = {
    "id": "string",
    "task": "string",
    "input": "string",
    "output": "string",
    "phrasing": "int64",
    "canonical": "bool",
    "instruction": "string",
    "prompt": "string",
    "completion": "string",
}

LIST_WORDS = SPECIES + OBJECTS + COLORS  # one-word nouns and adjectives for the list tasks
SHIFT_WORDS = tuple(w for w in LIST_WORDS if 3 <= len(w) <= 5)
CATEGORY = {**{w: "animal" for w in SPECIES}, **{w: "color" for w in COLORS},
            **{w: "food" for w in FOODS}, **{w: "place" for w in PLACES}}  # fmt: skip
OPPOSITE = {**{a: b for a, b in ANTONYMS}, **{b: a for a, b in ANTONYMS}}


def shift_letters(word: str, k: int = 1) -> str:
    return "".join(chr((ord(ch) - 97 + k) % 26 + 97) if "a" <= ch <= "z" else ch for ch in word)


@dataclass(frozen=True)
class Task:
    name: str
    phrasings: tuple[str, ...]  # phrasings[0] is the canonical instruction
    labels: tuple[str, ...] | None = None  # the label set of a classification task

    @property
    def canonical(self) -> str:
        return self.phrasings[0]

    def solve(self, x: str) -> str:
        """The correct output for input x."""
        words = x.split()
        return {
            "copy": lambda: " ".join(words),
            "reverse": lambda: " ".join(reversed(words)),
            "sort": lambda: " ".join(sorted(words)),
            "count": lambda: str(len(words)),
            "first": lambda: words[0],
            "last": lambda: words[-1],
            "shift": lambda: shift_letters(x),
            "category": lambda: CATEGORY[x],
            "sentiment": lambda: "positive" if x in POSITIVE_FEELINGS else "negative",
            "antonym": lambda: OPPOSITE[x],
        }[self.name]()

    def make_input(self, rng: Rng) -> str:
        """A fresh input for this task."""
        if self.name in ("copy", "reverse", "sort", "first", "last"):
            return " ".join(rng.sample(LIST_WORDS, rng.randint(2, 5)))
        if self.name == "count":
            pool = rng.sample(LIST_WORDS, 3)  # few distinct words, so repeats are common
            return " ".join(rng.choice(pool) for _ in range(rng.randint(1, 7)))
        if self.name == "shift":
            return rng.choice(SHIFT_WORDS)
        if self.name == "category":
            return rng.choice(sorted(CATEGORY))
        if self.name == "sentiment":
            return rng.choice(FEELINGS)
        return rng.choice(sorted(OPPOSITE))


TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("copy", (
            "Copy the words.", "Repeat the words exactly.", "Write the same words again.",
            "Say the words back in the same order.", "Echo the input.", "Return the input unchanged.",
            "Output the words as they are.", "Rewrite the list without changing it.",
            "Give back the same list of words.",
        )),
        Task("reverse", (
            "Reverse the order of the words.", "Write the words backwards, last word first.",
            "Say the words in reverse order.", "Turn the list around.", "List the words from last to first.",
            "Flip the order of the words.", "Give the words in the opposite order.",
            "Start from the last word and go back to the first.", "Read the list from the end.",
        )),
        Task("sort", (
            "Sort the words in alphabetical order.", "Put the words in ABC order.",
            "Arrange the words alphabetically.", "List the words from A to Z.",
            "Order the words as in a dictionary.", "Write the words sorted alphabetically.",
            "Alphabetize the list.", "Rearrange the words in dictionary order.",
            "Sort the list by the letters of each word.",
        )),
        Task("count", (
            "Count the words.", "How many words are there?", "Give the number of words.",
            "Say how many words the list has.", "Write the count of the words.",
            "Tell me the number of words in the input.", "Count how many items are in the list.",
            "What is the length of the list?", "Answer with the number of words.",
        )),
        Task("first", (
            "Give the first word.", "Write only the first word.", "Which word comes first?",
            "Return the word at the start of the list.", "Say the first item of the list.",
            "Copy just the first word.", "Output the opening word.", "What is the first word in the list?",
            "Keep the first word and drop the rest.",
        )),
        Task("last", (
            "Give the last word.", "Write only the last word.", "Which word comes last?",
            "Return the word at the end of the list.", "Say the last item of the list.",
            "Copy just the final word.", "Output the closing word.", "What is the last word in the list?",
            "Keep the last word and drop the rest.",
        )),
        Task("shift", (
            "Shift each letter forward by one.", "Replace every letter with the next letter of the alphabet.",
            "Move each letter one step forward in the alphabet.", "Change each letter to the one after it.",
            "Encode the word by shifting every letter by one.", "Write the word with each letter moved up by one.",
            "Apply a shift of one to every letter.", "Use the next letter in the alphabet for each letter.",
            "Turn a into b, b into c, and so on, with z into a.",
        )),
        Task("category", (
            "Is the word an animal, a color, a food or a place?",
            "Classify the word as animal, color, food or place.",
            "Which kind of thing is this word: animal, color, food or place?", "Label the word with its category.",
            "Say whether the word names an animal, a color, a food or a place.", "Give the category of the word.",
            "Put the word in one group: animal, color, food, place.", "Tell me what type of word this is.",
            "Answer animal, color, food or place.",
        ), labels=("animal", "color", "food", "place")),
        Task("sentiment", (
            "Is the feeling positive or negative?", "Classify the feeling as positive or negative.",
            "Label the word positive or negative.", "Does the word describe a good or a bad feeling?",
            "Give the sentiment of the word.", "Does the word sound positive or negative?",
            "Decide: positive or negative?", "Tell me whether this feeling is positive or negative.",
            "Answer positive or negative.",
        ), labels=("positive", "negative")),
        Task("antonym", (
            "Give the opposite of the word.", "Write the antonym.", "What is the opposite?",
            "Say the word that means the opposite.", "Name the antonym of the word.",
            "Turn the word into its opposite.", "Find the word with the opposite meaning.",
            "Reply with the opposite word.", "What word means the reverse of this one?",
        )),
    )
}  # fmt: skip
TASK_NAMES = tuple(TASKS)


@dataclass(frozen=True)
class Format:
    demo: str  # one solved example, with {x} and {y}
    query: str  # the example to solve, with {x}; the answer follows as " " + y
    sep: str  # between the instruction, the demos and the query


FORMATS = {
    "io": Format("Input: {x}\nOutput: {y}", "Input: {x}\nOutput:", "\n\n"),
    "qa": Format("Q: {x}\nA: {y}", "Q: {x}\nA:", "\n\n"),
    "arrow": Format("{x} -> {y}", "{x} ->", "\n"),
    "colon": Format("{x}: {y}", "{x}:", "\n"),
}
DEFAULT_FORMAT = "io"


def _pair(demo: Any) -> tuple[str, str]:
    if isinstance(demo, dict):
        return demo["input"], demo["output"]
    x, y = demo
    return x, y


def few_shot_prompt(demos, query: str, fmt: str = DEFAULT_FORMAT, instruction: str | None = None) -> str:
    """A k-shot prompt: [instruction] + demos + the query, in format `fmt`; the answer is " " + output.

    `demos`: (input, output) pairs or records with "input"/"output" (k = len(demos), 0 is zero-shot).
    """
    if fmt not in FORMATS:
        raise KeyError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    f = FORMATS[fmt]
    parts = [instruction] if instruction else []
    parts += [f.demo.format(x=x, y=y) for x, y in map(_pair, demos)]
    parts.append(f.query.format(x=query))
    return f.sep.join(parts)


def completion(output: str) -> str:
    """What follows a prompt: a space, then the output."""
    return " " + output


def is_correct(prediction: str, output: str) -> bool:
    """Exact match after stripping surrounding whitespace (the model may go on after a newline)."""
    return prediction.strip().split("\n")[0].strip() == output


def make_example(task: str, rng: Rng, phrasing: int | None = None) -> dict:
    """A fresh example of `task` (fields as in the data set's records, without the id)."""
    t = TASKS[task]
    x = t.make_input(rng)
    p = rng.below(len(t.phrasings)) if phrasing is None else phrasing
    return {
        "task": task,
        "input": x,
        "output": t.solve(x),
        "phrasing": p,
        "canonical": p == 0,
        "instruction": t.phrasings[p],
        "prompt": few_shot_prompt([], x, DEFAULT_FORMAT, t.phrasings[p]),
        "completion": completion(t.solve(x)),
    }


def generate(seed: int, counts: dict[str, int]) -> dict[str, list[dict]]:
    """Records cycle through the tasks (record i is task i mod 10), each from its own stream."""
    out = {}
    for split, n in counts.items():
        rows = []
        for i in range(n):
            ex = make_example(TASK_NAMES[i % len(TASK_NAMES)], Rng(NAME, seed, split, i))
            rows.append({"id": f"{NAME}-{split}-{i:06d}", **ex})
        out[split] = rows
    return out


def record_text(record: dict) -> str:
    return record["prompt"] + record["completion"]
