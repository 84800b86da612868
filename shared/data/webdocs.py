"""`webdocs`: a synthetic web crawl with labelled domains, planted duplicates, boilerplate, spam and junk.

Used by w04-2 (DataComp-LM / data selection: exact dedup, MinHash + LSH near-dedup, a hashed n-gram
quality classifier, domain mixture sampling, `datasets` map/filter; a tiny LM trained on filtered vs
raw pages and evaluated on the clean `validation` split).

Every page of the `train` split (the crawl) carries its ground truth:

    domain             stories | wiki | math | forum | recipes (the site's topic)
    quality            good | boilerplate | spam | low
    subtype            what kind of bad page: error, login, index (boilerplate); keywords, links (spam);
                       shuffled, caps, repeated, short, truncated, gibberish (low); "" for good pages
    boilerplate_lines  indices of the lines (text.split("\\n")) that are navigation, footers, cookie notes
    cluster            duplicate cluster id: pages with the same id are exact or near copies of each other
    dup                unique | original | exact (same text as its original) | near (edited copy)

The ground truth is checked when the crawl is generated, with the shingles of `shingles` (lowercase
word 5-grams): every near copy has Jaccard >= 0.5 with its original, and any two pages of different
clusters have Jaccard < 0.3 and different text (accidental look-alikes are redrawn).  So exact hashing
finds exactly the planted exact groups, and any near-dedup threshold in [0.3, 0.5] has a right answer.
`validation` holds good, unique pages of the same domains (none close to a crawl page), for measuring
the loss of a model on clean text.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict

from . import arith, toystories
from .rng import Rng
from .world import (
    COLORS,
    COUNTABLE_FOODS,
    FOODS,
    HOMES,
    NAMES,
    OBJECTS,
    PLACES,
    SPECIES,
    STORY_RELATIONS,
    WORLD,
    Character,
    fact_sentence,
    kind_sentence,
    plural_species,
    question,
)

NAME = "webdocs"
DESCRIPTION = (
    "A synthetic web crawl (train: ~2900 pages) over five domains (stories, wiki, math, forum, recipes) "
    "with per-page labels: quality (good, boilerplate, spam, low, with a subtype), indices of boilerplate "
    "lines, and planted duplicates with ground-truth cluster ids (dup: unique/original/exact/near). "
    "Near copies have Jaccard >= 0.5 with their original on lowercase word 5-gram shingles "
    "(webdocs.shingles); pages of different clusters have Jaccard < 0.3 and distinct text. validation: "
    "good unique pages of the same domains for clean-text evaluation."
)
LABS = ("w04-2",)
ARGUMENTS = {"seed": 905, "pages": {"train": 2400, "validation": 300}}  # train also gets the planted copies
SPLITS = ("train", "validation")
FIELDS = {
    "id": "string",
    "url": "string",
    "domain": "string",
    "text": "string",
    "quality": "string",
    "subtype": "string",
    "boilerplate_lines": "list<int64>",
    "cluster": "int64",
    "dup": "string",
}

DOMAINS = ("stories", "wiki", "math", "forum", "recipes")
DOMAIN_WEIGHTS = (30, 6, 20, 22, 22)
SITES = {
    "stories": ("storytime.example", "bedtime-tales.example", "tinytales.example"),
    "wiki": ("toywiki.example", "animalpedia.example"),
    "math": ("mathhelp.example", "homework.example"),
    "forum": ("askthevillage.example", "meadowtalk.example"),
    "recipes": ("cookbook.example", "yummy.example"),
}
SECTIONS = {"stories": "Stories", "wiki": "Articles", "math": "Exercises", "forum": "Threads", "recipes": "Recipes"}
QUALITY_WEIGHTS = {"good": 65, "boilerplate": 10, "spam": 10, "low": 15}
LOW_SUBTYPES = ("shuffled", "caps", "repeated", "short", "truncated", "gibberish")
SHINGLE = 5
NEAR_MIN_JACCARD = 0.5  # every planted near copy is at least this close to its original
UNRELATED_MAX_JACCARD = 0.3  # pages of different clusters are below this


# ---- shingles and a reference similarity join ----------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")


def shingles(text: str, n: int = SHINGLE) -> frozenset[str]:
    """Lowercase word n-grams of a page (the whole word sequence if it has fewer than n words)."""
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return frozenset([" ".join(words)])
    return frozenset(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def similar_pairs(texts: list[str], threshold: float, n: int = SHINGLE) -> list[tuple[int, int, float]]:
    """All pairs (i < j) with Jaccard(shingles) >= threshold, exactly (not an approximation like LSH).

    Prefix filtering: sort each set's shingles from rarest to commonest; two sets with Jaccard >= t
    must share a shingle among the first |A| - ceil(t |A|) + 1 of each, so only those are indexed.
    Pairs whose sizes differ by more than a factor t cannot reach t either.
    """
    sets = [shingles(t, n) for t in texts]
    df: dict[str, int] = defaultdict(int)
    for s in sets:
        for g in s:
            df[g] += 1
    index: dict[str, list[int]] = defaultdict(list)
    out = []
    for j, s in enumerate(sets):
        ordered = sorted(s, key=lambda g: (df[g], g))
        prefix = ordered[: len(ordered) - math.ceil(threshold * len(ordered)) + 1]
        candidates = {i for g in prefix for i in index[g]}
        size = len(s)
        for i in sorted(candidates):
            other = len(sets[i])
            if min(size, other) < threshold * max(size, other):
                continue
            sim = jaccard(sets[i], s)
            if sim >= threshold:
                out.append((i, j, sim))
        for g in prefix:
            index[g].append(j)
    return out


# ---- page content per domain ----------------------------------------------------------------------------------

_SINGULAR = {"apples": "apple", "carrots": "carrot", "berries": "berry", "nuts": "nut", "pears": "pear",
             "plums": "plum"}  # fmt: skip


def _story_page(rng: Rng) -> list[str]:
    stories = [toystories.sample_kind(rng, "story").text for _ in range(rng.randint(1, 3))]
    hero = re.search(r"there was (\w+)", stories[0]).group(1)
    return [rng.choice(["A story about", "Tales of", "Bedtime story:"]) + " " + hero] + stories


def _history(rng: Rng, c: Character) -> str:
    options = (
        f"{c.name} once found {rng.choice(['a', 'the'])} {rng.choice(COLORS)} {rng.choice(OBJECTS)} near the {rng.choice(PLACES)}.",
        f"In {rng.randint(1990, 2023)}, {c.name} visited the {rng.choice(PLACES)} with {rng.choice(NAMES)}.",
        f"{c.name} can count to {rng.randint(10, 99)}.",
        f"Every {rng.choice(['morning', 'evening', 'spring', 'winter'])}, {c.name} walks to the {rng.choice(PLACES)}.",
    )  # fmt: skip
    return rng.choice(options)


def _wiki_pages() -> list[tuple[str, list[str]]]:
    """The wiki is small and fixed in size: one page per character, place and species."""
    rng = Rng(NAME, "wiki")
    pages = []
    for c in WORLD.characters:
        # Ages and birth months stay in `kb` only, so that an LM trained on the other data needs the tool.
        facts = [kind_sentence(c)] + [fact_sentence(c.name, r, c.value(r)) for r in ("home", "food", "friend")]
        lines = [c.name, " ".join(rng.shuffle(facts))] + [_history(rng, c) for _ in range(rng.randint(2, 4))]
        pages.append((c.name, lines))
    for place in PLACES:
        residents = [c.name for c in WORLD.characters if c.home == place] or ["nobody"]
        lines = [f"The {place}", fact_sentence(place, "near", WORLD.near[place]),
                 f"Residents: {', '.join(residents)}.",
                 f"Many {plural_species(rng.choice(SPECIES))} visit the {place} in {rng.choice(['spring', 'summer', 'autumn', 'winter'])}.",
                 f"The {place} has {rng.randint(2, 60)} {rng.choice(['trees', 'paths', 'houses', 'stones', 'benches'])}."]  # fmt: skip
        pages.append((place, lines))
    for sp in SPECIES:
        known = [f"{c.name} ({c.color})" for c in WORLD.characters if c.species == sp] or ["none yet"]
        lines = [plural_species(sp).capitalize(), f"Known {plural_species(sp)}: {', '.join(known)}.",
                 f"A {sp} can live for {rng.randint(3, 30)} years.",
                 f"Most {plural_species(sp)} like {rng.choice(FOODS)} and {rng.choice(FOODS)}."]  # fmt: skip
        pages.append((plural_species(sp), lines))
    return pages


def _math_page(rng: Rng) -> list[str]:
    lines = [rng.choice(["Practice problems", "Homework help", "Word problems for today", "Exercises"])]
    for k in range(1, rng.randint(2, 4) + 1):
        p = arith.sample_problem(rng)
        lines += [f"Problem {k}: {p['question']}", "Solution: " + "; ".join(p["steps"]) + f". The answer is {p['answer']}."]
    return lines


def _user(rng: Rng) -> str:
    return rng.choice(NAMES).lower() + str(rng.randint(1, 99))


def _forum_page(rng: Rng) -> list[str]:
    c = rng.choice(WORLD.characters)
    relation = rng.choice(STORY_RELATIONS)  # never age or month: those are kb-only facts
    truth = fact_sentence(c.name, relation, c.value(relation))
    lines = [f"Thread: {question(c.name, relation)}", f"{_user(rng)} wrote: {rng.choice(['', 'I think ', 'I know that '])}{truth}"]
    for _ in range(rng.randint(1, 4)):
        other = rng.choice(WORLD.characters)
        reply = rng.choice([
            "Thanks!", "I agree.", f"Yes, and {kind_sentence(c)}",
            f"No, {fact_sentence(c.name, 'home', rng.choice([h for h in HOMES if h != c.home]))}",
            f"I saw {c.name} near the {rng.choice(PLACES)} on day {rng.randint(1, 365)}.",
            f"{other.name} told me that {fact_sentence(other.name, 'food', other.food)}",
            f"Also: {question(other.name, rng.choice(['home', 'food', 'friend']))}",
        ])  # fmt: skip
        lines.append(f"{_user(rng)} wrote: {reply}")
    return lines


def _recipe_page(rng: Rng) -> list[str]:
    main = rng.choice(COUNTABLE_FOODS)
    dish = rng.choice(["soup", "cake", "pie", "salad", "stew", "jam", "tart", "bread"])
    extra = rng.sample([f for f in FOODS if f != main], 2)
    lines = [f"{_SINGULAR[main].capitalize()} {dish}", f"From the kitchen of {rng.choice(NAMES)}.",
             f"You need {rng.randint(2, 12)} {main}, some {extra[0]} and a little {extra[1]}."]  # fmt: skip
    steps = [
        f"Wash the {main}.", f"Cut the {main} into {rng.randint(2, 8)} pieces.",
        f"Put the {main} in a {rng.choice(['pot', 'bowl', 'pan', 'jar'])}.",
        f"Add {rng.randint(1, 5)} spoons of {rng.choice(['honey', 'salt', 'sugar', 'butter'])}.",
        f"Stir for {rng.randint(2, 15)} minutes.", f"Bake for {rng.randint(10, 60)} minutes.",
        f"Boil the {extra[0]} for {rng.randint(3, 20)} minutes.", f"Let it cool for {rng.randint(5, 30)} minutes.",
        f"Serve with {rng.choice(FOODS)}.",
    ]  # fmt: skip
    for k, step in enumerate(rng.sample(steps, rng.randint(3, 6)), 1):
        lines.append(f"Step {k}: {step}")
    lines.append(f"Serves {rng.randint(1, 8)}.")
    return lines


def _content(rng: Rng, domain: str) -> list[str]:
    if domain == "stories":
        return _story_page(rng)
    if domain == "math":
        return _math_page(rng)
    if domain == "forum":
        return _forum_page(rng)
    if domain == "recipes":
        return _recipe_page(rng)
    raise ValueError(domain)


# ---- boilerplate, spam and junk ----------------------------------------------------------------------------------


def _header(rng: Rng, domain: str, site: str) -> str:
    section = SECTIONS[domain]
    return rng.choice([f"Home | {section} | About | Contact", f"Menu: Home, {section}, Search, Login",
                       f"Welcome to {site}", "Skip to content"])  # fmt: skip


def _footer(rng: Rng, domain: str, site: str) -> str:
    return rng.choice([
        f"Copyright {rng.randint(2015, 2025)} {site}. All rights reserved.", "Privacy policy | Terms of use",
        "Back to top", f"Follow us for more {SECTIONS[domain].lower()}.",
        "This site uses cookies. Accept or Decline.", "Subscribe to our newsletter.",
        f"Page {rng.randint(1, 9)} of {rng.randint(10, 40)} | Next", "Share this page.",
    ])  # fmt: skip


def _with_boilerplate(rng: Rng, domain: str, site: str, content: list[str]) -> tuple[list[str], list[int]]:
    lines = list(content)
    marks: list[int] = []
    if rng.chance(1, 2):
        lines.insert(0, _header(rng, domain, site))
        marks.append(0)
    for _ in range(rng.weighted_index([1, 2, 1])):  # 0, 1 or 2 footer lines
        lines.append(_footer(rng, domain, site))
        marks.append(len(lines) - 1)
    return lines, marks


def _widget(rng: Rng) -> str:
    """A random sidebar line: what makes two boilerplate pages of one site differ."""
    words = list(SPECIES + OBJECTS + COLORS + PLACES)
    return rng.choice([
        lambda: "Tags: " + " ".join(rng.sample(words, rng.randint(4, 8))),
        lambda: f"Popular: {rng.choice(NAMES)} and the {rng.choice(OBJECTS)}, {rng.choice(NAMES)} at the "
                f"{rng.choice(PLACES)}, the {rng.choice(COLORS)} {rng.choice(SPECIES)}",
        lambda: "Recent posts: " + " | ".join(f"{rng.choice(words)} {rng.randint(1, 999)}" for _ in range(3)),
        lambda: f"Visitors today: {rng.randint(1, 9999)}. Online now: {rng.randint(1, 99)}.",
        lambda: "Related: " + ", ".join(rng.sample(words, 4)),
        lambda: f"Last updated on day {rng.randint(1, 365)} of {rng.randint(2015, 2025)} by {rng.choice(NAMES).lower()}{rng.randint(1, 99)}",
    ])()  # fmt: skip


def _boilerplate_page(rng: Rng, domain: str, site: str, subtype: str) -> list[str]:
    slug = f"/{domain}/{rng.choice(OBJECTS)}-{rng.randint(1, 9999)}"
    if subtype == "error":
        body = [rng.choice(["404 Not Found", "Error 404", "Page not found"]),
                f"Sorry, the page {slug} does not exist.", "Go back to the home page."]  # fmt: skip
    elif subtype == "login":
        body = ["Sign in", "User name", "Password", rng.choice(["Forgot your password?", "Remember me"]),
                f"New to {site}? Create an account."]  # fmt: skip
    else:
        body = [f"Latest {SECTIONS[domain].lower()}", f"Page {rng.randint(2, 50)} of {rng.randint(51, 99)}",
                "Previous | Next"]  # fmt: skip
    widgets = [_widget(rng) for _ in range(rng.randint(2, 4))]
    return [_header(rng, domain, site)] + body + widgets + [_footer(rng, domain, site) for _ in range(rng.randint(1, 2))]


def _spam_page(rng: Rng, subtype: str) -> list[str]:
    items = rng.sample(FOODS + tuple(o + "s" for o in OBJECTS), 3)
    if subtype == "keywords":
        lines = []
        for _ in range(rng.randint(4, 9)):
            item, adj = rng.choice(items), rng.choice(["cheap", "free", "amazing", "best", "super", "top"])
            template = rng.below(5)
            if template == 0:
                lines.append(f"Buy {adj} {item} now! Only {rng.randint(1, 99)} coins! {item} {item} {item}!")
            elif template == 1:
                lines.append(f"Click here to win {rng.randint(10, 999)} free {item}!!!")
            elif template == 2:
                lines.append(f"{adj} {item} {adj} {item} deal {rng.randint(1, 99)} percent off {rng.choice(items)}")
            elif template == 3:
                lines.append(f"Visit www.{adj}-{item}{rng.randint(1, 99)}.example for {adj} {item}")
            else:
                lines.append(f"WIN WIN WIN {item.upper()} {rng.randint(1, 999)} FREE")
        return lines
    return ["Best links!"] + [f"www.{rng.choice(OBJECTS)}{rng.randint(1, 999)}.example" for _ in range(rng.randint(6, 14))]


def _low_page(rng: Rng, domain: str, subtype: str) -> list[str]:
    if subtype == "short":
        return [rng.choice(["ok", "test", "hello", "under construction", "coming soon", "todo"]) + f" {rng.randint(1, 9999)}"]
    if subtype == "gibberish":
        return [" ".join("".join(chr(97 + rng.below(26)) for _ in range(rng.randint(2, 8)))
                         for _ in range(rng.randint(5, 15))) for _ in range(rng.randint(2, 5))]  # fmt: skip
    content = _content(rng, domain if domain != "wiki" else "stories")
    if subtype == "shuffled":  # word salad: the words of a real page, in random order
        return [" ".join(rng.shuffle(line.split())) for line in content]
    if subtype == "caps":
        return [line.upper() + " !!!" for line in content]
    if subtype == "repeated":
        line = rng.choice(content)
        return [line] * rng.randint(6, 15)
    words = " ".join(content).split()  # truncated: the first few words of a page, cut mid-sentence
    return [" ".join(words[: rng.randint(4, 12)])]


def _page(rng: Rng, domain: str, quality: str, wiki_page: tuple[str, list[str]] | None = None) -> dict:
    site = rng.choice(SITES[domain])
    subtype = ""
    marks: list[int] = []
    if quality == "good":
        content = wiki_page[1] if wiki_page else _content(rng, domain)
        lines, marks = _with_boilerplate(rng, domain, site, content)
        slug = content[0].lower()  # the page's title
    elif quality == "boilerplate":
        subtype = rng.choice(["error", "login", "index"])
        lines = _boilerplate_page(rng, domain, site, subtype)
        marks = list(range(len(lines)))
        slug = subtype
    elif quality == "spam":
        subtype = rng.choice(["keywords", "links"])
        lines = _spam_page(rng, subtype)
        slug = "deal"
    else:
        subtype = rng.choice(LOW_SUBTYPES)
        lines = _low_page(rng, domain, subtype)
        slug = "page"
    slug = "-".join(_WORD.findall(slug))[:40] or "page"
    return {"url": f"https://{site}/{slug}-{rng.randint(1, 99999)}", "domain": domain, "text": "\n".join(lines),
            "quality": quality, "subtype": subtype, "boilerplate_lines": marks}  # fmt: skip


def _near_copy(rng: Rng, page: dict) -> dict:
    """An edited copy: other boilerplate, a few words changed, a line dropped or added, a number changed."""
    lines = page["text"].split("\n")
    marks = set(page["boilerplate_lines"])
    content = [line for i, line in enumerate(lines) if i not in marks]
    edits = rng.sample(["words", "drop", "add", "number"], rng.randint(1, 2))
    if "words" in edits:
        vocab = list(SPECIES + COLORS + OBJECTS + FOODS)
        for _ in range(rng.randint(1, 3)):
            i = rng.below(len(content))
            words = content[i].split()
            words[rng.below(len(words))] = rng.choice(vocab)
            content[i] = " ".join(words)
    if "drop" in edits and len(content) > 3:
        content.pop(1 + rng.below(len(content) - 1))
    if "add" in edits:
        content.insert(rng.below(len(content) + 1), rng.choice(["Updated.", "Edited by the admin.", "Reposted.",
                                                                  f"Note {rng.randint(1, 99)}."]))  # fmt: skip
    if "number" in edits:
        text = "\n".join(content)
        numbers = list(re.finditer(r"\d+", text))
        if numbers:
            m = rng.choice(numbers)
            text = text[: m.start()] + str(int(m.group()) + rng.randint(1, 9)) + text[m.end():]
        content = text.split("\n")
    site = rng.choice(SITES[page["domain"]])
    lines, new_marks = _with_boilerplate(rng, page["domain"], site, content)
    return dict(page, url=f"https://{site}/copy-{rng.randint(1, 99999)}", text="\n".join(lines),
                boilerplate_lines=new_marks)  # fmt: skip


def _draw(key: tuple, attempt: int, wiki: list, used_wiki: set[int]) -> dict:
    rng = Rng(NAME, *key, attempt)
    domain = DOMAINS[rng.weighted_index(DOMAIN_WEIGHTS)]
    quality = list(QUALITY_WEIGHTS)[rng.weighted_index(list(QUALITY_WEIGHTS.values()))]
    if key[1] != "train":
        quality = "good"  # held-out pages are clean
    if domain == "wiki" and quality == "good":
        # The wiki has one page per character, place and species; each appears once (unless planted).
        free = [k for k in range(len(wiki)) if k not in used_wiki]
        if key[1] != "train" or not free:
            domain = "stories"
        else:
            k = rng.choice(free)
            used_wiki.add(k)
            return _page(rng, domain, quality, wiki_page=wiki[k])
    return _page(rng, domain, quality)


def generate(seed: int, pages: dict[str, int]) -> dict[str, list[dict]]:
    """The crawl (`train`: pages["train"] pages plus planted copies) and clean pages for other splits."""
    wiki = _wiki_pages()
    used_wiki: set[int] = set()
    keys = {split: [(seed, split, i) for i in range(n)] for split, n in pages.items()}
    base = {split: [_draw(key, 0, wiki, used_wiki) for key in keys[split]] for split in pages}
    # Planted copies: one in eight good or spam crawl pages gets exact and/or near copies.
    rng = Rng(NAME, seed, "copies")
    copies: list[tuple[int, dict, str]] = []  # (index of the original in base["train"], page, "exact"/"near")
    originals = [i for i, p in enumerate(base["train"]) if p["quality"] in ("good", "spam") and len(p["text"]) > 200]
    for i in sorted(rng.sample(originals, len(originals) // 8)):
        page = base["train"][i]
        kinds = rng.choice([["exact"], ["near"], ["exact", "near"], ["exact", "exact"], ["near", "near"],
                            ["exact", "near", "near"]])  # fmt: skip
        texts = {page["text"]}  # a near copy differs from every other page of its cluster
        for kind in kinds:
            if kind == "exact":
                url = f"https://mirror{rng.randint(1, 9)}.example/{rng.randint(1, 99999)}"
                copies.append((i, dict(page, url=url), "exact"))
                continue
            for _ in range(100):
                near = _near_copy(rng, page)
                sim = jaccard(shingles(near["text"]), shingles(page["text"]))
                if near["text"] not in texts and sim >= NEAR_MIN_JACCARD:
                    texts.add(near["text"])
                    break
            else:
                raise AssertionError("could not make a near copy close enough; soften _near_copy")
            copies.append((i, near, "near"))
    _separate(base, keys, copies, wiki, used_wiki)
    return _assemble(seed, base, copies)


def _separate(base, keys, copies, wiki, used_wiki) -> None:
    """Redraw (in place) pages that look like a page of another cluster, until none does.

    Originals of planted copies are never redrawn (their copies were made from them); any other page
    that is equal to, or has Jaccard >= UNRELATED_MAX_JACCARD with, a page of another cluster is.
    """
    originals = {i for i, _, _ in copies}
    attempts: dict[tuple, int] = defaultdict(int)
    for _ in range(50):
        entries = []  # (text, cluster, key of the page if it may be redrawn)
        for split in base:
            for i, p in enumerate(base[split]):
                fixed = split == "train" and i in originals
                entries.append((p["text"], (split, i), None if fixed else (split, i)))
        entries += [(p["text"], ("train", i), None) for i, p, _ in copies]
        redraw = set()
        for a, b, _ in similar_pairs([e[0] for e in entries], UNRELATED_MAX_JACCARD):
            if entries[a][1] == entries[b][1]:
                continue  # a planted pair
            if entries[b][2] is None and entries[a][2] is None:
                raise AssertionError("two planted clusters look alike; change the seed")
            redraw.add(entries[b][2] if entries[b][2] is not None else entries[a][2])
        if not redraw:
            return
        for split, i in sorted(redraw):
            attempts[(split, i)] += 1
            base[split][i] = _draw(keys[split][i], attempts[(split, i)], wiki, used_wiki)
    raise AssertionError("could not separate the pages; the generators are too repetitive")


def _assemble(seed: int, base, copies) -> dict[str, list[dict]]:
    rows = [dict(p, cluster=i, dup="unique") for i, p in enumerate(base["train"])]
    for i, _, _ in copies:
        rows[i]["dup"] = "original"
    rows += [dict(p, cluster=i, dup=kind) for i, p, kind in copies]
    Rng(NAME, seed, "order").shuffle(rows)  # copies are not next to their originals in a crawl
    out = {"train": [_ordered(f"{NAME}-train-{k:06d}", r) for k, r in enumerate(rows)]}
    n_train = len(base["train"])
    for split in base:
        if split != "train":
            out[split] = [_ordered(f"{NAME}-{split}-{k:06d}", dict(p, cluster=n_train + k, dup="unique"))
                          for k, p in enumerate(base[split])]  # fmt: skip
    return out


def _ordered(id_: str, r: dict) -> dict:
    return {"id": id_, **{k: r[k] for k in list(FIELDS)[1:]}}


def record_text(record: dict) -> str:
    return record["text"]
