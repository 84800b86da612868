"""The toy world that every data set talks about: its words, its characters and their facts.

One small tokenizer and one tiny LM are trained on all the data sets together, so they share one
vocabulary: the same forty characters (Tom the orange horse, Ben the pink wolf, ...) live in `toystories`,
answer questions in `kb`, own apples in `arith`, are described right or wrong in `prefs` and fill the
pages of `webdocs`; `tasks` draws its inputs from the same word lists.

The world is fixed by `WORLD_SEED` and built once on import (a few hundred draws).  Facts are stated
with a handful of sentence templates (`fact_sentence`) that `parse_facts` reads back, so text written
by a model can be checked against the world (the scoring rule of `prefs` does exactly that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .rng import Rng

WORLD_SEED = 901

# Names are prefix-free (no name is the start of another), so a name can be a choice in a grammar
# whose options must be told apart by their text alone.
NAMES = (
    "Tom", "Mia", "Ben", "Lily", "Sam", "Nina", "Max", "Emma", "Leo", "Zoe",
    "Jack", "Ava", "Finn", "Ruby", "Oscar", "Ella", "Hugo", "Ivy", "Noah", "Lucy",
    "Milo", "Rosa", "Owen", "Anna", "Felix", "Clara", "Theo", "Iris", "Jonah", "Maya",
    "Eli", "Nora", "Alfie", "Ada", "Ralph", "Cora", "Dan", "Greta", "Paul", "Kate",
)  # fmt: skip
SPECIES = ("fox", "cat", "dog", "owl", "bear", "rabbit", "frog", "duck", "mouse", "horse", "goat", "wolf")
SPECIES_PLURAL = {"fox": "foxes", "mouse": "mice", "wolf": "wolves"}
COLORS = ("red", "blue", "green", "yellow", "brown", "gray", "white", "black", "orange", "pink")
HOMES = ("forest", "river", "garden", "village", "hill", "lake", "cave", "farm", "meadow", "beach")
PLACES = HOMES + ("market", "park")
FOODS = ("apples", "carrots", "berries", "bread", "cheese", "fish", "honey", "nuts", "pears", "plums", "cake", "soup")
COUNTABLE_FOODS = ("apples", "carrots", "berries", "nuts", "pears", "plums")
OBJECTS = ("ball", "kite", "box", "key", "hat", "book", "drum", "cup", "bell", "map", "coin", "shell", "lamp", "rope")
OBJECT_PLURAL = {"box": "boxes"}
SIZES = ("big", "small", "tiny", "huge", "young", "old")
POSITIVE_FEELINGS = ("happy", "brave", "proud", "calm", "glad", "cheerful")
NEGATIVE_FEELINGS = ("sad", "scared", "angry", "tired", "lonely", "grumpy")
FEELINGS = POSITIVE_FEELINGS + NEGATIVE_FEELINGS
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
ANTONYMS = (
    ("big", "small"), ("hot", "cold"), ("fast", "slow"), ("old", "young"), ("day", "night"),
    ("open", "closed"), ("light", "dark"), ("wet", "dry"), ("loud", "quiet"), ("full", "empty"),
    ("early", "late"), ("hard", "soft"), ("high", "low"), ("long", "short"), ("near", "far"),
    ("up", "down"), ("in", "out"), ("happy", "sad"),
)  # fmt: skip

# Relations of a character.  The first five are stated in `toystories` (a tiny LM can learn them from
# the corpus); `age` and `month` appear only in `kb`, so answering them needs the lookup tool.
CHARACTER_RELATIONS = ("species", "color", "home", "food", "friend", "age", "month")
STORY_RELATIONS = ("species", "color", "home", "food", "friend")
PLACE_RELATIONS = ("near",)


def article(word: str) -> str:
    """'a' or 'an' for the word that follows."""
    return "an" if word[0] in "aeiou" else "a"


def plural_species(species: str) -> str:
    return SPECIES_PLURAL.get(species, species + "s")


def plural_object(obj: str) -> str:
    return OBJECT_PLURAL.get(obj, obj + "s")


@dataclass(frozen=True)
class Character:
    name: str
    species: str
    color: str
    home: str
    food: str
    friend: str
    age: int
    month: str

    def value(self, relation: str) -> str:
        """The object of a relation, as text (ages are decimal strings)."""
        if relation not in CHARACTER_RELATIONS:
            raise KeyError(f"characters have no relation {relation!r}; known: {', '.join(CHARACTER_RELATIONS)}")
        return str(getattr(self, relation))


@dataclass(frozen=True)
class Fact:
    subject: str
    relation: str
    value: str


class World:
    """The characters and places, built from `seed` with the project's own RNG (same on every machine)."""

    def __init__(self, seed: int = WORLD_SEED):
        rng = Rng("world", seed)
        # Friends come in pairs: a random perfect matching, so "X is friends with Y" holds both ways.
        order = rng.shuffle(list(NAMES))
        friend = {}
        for a, b in zip(order[0::2], order[1::2], strict=True):
            friend[a], friend[b] = b, a
        chars = []
        for name in NAMES:
            species, color, home = rng.choice(SPECIES), rng.choice(COLORS), rng.choice(HOMES)
            food, age, month = rng.choice(FOODS), rng.randint(2, 14), rng.choice(MONTHS)
            chars.append(Character(name, species, color, home, food, friend[name], age, month))
        self.characters: tuple[Character, ...] = tuple(chars)
        self.by_name: dict[str, Character] = {c.name: c for c in chars}
        # Each place is near one other place (not symmetric: "the cave is near the hill" only).
        self.near: dict[str, str] = {}
        for place in PLACES:
            self.near[place] = rng.choice([p for p in PLACES if p != place])

    def facts(self) -> list[Fact]:
        """Every fact of the world, characters first (in NAMES order), then places."""
        out = [Fact(c.name, r, c.value(r)) for c in self.characters for r in CHARACTER_RELATIONS]
        out += [Fact(p, "near", self.near[p]) for p in PLACES]
        return out

    def value(self, subject: str, relation: str) -> str:
        if subject in self.by_name:
            return self.by_name[subject].value(relation)
        if subject in self.near and relation == "near":
            return self.near[subject]
        raise KeyError(f"no fact ({subject!r}, {relation!r}) in the world")

    def holds(self, fact: Fact) -> bool:
        try:
            return self.value(fact.subject, fact.relation) == fact.value
        except KeyError:
            return False


WORLD = World()


# ---- sentences that state facts, and their parser ------------------------------------------------------


def fact_sentence(subject: str, relation: str, value: str) -> str:
    """The sentence that states one fact ("Tom likes apples.")."""
    templates = {
        "species": f"{subject} is {article(value)} {value}.",
        "color": f"{subject} is {value}.",
        "home": f"{subject} lives in the {value}.",
        "food": f"{subject} likes {value}.",
        "friend": f"{subject} is friends with {value}.",
        "age": f"{subject} is {value} years old.",
        "month": f"{subject} was born in {value}.",
        "near": f"The {subject} is near the {value}.",
    }
    if relation not in templates:
        raise KeyError(f"no sentence template for relation {relation!r}")
    return templates[relation]


def kind_sentence(c: Character) -> str:
    """The sentence that states species and colour at once ("Tom is an orange horse.")."""
    return f"{c.name} is {article(c.color)} {c.color} {c.species}."


_FACT_PATTERNS = (
    # (regex, relations of the captured values in order); checked in this order, first match wins.
    (re.compile(r"(\w+) is an? (\w+) (\w+)\."), ("color", "species")),
    (re.compile(r"(\w+) is (\d+) years old\."), ("age",)),
    (re.compile(r"(\w+) is friends with (\w+)\."), ("friend",)),
    (re.compile(r"(\w+) is an? (\w+)\."), ("species",)),
    (re.compile(r"(\w+) is (\w+)\."), ("color",)),
    (re.compile(r"(\w+) lives in the (\w+)\."), ("home",)),
    (re.compile(r"(\w+) likes (\w+)\."), ("food",)),
    (re.compile(r"(\w+) was born in (\w+)\."), ("month",)),
    (re.compile(r"The (\w+) is near the (\w+)\."), ("near",)),
)


def parse_facts(sentence: str) -> list[Fact] | None:
    """The facts a sentence states, or None if it is not a fact template about a known subject.

    Parsing does not check truth: "Tom is a purple dragon." parses (and is false under `World.holds`).
    "Tom is an orange horse." states two facts (colour and species).  A sentence whose subject is not a
    character or place of the world ("That is a good question.") is not a fact statement.
    """
    s = sentence.strip()
    for pattern, relations in _FACT_PATTERNS:
        m = pattern.fullmatch(s)
        if m:
            subject, *values = m.groups()
            if subject not in (PLACES if relations == ("near",) else NAMES):
                return None
            if relations == ("color",) and values[0] not in COLORS:
                return None  # "Tom is happy." is a feeling, not a colour claim
            return [Fact(subject, r, v) for r, v in zip(relations, values, strict=True)]
    return None


_SENTENCE = re.compile(r"[^.?!]*[.?!]|[^.?!]+$")


def split_sentences(text: str) -> list[str]:
    """Sentences of a short text, split after '.', '?' or '!' (the toy world has no abbreviations)."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


# ---- questions about facts (shared by toystories' Q/A, kb and prefs) ------------------------------------

QUESTIONS = {
    "species": "What animal is {x}?",
    "color": "What color is {x}?",
    "home": "Where does {x} live?",
    "food": "What does {x} like to eat?",
    "friend": "Who is {x}'s friend?",
    "age": "How old is {x}?",
    "month": "In which month was {x} born?",
    "near": "What is near the {x}?",
}


def question(subject: str, relation: str) -> str:
    return QUESTIONS[relation].format(x=subject)


def parse_question(text: str) -> tuple[str, str] | None:
    """(subject, relation) of a question written with `QUESTIONS`, else None."""
    s = text.strip()
    for relation, template in QUESTIONS.items():
        pattern = re.escape(template).replace(re.escape("{x}"), r"(\w+)")
        m = re.fullmatch(pattern, s)
        if m:
            return m.group(1), relation
    return None
