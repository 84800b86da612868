"""`toystories`: an English-like corpus from a seeded probabilistic grammar that knows its own probabilities.

Used by w01-2 (multi-token prediction on toystories), w03-2 (masked diffusion vs AR on toystories) and
by every lab that trains a tiny GPT from scratch (w02-2, w04-1, w05-1, w05-2, w06-1); it is the main
pretraining text of the course's tiny LMs (w10-2, w11-1, w11-2, w12-1, w13-1, w13-2 start from those).

Three kinds of documents, all about the characters of `world.WORLD`:

    story  Once upon a time, there was Tom, an orange horse who lived in the farm. One day, Tom found a
           blue kite near the river. Then Tom felt happy. Later, Tom gave the kite to Mia. The end.
    facts  Tom is an orange horse. Tom likes cake. The farm is near the hill. Tom lives in the farm.
    qa     Q: What does Tom like to eat? A: Tom likes cake.
           Q: Who is Ben's friend? A: Ben is friends with Tom.

How the generator knows its probabilities.  A document is written left to right by calls of two kinds:
`emit(text)` appends text fixed by what came before (0 nats), and `choose(kind, options, weights)`
appends one of several strings with probability weight/sum(weights) (integers, so probabilities are
exact fractions).  The options of one choice are *prefix-free* (none is the start of another) and the
special option `END` ends the document.  Hence the text determines every choice (read it back left to
right: at each choice exactly one option matches), so

    log p(text) = sum over choices of log p(chosen option)          (no other derivation exists)

and `trace(text)` recovers the choices of any string, including a model's samples (`log_prob` is -inf
for text the grammar cannot produce).  Facts about a character are fixed by the world, so after "Tom is
an" the next word is certain: the best achievable loss counts memorising the world as learnable.

What a lab compares a model's loss with (`split_entropy`):
  - best_loss_per_token: -log p(split) / number of tokens; the loss of the generator itself on exactly
    these records, i.e. of a perfect model.  Compare a model's validation loss with this.
  - entropy_per_token: sum of the conditional entropies at the choice points the split passes through,
    per token; the same quantity in expectation, with less sampling noise.
Tokens are counted with the course tokenizer (or the one passed), plus one EOS per record when
`add_eos` (a model must predict where a document ends; BOS is given, never predicted).
`next_token_distributions(text, tokenizer)` gives the true next-token distribution at every position.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from .rng import Rng
from .world import (
    COLORS,
    FEELINGS,
    FOODS,
    NAMES,
    OBJECTS,
    PLACES,
    POSITIVE_FEELINGS,
    QUESTIONS,
    SIZES,
    SPECIES,
    WORLD,
    World,
    article,
    fact_sentence,
    kind_sentence,
)

NAME = "toystories"
DESCRIPTION = (
    "English-like toy corpus (stories, fact paragraphs, Q/A) about the 40 characters of the shared toy "
    "world, from a seeded probabilistic grammar with integer weights. Every choice point's options are "
    "prefix-free, so the text determines its derivation: toystories.trace(text) recovers it and "
    "toystories.log_prob(text) is the exact log-probability. toystories.split_entropy(split) gives the "
    "best achievable loss (the generator's own NLL per token) and the per-token entropy of a split; "
    "toystories.next_token_distributions(text) gives the true next-token distribution at each position."
)
LABS = ("w01-2", "w02-2", "w03-2", "w04-1", "w05-1", "w05-2", "w06-1")
LABS_NOTE = "also the pretraining text of the tiny LMs used by w10-2, w11-1, w11-2, w12-1, w13-1, w13-2"
ARGUMENTS = {"seed": 901, "counts": {"train": 12000, "validation": 1000, "test": 1000}}
FIELDS = {"id": "string", "kind": "string", "text": "string", "entities": "list<string>"}

END = ""  # the option that ends a document; a model sees it as the EOS token
MAX_EVENTS = 6  # a story has at most this many events before "The end."
KIND_WEIGHTS = {"story": 6, "facts": 3, "qa": 2}


class NotInGrammar(ValueError):
    """The text is not a document the grammar can produce (so its probability is 0)."""


@dataclass(frozen=True)
class Choice:
    """One choice point of a derivation: which option was taken where, and with what probability."""

    offset: int  # character offset in the text where the chosen option starts
    kind: str  # which choice point of the grammar ("hero", "event", "food", ...)
    options: tuple[str, ...]
    weights: tuple[int, ...]
    index: int  # the option taken

    @property
    def option(self) -> str:
        return self.options[self.index]

    @property
    def prob(self) -> Fraction:
        return Fraction(self.weights[self.index], sum(self.weights))

    @property
    def nll(self) -> float:
        """-log p(chosen option), in nats."""
        return -math.log(self.weights[self.index] / sum(self.weights))

    @property
    def entropy(self) -> float:
        """Entropy of this choice's distribution, in nats."""
        total = sum(self.weights)
        return -sum(w / total * math.log(w / total) for w in self.weights)


@dataclass(frozen=True)
class Trace:
    """A document and the derivation that produced it."""

    text: str
    kind: str
    choices: tuple[Choice, ...]

    @property
    def nll(self) -> float:
        """-log p(text) in nats: the loss of the generator itself on this text."""
        return sum(c.nll for c in self.choices)

    @property
    def entropy(self) -> float:
        """Sum of the entropies of the choice points this derivation passed through, in nats."""
        return sum(c.entropy for c in self.choices)


# ---- the two ways of running the grammar: sampling and reading back --------------------------------------


@lru_cache(maxsize=4096)
def _check_options(options: tuple[str, ...]) -> None:
    # Prefix-freeness is what makes a text's derivation unique; checked once per distinct option tuple.
    for i, a in enumerate(options):
        if a == END:
            continue
        for j, b in enumerate(options):
            if i != j and b != END and b.startswith(a):
                raise AssertionError(f"grammar bug: option {a!r} is a prefix of {b!r}")
    if len(set(options)) != len(options):
        raise AssertionError(f"grammar bug: repeated option in {options!r}")


class _Writer:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.choices: list[Choice] = []
        self.ended = False

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.pos += len(text)

    def choose(self, kind: str, options: Sequence[str], weights: Sequence[int]) -> int:
        options, weights = tuple(options), tuple(weights)
        if len(options) != len(weights) or not options or min(weights) <= 0:
            raise AssertionError(f"grammar bug at {kind}: options {options} weights {weights}")
        _check_options(options)
        index = self._pick(kind, options, weights)
        self.choices.append(Choice(self.pos, kind, options, weights, index))
        if options[index] == END:
            self.ended = True
        else:
            self.emit(options[index])
        return index

    def _pick(self, kind: str, options: tuple[str, ...], weights: tuple[int, ...]) -> int:
        raise NotImplementedError


class _Sampler(_Writer):
    def __init__(self, rng: Rng) -> None:
        super().__init__()
        self.rng = rng

    def _pick(self, kind, options, weights):
        return self.rng.weighted_index(weights)


class _Reader(_Writer):
    """Replays the grammar on a given text: each choice takes the one option the text continues with."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def emit(self, text: str) -> None:
        if not self.text.startswith(text, self.pos):
            raise NotInGrammar(f"expected {text!r} at character {self.pos}, found {self.text[self.pos:self.pos + 30]!r}")
        super().emit(text)

    def _pick(self, kind, options, weights):
        for i, option in enumerate(options):
            if option == END:
                if self.pos == len(self.text):
                    return i
            elif self.text.startswith(option, self.pos):
                return i
        raise NotInGrammar(
            f"at character {self.pos} ({kind}) the text continues with {self.text[self.pos:self.pos + 30]!r}, "
            f"which is none of the grammar's options {[o or '<END>' for o in options][:8]}..."
        )


# ---- the grammar -------------------------------------------------------------------------------------------


def _flatten(groups: list[tuple[int, list[str], list[int]]]) -> tuple[list[str], list[int], list[int]]:
    """Merge "pick a group with weight g, then an option within it" into one choice with integer weights."""
    lcm = 1
    for _, _, ws in groups:
        lcm = math.lcm(lcm, sum(ws))
    options, weights, group_of = [], [], []
    for g, (gw, opts, ws) in enumerate(groups):
        scale = gw * lcm // sum(ws)
        options += opts
        weights += [w * scale for w in ws]
        group_of += [g] * len(opts)
    divisor = math.gcd(*weights)
    return options, [w // divisor for w in weights], group_of


OPENINGS = (("Once upon a time,", 3), ("Long ago,", 2), ("One sunny morning,", 1))
_QA_RELATIONS = ("species", "color", "home", "food", "friend")


def _qa_parts(relation: str) -> tuple[str, str]:
    before, after = QUESTIONS[relation].split("{x}")
    return "Q: " + before.rstrip(), after


def _answer(name: str, relation: str) -> str:
    c = WORLD.by_name[name]
    return fact_sentence(name, relation, c.value(relation))


def _document(w: _Writer, world: World = WORLD) -> str:
    """Write one document with `w`; returns its kind."""
    kinds = list(KIND_WEIGHTS)
    groups = [
        (KIND_WEIGHTS["story"], [o for o, _ in OPENINGS], [k for _, k in OPENINGS]),
        (KIND_WEIGHTS["facts"], list(NAMES), [1] * len(NAMES)),
        (KIND_WEIGHTS["qa"], [_qa_parts(r)[0] for r in _QA_RELATIONS], [1] * len(_QA_RELATIONS)),
    ]
    options, weights, group_of = _flatten(groups)
    first = w.choose("start", options, weights)
    kind = kinds[group_of[first]]
    if kind == "story":
        _story(w, world)
    elif kind == "facts":
        _facts(w, world, options[first])
    else:
        _qa(w, world, _QA_RELATIONS[first - sum(len(g[1]) for g in groups[:2])])
    return kind


def _story(w: _Writer, world: World) -> None:
    w.emit(" there was")
    hero = world.characters[w.choose("hero", [" " + n for n in NAMES], [1] * len(NAMES))]
    w.emit(f", {article(hero.color)} {hero.color} {hero.species} who lived in the {hero.home}.")
    held: list[str] = []  # objects found and not yet given away or lost
    met: str | None = None
    last = "start"
    for t in range(MAX_EVENTS + 1):
        if t == 0:
            w.choose("connector", [" One day,", " One evening,"], [3, 1])
        elif t == MAX_EVENTS:
            w.emit(" The end.")
            return
        else:
            # The story is more likely to end the longer it is.
            if w.choose("connector", [" Then", " Later,", " After that,", " The end."], [3, 2, 2, t]) == 3:
                return
        w.emit(" " + hero.name)
        events: list[tuple[str, str, int]] = []  # (event, option text, weight)
        if len(held) < 3:
            events.append(("found", " found", 3))
        events += [("saw", " saw", 2), ("went", " went to the", 2), ("ate", " ate some", 2), ("met", " met", 2)]
        if held:
            events += [("gave", f" gave the {held[-1]} to", 4), ("lost", f" lost the {held[-1]}.", 1)]
        if last != "felt":
            events.append(("felt", " felt", 2))
        event = events[w.choose("event", [e[1] for e in events], [e[2] for e in events])][0]
        if event == "found":
            w.choose("color", [f" {article(c)} {c}" for c in COLORS], [1] * len(COLORS))
            obj = OBJECTS[w.choose("object", [" " + o for o in OBJECTS], [1] * len(OBJECTS))]
            w.choose("preposition", [" near the", " in the", " behind the"], [2, 2, 1])
            w.choose("place", [" " + p for p in PLACES], [1] * len(PLACES))
            w.emit(".")
            held.append(obj)
        elif event == "saw":
            w.choose("size", [f" {article(s)} {s}" for s in SIZES], [1] * len(SIZES))
            w.choose("animal", [" " + s for s in SPECIES], [1] * len(SPECIES))
            w.emit(" by the")
            w.choose("place", [" " + p for p in PLACES], [1] * len(PLACES))
            w.emit(".")
        elif event == "went":
            places = [p for p in PLACES if p != hero.home]
            w.choose("place", [" " + p for p in places], [1] * len(places))
            w.emit(".")
        elif event == "ate":
            # The favourite food (a fact of the world) is seven times likelier than any other.
            w.choose("food", [" " + f for f in FOODS], [7 if f == hero.food else 1 for f in FOODS])
            w.emit(".")
        elif event == "met":
            others = [n for n in NAMES if n != hero.name]
            met = others[w.choose("other", [" " + n for n in others], [6 if n == hero.friend else 1 for n in others])]
            other = world.by_name[met]
            w.emit(f", the {other.color} {other.species}.")
        elif event == "gave":
            # Usually to whoever was just met (a copy from the context), else to a friend.
            others = [n for n in NAMES if n != hero.name]
            weights = [8 if n == met else 3 if n == hero.friend else 1 for n in others]
            w.choose("recipient", [" " + n for n in others], weights)
            w.emit(".")
            held.pop()
        elif event == "lost":
            held.pop()
        elif event == "felt":
            good = last in ("found", "gave", "met")
            bad = last == "lost"
            weights = [
                (4 if good else 1 if bad else 2) if f in POSITIVE_FEELINGS else (4 if bad else 1 if good else 2)
                for f in FEELINGS
            ]
            w.choose("feeling", [" " + f for f in FEELINGS], weights)
            w.emit(".")
        last = event


def _facts(w: _Writer, world: World, name: str) -> None:
    c = world.by_name[name]
    w.emit(kind_sentence(c)[len(name):])
    sentences = [
        " " + fact_sentence(name, "home", c.home),
        " " + fact_sentence(name, "food", c.food),
        " " + fact_sentence(name, "friend", c.friend),
        " " + fact_sentence(c.home, "near", world.near[c.home]),
    ]
    while not w.ended:
        # Each remaining fact is twice as likely as stopping; all four said -> the paragraph ends.
        i = w.choose("fact", sentences + [END], [2] * len(sentences) + [1])
        if i < len(sentences):
            sentences.pop(i)


def _qa(w: _Writer, world: World, relation: str) -> None:
    for n_asked in range(1, 4):
        after = _qa_parts(relation)[1]
        name = NAMES[w.choose("subject", [" " + n for n in NAMES], [1] * len(NAMES))]
        w.emit(f"{after} A: {_answer(name, relation)}")
        if n_asked == 3:
            w.choose("more", [END], [1])
            return
        starts = ["\n" + _qa_parts(r)[0] for r in _QA_RELATIONS]
        i = w.choose("more", [END] + starts, [3] + [1] * len(starts))
        if i == 0:
            return
        relation = _QA_RELATIONS[i - 1]


# ---- public helpers ----------------------------------------------------------------------------------------


def sample(rng: Rng, world: World = WORLD) -> Trace:
    """Draw one document (with its derivation)."""
    w = _Sampler(rng)
    kind = _document(w, world)
    return Trace("".join(w.parts), kind, tuple(w.choices))


def sample_kind(rng: Rng, kind: str, world: World = WORLD) -> Trace:
    """Draw documents from `rng` until one of `kind` ("story", "facts", "qa") comes out."""
    while True:
        t = sample(rng, world)
        if t.kind == kind:
            return t


def trace(text: str, world: World = WORLD) -> Trace:
    """The derivation of `text` (unique when it exists); raises NotInGrammar if the grammar cannot write it."""
    w = _Reader(text)
    kind = _document(w, world)
    if w.pos != len(text):
        raise NotInGrammar(f"the document ends at character {w.pos} but the text goes on: {text[w.pos:w.pos + 30]!r}")
    return Trace(text, kind, tuple(w.choices))


def log_prob(text: str) -> float:
    """Exact log-probability (nats) of a document under the grammar; -inf if it cannot be produced."""
    try:
        return -trace(text).nll
    except NotInGrammar:
        return -math.inf


_NAME_RE = re.compile(r"\b(" + "|".join(NAMES) + r")\b")


def _record(split: str, i: int, t: Trace) -> dict:
    entities: list[str] = []
    for name in _NAME_RE.findall(t.text):
        if name not in entities:
            entities.append(name)
    return {"id": f"{NAME}-{split}-{i:06d}", "kind": t.kind, "text": t.text, "entities": entities}


def generate(seed: int, counts: dict[str, int]) -> dict[str, list[dict]]:
    """The records of every split; record i of a split is drawn from its own stream (NAME, seed, split, i)."""
    return {split: [_record(split, i, sample(Rng(NAME, seed, split, i))) for i in range(n)] for split, n in counts.items()}


def record_text(record: dict) -> str:
    """The text an LM trains on."""
    return record["text"]


def stream(seed: int, start: int = 0):
    """Endless fresh documents (beyond the files), e.g. for training without repeating data."""
    i = start
    while True:
        yield _record("stream", i, sample(Rng(NAME, seed, "stream", i)))
        i += 1


@dataclass(frozen=True)
class EntropyReport:
    """How well a perfect model does on a split.  Nats; divide by ln 2 for bits."""

    split: str
    records: int
    tokens: int  # tokens a model predicts: the text's tokens plus one EOS per record when add_eos
    choice_points: int
    nll_nats: float  # -log p(split) under the generator
    entropy_nats: float  # sum of the conditional entropies at the split's choice points

    @property
    def best_loss_per_token(self) -> float:
        return self.nll_nats / self.tokens

    @property
    def entropy_per_token(self) -> float:
        return self.entropy_nats / self.tokens

    @property
    def nll_per_choice_point(self) -> float:
        return self.nll_nats / self.choice_points

    @property
    def entropy_per_choice_point(self) -> float:
        return self.entropy_nats / self.choice_points


def _texts(split: str, data_dir=None) -> list[str]:
    from .build import read_records

    return [r["text"] for r in read_records(NAME, split, data_dir=data_dir)]


def split_entropy(split: str = "validation", tokenizer=None, *, add_eos: bool = True, data_dir=None,
                  texts: Sequence[str] | None = None) -> EntropyReport:  # fmt: skip
    """Best achievable loss and entropy per token of a split (or of the given `texts`).

    `tokenizer`: anything with `__call__(list[str]) -> {"input_ids": ...}` (a transformers tokenizer);
    default: the course tokenizer.  The files are built and checked first if needed.
    """
    if texts is None:
        texts = _texts(split, data_dir)
    if tokenizer is None:
        from ..tokenizer import load_tokenizer

        tokenizer = load_tokenizer()
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    tokens = sum(len(x) for x in ids) + (len(texts) if add_eos else 0)
    nll = entropy = 0.0
    points = 0
    for text in texts:
        t = trace(text)
        nll += t.nll
        entropy += t.entropy
        points += len(t.choices)
    return EntropyReport(split, len(texts), tokens, points, nll, entropy)


def entropy_per_token(split: str = "validation", tokenizer=None, *, add_eos: bool = True, data_dir=None) -> float:
    """The grammar's entropy per token on a split (nats); see `split_entropy` for the best achievable loss."""
    return split_entropy(split, tokenizer, add_eos=add_eos, data_dir=data_dir).entropy_per_token


def best_loss_per_token(split: str = "validation", tokenizer=None, *, add_eos: bool = True, data_dir=None) -> float:
    """The loss (nats per token) of a perfect model on a split: the generator's own NLL per token."""
    return split_entropy(split, tokenizer, add_eos=add_eos, data_dir=data_dir).best_loss_per_token


_option_ids: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # tokenizer -> {option: token ids}


def next_token_distributions(text: str, tokenizer=None, *, add_eos: bool = True) -> tuple[list[int], list[dict[int, float]]]:
    """The true next-token distribution at every position of a document.

    Returns (ids, dists): `ids` is the tokenization of `text` (plus EOS when add_eos) and `dists[t]` maps
    token id -> probability of the token at position t given BOS and ids[:t].  Outside choice points the
    distribution is a point mass on the actual token.  sum_t -log dists[t][ids[t]] == trace(text).nll.
    Needs a tokenizer whose pre-tokenizer splits before spaces and punctuation (the course's does).
    """
    if tokenizer is None:
        from ..tokenizer import load_tokenizer

        tokenizer = load_tokenizer()
    eos = tokenizer.eos_token_id
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = list(enc["input_ids"]), list(enc["offset_mapping"])
    start_of = {s: k for k, (s, _) in enumerate(offsets)}
    n = len(ids) + (1 if add_eos else 0)
    dists: list[dict[int, Fraction]] = [{} for _ in range(n)]
    for k in range(len(ids)):
        dists[k] = {ids[k]: Fraction(1)}
    if add_eos:
        dists[-1] = {eos: Fraction(1)}

    cache = _option_ids.setdefault(tokenizer, {})

    def encode(option: str) -> tuple[int, ...]:
        if option not in cache:
            cache[option] = (eos,) if option == END else tuple(tokenizer(option, add_special_tokens=False)["input_ids"])
        return cache[option]

    for c in trace(text).choices:
        if c.option == END:
            if not add_eos:
                continue
            k0 = len(ids)
        elif c.offset not in start_of:
            raise ValueError(f"no token starts at the choice point {c.kind} (character {c.offset}); tokenizer unsuited")
        else:
            k0 = start_of[c.offset]
        seqs = [encode(o) for o in c.options]
        chosen = seqs[c.index]
        if chosen != tuple(ids[k0:k0 + len(chosen)]) and c.option != END:
            raise ValueError(f"option {c.option!r} tokenizes differently inside the text; tokenizer unsuited")
        total = sum(c.weights)
        for j in range(len(chosen)):
            # Options still possible after the first j tokens of the chosen option, grouped by their next token.
            mass: dict[int, Fraction] = {}
            for seq, wgt in zip(seqs, c.weights, strict=True):
                if seq[:j] == chosen[:j] and len(seq) > j:
                    mass[seq[j]] = mass.get(seq[j], Fraction(0)) + Fraction(wgt, total)
            norm = sum(mass.values())
            dists[k0 + j] = {tok: m / norm for tok, m in mass.items()}
    full_ids = ids + ([eos] if add_eos else [])
    return full_ids, [{tok: float(p) for tok, p in d.items()} for d in dists]
