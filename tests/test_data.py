"""The shared data sets and tokenizer: deterministic, checked, loadable, and true to what they promise.

Everything is built from scratch into a temporary directory once per module (the generators run here,
in a process whose string-hash seed differs from the one that wrote the manifests, so a generator that
depended on hash order or set iteration would fail the sha256 comparison).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from llm901_shared import data
from llm901_shared.data import arith, kb, prefs, registry, tasks, toystories, webdocs, world
from llm901_shared.data.__main__ import main as cli
from llm901_shared.data.build import ManifestError, read_manifest, sha256_file
from llm901_shared.data.rng import Rng
from llm901_shared.tokenizer import ASSET, load_tokenizer

REPO = Path(__file__).resolve().parent.parent
LAB_ID = re.compile(r"w(0[1-9]|1[0-3])-[12]")  # the course plan's lab ids, w01-1 ... w13-2


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A data directory with every data set freshly generated (and checked against the manifests)."""
    d = tmp_path_factory.mktemp("data")
    data.build(data_dir=d)
    return d


@pytest.fixture(scope="module")
def records(built):
    """{(name, split): [record, ...]} read back from the freshly built files."""
    out = {}
    for name in data.NAMES:
        for split in registry.get(name).splits:
            out[name, split] = data.read_records(name, split, data_dir=built)
    return out


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer()


# ---- generators, files, manifests ------------------------------------------------------------------------------


def test_generators_reproduce_the_manifests(built):
    for name in data.NAMES:
        manifest = read_manifest(name)
        for entry in manifest["splits"].values():
            path = built / entry["file"]
            assert sha256_file(path) == entry["sha256"], f"{path}: generator output differs from the manifest"
            assert path.stat().st_size == entry["bytes"]
            assert path.read_bytes().count(b"\n") == entry["records"]


def test_manifests_say_what_they_should():
    for name in data.NAMES:
        m = read_manifest(name)
        spec = registry.get(name)
        assert m["name"] == name and m["description"] and "CC0" in m["license"]
        assert m["generator"]["function"] == f"llm901_shared.data.{name}:generate"
        assert m["generator"]["arguments"] == spec.arguments
        assert list(m["splits"]) == list(spec.splits)
        assert m["total_bytes"] == sum(e["bytes"] for e in m["splits"].values())
        assert 50_000 < m["total_bytes"] < 5_000_000, f"{name}: keep data sets small"
        assert m["labs"] and all(LAB_ID.fullmatch(lab) for lab in m["labs"]), f"{name}: lab ids {m['labs']}"


def test_manifest_bundle_matches_data_manifests(built, monkeypatch):
    bundle = json.loads(registry.BUNDLE.read_text())
    for name in (*data.NAMES, "tokenizer"):
        assert bundle[name] == json.loads((REPO / "data_manifests" / f"{name}.json").read_text()), (
            f"{registry.BUNDLE} is stale for {name}: run `python -m llm901_shared.data manifests`"
        )
    # Installed from a wheel (no checkout): the packaged bundle is used, and files are still checked.
    monkeypatch.setattr(registry, "manifest_dir", lambda: None)
    assert read_manifest("arith") == bundle["arith"]
    data.verify("arith", data_dir=built)


def test_schemas_and_counts(records):
    for (name, split), rows in records.items():
        spec = registry.get(name)
        fields = spec.fields(split)
        assert len(rows) == read_manifest(name)["splits"][split]["records"]
        ids = [r["id"] for r in rows]
        assert len(set(ids)) == len(ids), f"{name}/{split}: ids must be unique"
        for r in rows:
            assert list(r) == list(fields), f"{name}/{split}: fields {list(r)}"
            for k, t in fields.items():
                assert registry.check_value(r[k], t), f"{name}/{split} {r['id']}: {k}={r[k]!r} is not {t}"
            assert spec.record_text(r).isascii()


def test_load_returns_datasets_with_manifest_counts(built):
    import datasets

    for name in data.NAMES:
        manifest = read_manifest(name)
        dd = data.load(name, split=None, data_dir=built)
        assert isinstance(dd, datasets.DatasetDict) and list(dd) == list(manifest["splits"])
        for split, ds in dd.items():
            assert isinstance(ds, datasets.Dataset)
            assert ds.num_rows == manifest["splits"][split]["records"]
            assert ds.features == registry.get(name).features(split)
    ds = data.load("toystories", split="validation", data_dir=built)
    assert ds[0]["text"] == data.read_records("toystories", "validation", data_dir=built)[0]["text"]
    assert data.load("arith", split="test[:25]", data_dir=built).num_rows == 25
    assert (built / "_cache" / "datasets").is_dir(), "the datasets cache stays next to the data"
    with pytest.raises(KeyError, match="no split"):
        data.load("kb", split="train", data_dir=built)
    with pytest.raises(KeyError, match="unknown data set"):
        data.load("toystory", data_dir=built)


def test_a_tampered_file_is_a_clear_error_and_is_left_alone(tmp_path):
    data.build(["kb"], data_dir=tmp_path)
    path = tmp_path / "kb" / "facts.jsonl"
    text = path.read_text().replace('"Tom"', '"Tim"', 1)
    path.write_text(text)
    expected = read_manifest("kb")["splits"]["facts"]["sha256"]
    actual = hashlib.sha256(text.encode()).hexdigest()
    for call in (lambda: data.load("kb", split="facts", data_dir=tmp_path), lambda: data.build(["kb"], data_dir=tmp_path),
                 lambda: data.verify("kb", data_dir=tmp_path)):  # fmt: skip
        with pytest.raises(ManifestError) as err:
            call()
        message = str(err.value)
        assert str(path) in message and expected in message and actual in message
        assert "python -m llm901_shared.data build" in message and "rm " in message
    assert path.read_text() == text, "a mismatching file must never be regenerated silently"
    assert cli(["verify", "kb", "--data-dir", str(tmp_path)]) == 1


def test_a_changed_generator_is_a_clear_error(tmp_path, monkeypatch):
    mdir = tmp_path / "manifests"
    mdir.mkdir()
    manifest = read_manifest("kb")
    manifest["splits"]["questions"]["sha256"] = "0" * 64
    (mdir / "kb.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("LLM901_MANIFEST_DIR", str(mdir))
    with pytest.raises(ManifestError, match="generator .* changed") as err:
        data.build(["kb"], data_dir=tmp_path / "data")
    assert "python -m llm901_shared.data manifests" in str(err.value)
    assert not (tmp_path / "data" / "kb" / "questions.jsonl").exists()


def test_cli_verify(built, capsys):
    assert cli(["verify", "--data-dir", str(built)]) == 0
    assert "ok  tokenizer" in capsys.readouterr().out


def test_rng_is_fixed_by_the_code():
    # These numbers are part of the data sets' definition: if they change, every manifest changes.
    r = Rng("test", 1)
    assert [r.below(1000) for _ in range(5)] == [849, 617, 136, 553, 500]
    assert Rng("test", 1).next64() == 1947001752262814849
    assert Rng("test", 2).shuffle(list(range(10))) == [0, 2, 3, 9, 1, 4, 5, 7, 8, 6]
    assert Rng("a", 1).next64() != Rng("a", "1").next64(), "keys are typed: 1 and '1' differ"
    counts = Counter(Rng("w", i).weighted_index([1, 3]) for i in range(4000))
    assert abs(counts[1] / 4000 - 0.75) < 0.03
    with pytest.raises(ValueError):
        Rng("w").weighted_index([0.5, 0.5])


# ---- tokenizer ---------------------------------------------------------------------------------------------------


def test_tokenizer_matches_its_manifest(tok):
    from transformers import PreTrainedTokenizerFast

    m = read_manifest("tokenizer")
    assert sha256_file(ASSET) == m["sha256"]
    assert isinstance(tok, PreTrainedTokenizerFast)
    assert len(tok) == tok.vocab_size == m["vocab_size"] == 1024
    for role, entry in m["special_tokens"].items():
        assert getattr(tok, f"{role}_token") == entry["token"]
        assert getattr(tok, f"{role}_token_id") == entry["id"]
    assert tok("Tom likes apples.")["input_ids"][0] != tok.bos_token_id, "no special tokens are added implicitly"


def test_tokenizer_round_trips_every_data_set(tok, records):
    # Byte-level BPE without normaliser: decode(encode(x)) == x exactly, for all the data and odd strings.
    for (name, split), rows in records.items():
        texts = [registry.get(name).record_text(r) for r in rows]
        ids = tok(texts, add_special_tokens=False)["input_ids"]
        assert tok.unk_token_id not in {i for seq in ids for i in seq}
        decoded = tok.batch_decode(ids)
        bad = [t for t, d in zip(texts, decoded, strict=True) if t != d]
        assert not bad, f"{name}/{split}: {len(bad)} texts do not round-trip, e.g. {bad[0]!r}"
    odd = "  two  spaces\n\ttab, caf\u00e9, \u4e2d\u6587, emoji \U0001f600, trailing space "
    assert tok.decode(tok(odd, add_special_tokens=False)["input_ids"]) == odd


def test_tokenizer_keeps_the_world_words_short(tok):
    words = world.NAMES + world.SPECIES + world.COLORS + world.PLACES + world.FOODS + world.OBJECTS
    lengths = [len(tok(" " + w, add_special_tokens=False)["input_ids"]) for w in words]
    assert max(lengths) == 1, "entity words should be single tokens with a leading space"


# ---- toystories ----------------------------------------------------------------------------------------------------


def test_toystories_entropy_is_finite_positive_and_consistent(built, tok):
    report = toystories.split_entropy("validation", tok, data_dir=built)
    assert report.records == 1000 and report.tokens > 20 * report.records
    for value in (report.best_loss_per_token, report.entropy_per_token):
        assert math.isfinite(value) and 0.1 < value < 3.0
    # -log p of what was sampled and the entropy of the distributions it was sampled from agree in expectation
    assert abs(report.nll_nats - report.entropy_nats) / report.entropy_nats < 0.02
    assert toystories.entropy_per_token("validation", tok, data_dir=built) == report.entropy_per_token
    assert report.best_loss_per_token == toystories.best_loss_per_token("validation", tok, data_dir=built)


def test_toystories_empirical_frequencies_match_the_grammar():
    # The first choice point has a fixed distribution: estimate its entropy from samples.
    traces = [toystories.sample(Rng("test-toystories", i)) for i in range(4000)]
    first = traces[0].choices[0]
    counts = Counter(t.choices[0].option for t in traces)
    n = len(traces)
    plug_in = -sum(c / n * math.log(c / n) for c in counts.values())
    assert abs(plug_in - first.entropy) < 0.03, f"plug-in {plug_in:.3f} vs exact {first.entropy:.3f}"
    # Chi-square of the kinds against KIND_WEIGHTS (2 degrees of freedom; 13.8 is the 0.1% point).
    kinds = Counter(t.kind for t in traces)
    total = sum(toystories.KIND_WEIGHTS.values())
    chi2 = sum((kinds[k] - n * w / total) ** 2 / (n * w / total) for k, w in toystories.KIND_WEIGHTS.items())
    assert chi2 < 13.8, f"kinds {dict(kinds)} do not follow {toystories.KIND_WEIGHTS}"
    # A conditional choice: the hero's favourite food is 7 times likelier than each of the 11 others.
    ate = []
    for t in traces:
        if t.kind == "story":
            hero = world.WORLD.by_name[t.choices[1].option.strip()]
            ate += [c.option.strip() == hero.food for c in t.choices if c.kind == "food"]
    assert len(ate) > 500 and abs(sum(ate) / len(ate) - 7 / 18) < 0.05


def test_toystories_text_determines_its_derivation(records):
    seed = read_manifest("toystories")["generator"]["arguments"]["seed"]
    for i, r in enumerate(records["toystories", "validation"][:300]):
        sampled = toystories.sample(Rng("toystories", seed, "validation", i))
        parsed = toystories.trace(r["text"])
        assert parsed.choices == sampled.choices and parsed.kind == r["kind"]
    good = records["toystories", "validation"][0]["text"]
    assert math.isfinite(toystories.log_prob(good)) and toystories.log_prob(good) < 0
    assert toystories.log_prob(good.replace(" the ", " teh ", 1)) == -math.inf
    assert toystories.log_prob(good + " More.") == -math.inf


def test_toystories_next_token_distributions_add_up(records, tok):
    for r in records["toystories", "test"][:100]:
        ids, dists = toystories.next_token_distributions(r["text"], tok)
        assert ids[-1] == tok.eos_token_id and len(ids) == len(dists)
        assert all(abs(sum(d.values()) - 1) < 1e-9 for d in dists)
        nll = -sum(math.log(d[i]) for i, d in zip(ids, dists, strict=True))
        assert abs(nll - toystories.trace(r["text"]).nll) < 1e-6


# ---- arith -----------------------------------------------------------------------------------------------------------


def test_arith_answers_verify_and_wrong_twins_have_one_wrong_step(records):
    for split in ("train", "validation", "test"):
        for r in records["arith", split]:
            for s in r["steps"]:
                a, op, b, c = arith.parse_step(s)
                assert arith.apply(a, op, b) == c, f"{r['id']}: false step {s}"
            assert arith.parse_step(r["steps"][-1])[3] == r["answer"]
            assert arith.verify(r, r["solution"]) and not arith.verify(r, r["wrong_solution"])
            assert r["wrong_answer"] != r["answer"]
            assert arith.label_steps(r, r["steps"]) == [1] * len(r["steps"])
            assert arith.label_steps(r, r["wrong_steps"]) == r["wrong_labels"]
            assert r["wrong_labels"].count(0) == 1 and r["wrong_labels"][r["wrong_index"]] == 0
            assert len(r["wrong_steps"]) == len(r["steps"])
    assert {r["error_type"] for r in records["arith", "train"]} == {"arithmetic", "operand", "operator"}
    assert {r["domain"] for r in records["arith", "train"]} == set(arith.DOMAINS)


def test_arith_answer_parsing():
    assert arith.extract_answer("3 + 4 = 7\nThe answer is 7.") == 7
    assert arith.extract_answer("The answer is 5. No wait, The answer is 6.") == 6
    assert arith.extract_answer("I think 7") is None
    assert arith.parse_step("3 + 4 = 8") == (3, "+", 4, 8) and arith.parse_step("3 plus 4") is None


# ---- tasks ------------------------------------------------------------------------------------------------------------


def test_tasks_phrasings_outputs_and_prompts(records, tok):
    for t in tasks.TASKS.values():
        assert len(t.phrasings) >= 8 and len(set(t.phrasings)) == len(t.phrasings)
    seen = Counter()
    for r in records["tasks", "train"]:
        t = tasks.TASKS[r["task"]]
        assert r["output"] == t.solve(r["input"])
        assert r["instruction"] == t.phrasings[r["phrasing"]] and r["canonical"] == (r["phrasing"] == 0)
        assert r["prompt"] == tasks.few_shot_prompt([], r["input"], "io", r["instruction"])
        assert r["completion"] == " " + r["output"]
        assert len(tok(r["input"])["input_ids"]) <= 12 and len(r["input"].split()) <= 7
        if t.labels:
            assert r["output"] in t.labels
        seen[r["task"], r["phrasing"]] += 1
    assert all(seen[n, p] > 0 for n, t in tasks.TASKS.items() for p in range(len(t.phrasings)))


def test_tasks_few_shot_prompt_formats():
    demos = [("fox cat", "cat fox"), {"input": "red hat", "output": "hat red"}]
    for fmt in tasks.FORMATS:
        p = tasks.few_shot_prompt(demos, "owl key", fmt, instruction=tasks.TASKS["reverse"].canonical)
        assert p.startswith("Reverse the order") and "cat fox" in p and "hat red" in p
        assert not p.endswith(" ") and "owl key" in p.split(tasks.FORMATS[fmt].sep)[-1]
    assert tasks.few_shot_prompt(demos, "owl key", "arrow") == "fox cat -> cat fox\nred hat -> hat red\nowl key ->"
    assert tasks.is_correct(" key owl\nInput: x", "key owl") and not tasks.is_correct("owl key", "key owl")
    assert tasks.shift_letters("zoo") == "app"


# ---- prefs ------------------------------------------------------------------------------------------------------------


def test_prefs_chosen_scores_higher_under_the_rule(records):
    for split in ("train", "validation", "test"):
        for r in records["prefs", split]:
            assert prefs.score(r["prompt"], r["chosen"]) == r["chosen_score"]
            assert prefs.score(r["prompt"], r["rejected"]) == r["rejected_score"]
            assert r["chosen_score"] > r["rejected_score"]
    kinds = Counter(r["pair_kind"] for r in records["prefs", "train"])
    assert kinds["edit"] > 1000 and kinds["sample"] > 1000


def test_prefs_rule_on_hand_computed_cases():
    tom = world.WORLD.by_name["Tom"]
    q = "What does Tom like to eat?"
    other_food = next(f for f in world.FOODS if f != tom.food)
    right, wrong = f"Tom likes {tom.food}.", f"Tom likes {other_food}."
    assert prefs.score(q, right) == 3
    assert prefs.score(q, wrong) == -3
    assert prefs.score(q, f"{right} {right}") == 1  # repeat -2
    assert prefs.score(q, "I am not sure.") == -1
    assert prefs.score("Tell me about Tom.", world.kind_sentence(tom)) == 2
    assert prefs.score("Tell me about Tom.", world.kind_sentence(world.WORLD.by_name["Mia"])) == -1  # off topic
    five_vague = list(prefs.FILLERS[:5])
    assert prefs.score("Tell me about Tom.", " ".join([world.kind_sentence(tom)] + five_vague)) == 2 - 5 - 2  # brevity
    assert prefs.score("Tell me about Tom.", " ".join([world.kind_sentence(tom)] + ["Maybe."] * 5)) == 2 - 1 - 8 - 2
    assert prefs.score("Tell me about Tom.", "") == 0


# ---- webdocs ------------------------------------------------------------------------------------------------------------


def test_webdocs_exact_duplicates_are_exactly_the_planted_ones(records):
    crawl = records["webdocs", "train"]
    by_hash = defaultdict(set)
    for r in crawl:
        by_hash[hashlib.sha256(r["text"].encode()).hexdigest()].add(r["id"])
    found = {frozenset(g) for g in by_hash.values() if len(g) > 1}
    clusters = defaultdict(list)
    for r in crawl:
        clusters[r["cluster"]].append(r)
    planted = {frozenset(r["id"] for r in rows if r["dup"] in ("original", "exact"))
               for rows in clusters.values() if any(r["dup"] == "exact" for r in rows)}  # fmt: skip
    assert found == planted and len(planted) > 50


def test_webdocs_near_duplicates_and_labels(records):
    crawl = records["webdocs", "train"]
    for field, values in (("quality", webdocs.QUALITY_WEIGHTS), ("domain", webdocs.DOMAINS),
                          ("dup", ("unique", "original", "exact", "near")),
                          ("subtype", ("", "error", "login", "index", "keywords", "links", *webdocs.LOW_SUBTYPES))):  # fmt: skip
        assert {r[field] for r in crawl} == set(values), f"every {field} label must occur"
    original = {r["cluster"]: r for r in crawl if r["dup"] == "original"}
    for r in crawl:
        lines = r["text"].split("\n")
        assert all(0 <= i < len(lines) for i in r["boilerplate_lines"])
        if r["quality"] == "boilerplate":
            assert r["boilerplate_lines"] == list(range(len(lines)))
        if r["dup"] == "near":
            sim = webdocs.jaccard(webdocs.shingles(r["text"]), webdocs.shingles(original[r["cluster"]]["text"]))
            assert webdocs.NEAR_MIN_JACCARD <= sim < 1
    # The reference similarity join finds no look-alikes across clusters (the ground truth is complete).
    everything = crawl + records["webdocs", "validation"]
    pairs = webdocs.similar_pairs([r["text"] for r in everything], webdocs.UNRELATED_MAX_JACCARD)
    assert all(everything[i]["cluster"] == everything[j]["cluster"] for i, j, _ in pairs)
    assert sum(everything[i]["dup"] == "near" or everything[j]["dup"] == "near" for i, j, _ in pairs) > 100
    assert all(r["quality"] == "good" and r["dup"] == "unique" for r in records["webdocs", "validation"])


# ---- kb ---------------------------------------------------------------------------------------------------------------


def test_kb_agrees_with_the_world_and_toystories(records):
    facts = records["kb", "facts"]
    assert len(facts) == len(world.WORLD.facts())
    for f in facts:
        assert kb.lookup(f["subject"], f["relation"]) == f["object"]
        assert world.parse_facts(f["sentence"])[0] == world.Fact(f["subject"], f["relation"], f["object"])
    stated = {(f["subject"], f["relation"]) for f in facts if f["in_stories"]}
    checked = 0
    for r in records["toystories", "train"][:3000]:
        assert set(r["entities"]) <= set(world.NAMES)
        if r["kind"] == "story":
            continue
        for sentence in world.split_sentences(r["text"].replace("A: ", "\n")):
            for fact in world.parse_facts(sentence) or []:
                assert kb.lookup(fact.subject, fact.relation) == fact.value, f"toystories says {sentence!r}"
                assert (fact.subject, fact.relation) in stated
                checked += 1
    assert checked > 1000
    # Ages and birth months are kb-only: no other data set states them, so answering needs the tool.
    kb_only = re.compile(r"\b(is \d+ years old|was born in)\b")
    for (name, split), rows in records.items():
        if name != "kb":
            assert not any(kb_only.search(registry.get(name).record_text(r)) for r in rows), f"{name}/{split}"


def test_kb_questions_and_tool(records):
    for q in records["kb", "questions"]:
        values = [kb.lookup(*ref.split(".")) for ref in q["lookups"]]
        if q["kind"] == "single":
            assert q["answer"] == values[0] and world.parse_question(q["question"])
        elif q["kind"] == "sum":
            assert int(q["answer"]) == int(values[0]) + int(values[1])
        elif q["kind"] == "difference":
            assert int(q["answer"]) == int(values[0]) - int(values[1]) > 0
        elif q["kind"] == "two_hop":
            assert q["answer"] == values[1] and q["lookups"][1].split(".")[0] == values[0]
    assert {q["kind"] for q in records["kb", "questions"]} == {"single", "two_hop", "sum", "difference", "future"}
    assert kb.lookup_tool("Tom, age") == str(world.WORLD.by_name["Tom"].age)
    assert kb.lookup_tool("forest, near") == world.WORLD.near["forest"]
    for bad in ("Tom", "Tomm, age", "Tom, height", ""):
        assert kb.lookup_tool(bad).startswith("Error:")


def test_token_blocks_are_the_tokenised_split_in_order(built, tok):
    import torch

    from llm901_shared.lm_data import random_batch, token_blocks

    blocks = token_blocks("toystories", "validation", seq_len=32, max_blocks=20)
    assert blocks.shape == (20, 33) and blocks.dtype == torch.long
    first = data.load("toystories", "validation")[0]["text"]
    ids = tok.encode(first, add_special_tokens=False) + [tok.eos_token_id]
    assert blocks.flatten()[: len(ids)].tolist() == ids[: 20 * 33]
    x, y = random_batch(blocks, 8, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (8, 32) and torch.equal(x[:, 1:], y[:, :-1])
