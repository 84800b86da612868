"""The integrity report (grader/integrity.py): answers that use what the tests compare against, and
similar submissions. Flags are for a person; they never change a score (see test_labs' demo)."""

from __future__ import annotations

import json

import pytest

from integrity_fixtures import plant
from integrity_fixtures.w05_1_independent import STYLE_A, STYLE_B
from llm901_grader import integrity, notebooks
from llm901_grader.labs import find_lab
from llm901_grader.samples import answered, answers

REFS = ["transformers", "torch.nn.functional.layer_norm", "torch.layer_norm", ".backward", "torch.optim.AdamW"]
LOCKED = {"torch": "torch", "F": "torch.nn.functional"}


@pytest.mark.parametrize("source,expected", [
    ("def f(x):\n    return F.layer_norm(x, (4,))\n", "torch.nn.functional.layer_norm"),
    ("import torch.nn.functional as G\ndef f(x):\n    return G.layer_norm(x, (4,))\n", "torch.nn.functional.layer_norm"),
    ("from torch.nn import functional\ndef f(x):\n    return functional.layer_norm(x, (4,))\n",
     "torch.nn.functional.layer_norm"),
    ("def f(x):\n    return getattr(torch, 'layer_norm')(x, (4,))\n", "torch.layer_norm"),
    ("import importlib\ndef f():\n    return importlib.import_module('transformers.models.llama')\n", "transformers.models.llama"),
    ("def f():\n    t = __import__('transformers')\n    return t.AutoModel\n", "transformers"),
    ("from transformers.models.llama.modeling_llama import apply_rotary_pos_emb as rot\n", "transformers.models.llama"),
    ("def f(x):\n    y = (x * x).sum()\n    y.backward()\n    return x.grad\n", ".backward"),
    ("def f(p):\n    opt = torch.optim\n    return opt.AdamW([p])\n", "torch.optim.AdamW"),
])
def test_reference_use_is_found(source, expected):
    hits = integrity.reference_uses(source, REFS, LOCKED)
    assert any(h.startswith(expected) for h in hits), hits


@pytest.mark.parametrize("source", [
    "def f(x):\n    m = x.mean(-1, keepdim=True)\n    return (x - m) / x.var(-1, keepdim=True, unbiased=False).add(1e-5).sqrt()\n",
    "def f(x):\n    # F.layer_norm would be the library's\n    return F.softmax(x, -1)\n",
    "def f(x):\n    layer_norm = lambda t: t\n    return layer_norm(x)\n",
    "def f(x:\n    broken",
])
def test_own_code_is_not_flagged(source):
    assert integrity.reference_uses(source, REFS, LOCKED) == []


def _w05_1():
    lab = find_lab("w05-1")
    starter = notebooks.answer_sources(notebooks.read(lab.student))  # code answer cells (not written ones)
    return lab, {k: v for k, v in answers(lab).items() if k in starter}, starter


def test_planted_copies_are_found_and_independent_answers_are_not():
    """Copies of a classmate's answers, disguised as students do (variables renamed, statements
    reordered, comments added, reformatted, all at once), against answers written independently."""
    lab, solution, starter = _w05_1()
    subs = {
        "original": solution, "independent_a": STYLE_A, "independent_b": STYLE_B,
        "renamed": {k: plant.rename_variables(v) for k, v in solution.items()},
        "reordered": {k: plant.reorder(v) for k, v in solution.items()},
        "commented": {k: plant.add_comments(v) for k, v in solution.items()},
        "reformatted": {k: plant.reformat(v) for k, v in solution.items()},
        "disguised": {k: plant.disguise(v) for k, v in solution.items()},
        "copy_of_a": {k: plant.disguise(v, seed=1) for k, v in STYLE_A.items()},
        "unattempted": starter,
    }
    pairs, _ = integrity.similar_pairs(subs, starter)
    found = {frozenset((p.a, p.b)) for p in pairs}
    copies_of_original = {"original", "renamed", "reordered", "commented", "reformatted", "disguised"}
    for who in copies_of_original - {"original"}:
        assert frozenset(("original", who)) in found, f"{who} not found"
    assert frozenset(("independent_a", "copy_of_a")) in found
    for p in pairs:  # nothing else: no independent answer is linked to another
        assert {p.a, p.b} <= copies_of_original or {p.a, p.b} == {"independent_a", "copy_of_a"}, p
    groups = integrity.clusters(pairs)
    assert sorted(groups[0]) == sorted(copies_of_original)
    assert sorted(groups[1]) == ["copy_of_a", "independent_a"]


def test_report_files(tmp_path):
    """Through staged notebooks: the reference user is flagged with its cell and line, the copy pair is
    in the JSON and the side-by-side HTML, the independent answers and the untouched notebook are not."""
    lab, solution, starter = _w05_1()
    release = notebooks.read(lab.student)
    adamw = solution["adamw_step"].replace('    """One AdamW', '    opt = torch.optim.AdamW\n    """One AdamW', 1)
    made = {
        "s1": answered(lab),
        "s2": answered(lab, replace={k: plant.disguise(v) for k, v in solution.items()}),
        "s3": answered(lab, replace=STYLE_A),
        "s4": answered(lab, replace={**STYLE_B, "adamw_step": adamw}),
        "s5": release,
    }
    paths = {}
    for sid, nb in made.items():
        paths[sid] = tmp_path / sid / "lab.ipynb"
        notebooks.write(nb, paths[sid])
    names = {sid: f"Student {sid[1]}" for sid in made}
    report = integrity.integrity_report(lab, release, paths, names, out_dir=tmp_path / "reports")
    assert report.reference_flags == {"s4": {"adamw_step": ["torch.optim.AdamW (line 2)"]}}
    data = json.loads(report.json_path.read_text())
    assert data["uses_reference"] == {"Student 4": {"adamw_step": ["torch.optim.AdamW (line 2)"]}}
    assert [(p["a"], p["b"]) for p in data["similar_pairs"]] == [("Student 1", "Student 2")]
    assert report.flags_for("s1") == [f"similar to Student 2 ({report.pairs[0].similarity:.0%})"]
    assert report.flags_for("s3") == [] and report.flags_for("s5") == []
    page = report.html_path.read_text()
    assert "Student 1" in page and "<mark>" in page and "Student 3" not in page
