"""The integrity report: flags for a person to look at, never a score.

Two kinds of flag, both computed from the answer cells of the staged submissions (the rebuilt
notebooks under submitted/, so the tests and locked cells are the course's own):

- **An answer that uses the reference.** A lab may declare, per answer cell, the library code its
  hidden tests compare answers against (`weeks/<lab>/references.toml`). An answer that imports or
  calls it is flagged: the test then compares the library with itself. The scan reads the syntax
  tree: imports (also `__import__` and `importlib.import_module` with a constant name), names bound
  by them (aliases included), attribute chains on those names, and `getattr(x, "name")` with a
  constant string.
- **Similar submissions.** Per answer cell, a winnowed k-gram fingerprint of the code with
  identifiers, literals' text, comments and layout removed (MOSS's method, Schleimer et al. 2003,
  as implemented by `copydetect`), minus the fingerprints of the released starter code. Pairs of
  students whose answers share most of their fingerprints are reported, grouped into clusters, with
  a side-by-side HTML view of the matching cells.
"""

from __future__ import annotations

import ast
import html
import io
import itertools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from . import notebooks
from .labs import Lab

REFERENCES_FILE = "references.toml"
ALL_CELLS = "*"


# --- answers that use the reference ---------------------------------------------------------------
def declared_references(lab: Lab) -> dict[str, list[str]]:
    """grade_id (or "*") -> dotted names the hidden tests compare against. A name starting with "."
    matches that attribute on anything (e.g. ".backward": autograd on any tensor)."""
    path = lab.path / REFERENCES_FILE
    if not path.is_file():
        return {}
    data = tomllib.loads(path.read_text())
    table = data.get("references", {})
    return {str(k): [str(n) for n in v] for k, v in table.items()}


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """The dotted name an expression stands for, through the aliases imports bound; None if unknown."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, ast.Call) and _is_getattr(node):
        base = _dotted(node.args[0], aliases)
        return f"{base}.{node.args[1].value}" if base else None
    if isinstance(node, ast.Call) and _imported_module(node):
        return _imported_module(node)
    return None


def _is_getattr(node: ast.Call) -> bool:
    return (isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str))


def _imported_module(node: ast.Call) -> str | None:
    """`__import__("m")` / `importlib.import_module("m")` with a constant name."""
    func = node.func
    named = (isinstance(func, ast.Name) and func.id in {"__import__", "import_module"}) or (
        isinstance(func, ast.Attribute) and func.attr == "import_module")
    if named and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def used_names(source: str) -> list[tuple[str, int]]:
    """Every dotted library name the code reaches, with its line: what it imports and what it uses
    of the imported names (attribute chains, getattr with a constant). Code that does not parse
    yields nothing (the grade already says so)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    aliases: dict[str, str] = {}
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):  # bindings first
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
                found.append((a.name, node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
                found.append((f"{node.module}.{a.name}", node.lineno))
    for node in ast.walk(tree):  # `F = torch.nn.functional` and `m = __import__("peft")` bind too
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target = _dotted(node.value, aliases)
            if target:
                aliases[node.targets[0].id] = target
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Call):
            name = _dotted(node, aliases)
            if name:
                found.append((name, node.lineno))
        if isinstance(node, ast.Attribute):
            found.append(("." + node.attr, node.lineno))
        if isinstance(node, ast.Call) and _is_getattr(node):
            found.append(("." + node.args[1].value, node.lineno))
    return found


def _matches(name: str, reference: str) -> bool:
    if reference.startswith("."):
        return name == reference
    return name == reference or name.startswith(reference + ".")


def reference_uses(source: str, references: list[str], imported: dict[str, str] | None = None) -> list[str]:
    """The declared reference names `source` reaches, as 'name (line N)'. `imported` maps names the
    notebook's locked cells bound (e.g. `torch`, `F`) to what they are."""
    prelude = "".join(f"import {target} as {alias}\n" for alias, target in (imported or {}).items())
    offset = prelude.count("\n")
    hits = []
    for name, line in used_names(prelude + source):
        if line <= offset:
            continue
        for ref in references:
            if _matches(name, ref):
                hits.append(f"{name} (line {line - offset})")
                break
    return sorted(set(hits), key=hits.index)


# --- similar submissions ----------------------------------------------------------------------------
# k: characters of the filtered code per k-gram (copydetect's filtered code is about one character a
# token); window 1 keeps every k-gram: answer cells are a few lines, winnowing would thin them out.
# Measured on w05-1 (tests/test_integrity.py): planted copies (renamed, reordered, commented,
# reformatted) share >= 0.85 of their fingerprints with the original, independently written correct
# answers <= 0.29 with each other and with the solution; the threshold sits between.
NOISE_K = 15
WINDOW = 1
MIN_COVERAGE = 60  # filtered characters a cell needs, beyond the starter code, to be compared at all
SIMILARITY_THRESHOLD = 0.6


@dataclass
class Fingerprint:
    cell: str
    source: str
    fp: object  # copydetect.CodeFingerprint


def _fingerprint(source: str, boilerplate=None):
    from copydetect import CodeFingerprint

    return CodeFingerprint("answer.py", NOISE_K, WINDOW, boilerplate=boilerplate, fp=io.StringIO(source),
                           language="python")


@dataclass
class Pair:
    a: str
    b: str
    similarity: float  # matched filtered characters over compared ones, both sides together
    cells: dict[str, float] = field(default_factory=dict)  # per shared cell: that cell's similarity


def similar_pairs(answers: dict[str, dict[str, str]], starter: dict[str, str],
                  threshold: float = SIMILARITY_THRESHOLD) -> tuple[list[Pair], dict]:
    """answers: student -> grade_id -> source. Returns the pairs at or above `threshold` (most similar
    first) and the fingerprints, for the HTML view."""
    from copydetect import compare_files

    boiler = {cell: list(_fingerprint(src).hashes) for cell, src in starter.items()}
    prints: dict[str, dict[str, object]] = {}
    for student, cells in answers.items():
        prints[student] = {}
        for cell, src in cells.items():
            if src.strip() == starter.get(cell, "").strip():
                continue  # not attempted
            fp = _fingerprint(src, boiler.get(cell))
            if fp.token_coverage >= MIN_COVERAGE:
                prints[student][cell] = fp
    pairs = []
    for a, b in itertools.combinations(sorted(prints), 2):
        matched = compared = 0.0
        per_cell = {}
        for cell in sorted(set(prints[a]) & set(prints[b])):
            fa, fb = prints[a][cell], prints[b][cell]
            overlap, (sa, sb), _ = compare_files(fa, fb)
            per_cell[cell] = round(float(min(sa, sb)), 3)
            matched += sa * fa.token_coverage + sb * fb.token_coverage
            compared += fa.token_coverage + fb.token_coverage
        if compared and matched / compared >= threshold:
            pairs.append(Pair(a, b, round(matched / compared, 3), per_cell))
    pairs.sort(key=lambda p: -p.similarity)
    return pairs, prints


def clusters(pairs: list[Pair]) -> list[list[str]]:
    """Students linked by flagged pairs, as groups (largest first)."""
    parent: dict[str, str] = {}

    def root(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        parent[root(p.a)] = root(p.b)
    groups: dict[str, list[str]] = {}
    for x in parent:
        groups.setdefault(root(x), []).append(x)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g))


def _side_by_side(pair: Pair, prints: dict, names: dict[str, str]) -> str:
    from copydetect import compare_files
    from copydetect.utils import highlight_overlap

    rows = []
    for cell in pair.cells:
        fa, fb = prints[pair.a][cell], prints[pair.b][cell]
        _, _, (slices_a, slices_b) = compare_files(fa, fb)
        if len(slices_a) and len(slices_a[0]):
            left, _ = highlight_overlap(fa.raw_code, slices_a, "<mark>", "</mark>", escape_html=True)
            right, _ = highlight_overlap(fb.raw_code, slices_b, "<mark>", "</mark>", escape_html=True)
        else:
            left, right = html.escape(fa.raw_code), html.escape(fb.raw_code)
        rows.append(f"<h3>{html.escape(cell)}: {pair.cells[cell]:.0%}</h3><table><tr>"
                    f"<td><pre>{left}</pre></td><td><pre>{right}</pre></td></tr></table>")
    title = f"{html.escape(names.get(pair.a, pair.a))} ↔ {html.escape(names.get(pair.b, pair.b))}: {pair.similarity:.0%}"
    return f"<section><h2>{title}</h2>{''.join(rows)}</section>"


# --- the report -------------------------------------------------------------------------------------
def locked_imports(nb) -> dict[str, str]:
    """alias -> module for the imports of the notebook's locked (non-answer) code cells: the names
    an answer can use without importing anything itself."""
    out: dict[str, str] = {}
    for c in nb.cells:
        if c.cell_type != "code" or notebooks.is_solution_cell(c) or notebooks.is_test_cell(c):
            continue
        try:
            tree = ast.parse(c.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        out[a.asname] = a.name
                    else:
                        out[a.name.split(".")[0]] = a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    if a.name != "*":
                        out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


@dataclass
class IntegrityReport:
    reference_flags: dict[str, dict[str, list[str]]]  # student -> cell -> uses
    pairs: list[Pair]
    groups: list[list[str]]
    names: dict[str, str] = field(default_factory=dict)  # student id -> what the TA knows them by
    json_path: Path | None = None
    html_path: Path | None = None

    def flags_for(self, student: str) -> list[str]:
        out = [f"{cell} uses {', '.join(uses)}" for cell, uses in self.reference_flags.get(student, {}).items()]
        for p in self.pairs:
            if student in (p.a, p.b):
                other = p.b if student == p.a else p.a
                out.append(f"similar to {self.names.get(other, other)} ({p.similarity:.0%})")
        return out


def integrity_report(lab: Lab, release_nb, submitted: dict[str, Path], names: dict[str, str] | None = None,
                     out_dir: Path | None = None, threshold: float = SIMILARITY_THRESHOLD) -> IntegrityReport:
    """submitted: student id -> the staged notebook. `names` maps ids to what the TA knows them by
    (the course site's folder names). Writes `<week>-integrity.json` and `<week>-similar.html` to
    `out_dir` when given."""
    names = names or {}
    declared = declared_references(lab)
    starter = notebooks.answer_sources(release_nb)
    imported = locked_imports(release_nb)
    answers: dict[str, dict[str, str]] = {}
    flags: dict[str, dict[str, list[str]]] = {}
    for student, path in sorted(submitted.items()):
        try:
            nb = notebooks.read(path)
        except Exception:  # noqa: BLE001 - a staged notebook is the grader's own; skip if gone
            continue
        cells = {cell: src for cell, src in notebooks.answer_sources(nb).items() if cell in starter}
        answers[student] = cells
        for cell, src in cells.items():
            refs = declared.get(ALL_CELLS, []) + declared.get(cell, [])
            uses = reference_uses(src, refs, imported) if refs else []
            if uses:
                flags.setdefault(student, {})[cell] = uses
    pairs, prints = similar_pairs(answers, starter, threshold)
    report = IntegrityReport(flags, pairs, clusters(pairs), names)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        label = lambda s: names.get(s, s)  # noqa: E731
        data = {
            "week": lab.week,
            "note": "flags for a person to look at; no score was changed",
            "references_declared": declared,
            "uses_reference": {label(s): cells for s, cells in flags.items()},
            "similar_pairs": [{"a": label(p.a), "b": label(p.b), "similarity": p.similarity, "cells": p.cells}
                              for p in pairs],
            "clusters": [[label(s) for s in g] for g in report.groups],
            "threshold": threshold,
        }
        report.json_path = out_dir / f"{lab.week}-integrity.json"
        report.json_path.write_text(json.dumps(data, indent=1, ensure_ascii=False))
        report.html_path = out_dir / f"{lab.week}-similar.html"
        body = "".join(_side_by_side(p, prints, names) for p in pairs) or "<p>No pair above the threshold.</p>"
        report.html_path.write_text(
            "<!doctype html><meta charset=utf-8><title>similar submissions</title><style>"
            "td{vertical-align:top;width:50%}pre{white-space:pre-wrap;font-size:12px}mark{background:#fd8}"
            f"</style><h1>{html.escape(lab.week)}: similar answers (threshold {threshold:.0%})</h1>"
            "<p>Highlighted: code whose fingerprint (identifiers, literals, comments and layout removed) "
            "both answers share. A flag is for a person to read, not a verdict.</p>" + body)
    return report
