"""Build, verify and load the data sets; write their manifests.

The files are a pure function of the code: `generate(**ARGUMENTS)` -> records -> JSON Lines with a
fixed layout (ASCII, keys in FIELDS order, no spaces), so their SHA-256 is the same on every machine.
The manifests (data_manifests/<name>.json) record those hashes; every build and every load checks the
files against them.  A file that differs from its manifest is an error, never silently rebuilt: either
someone edited it (delete it and rebuild) or the generator changed (course staff regenerate the manifests
with `python -m llm901_shared.data manifests` and commit them).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

from . import registry
from .registry import BUILD_COMMAND, LICENSE, MANIFESTS_COMMAND, NAMES

MANIFEST_VERSION = 1


class ManifestError(RuntimeError):
    """A data file (or the generator) does not match its manifest."""


def serialize(records: list[dict]) -> bytes:
    """The file format: one compact JSON object per line, ASCII only, keys in insertion order."""
    return b"".join(json.dumps(r, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n" for r in records)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_schema(spec: registry.DatasetSpec, split: str, records: list[dict]) -> None:
    fields = spec.fields(split)
    for r in records:
        if list(r) != list(fields):
            raise AssertionError(f"{spec.name}/{split}: record {r.get('id')} has fields {list(r)}, expected {list(fields)}")
        for k, t in fields.items():
            if not registry.check_value(r[k], t):
                raise AssertionError(f"{spec.name}/{split}: record {r['id']} field {k!r}={r[k]!r} is not {t}")


def generate_bytes(name: str) -> dict[str, bytes]:
    """Run a data set's generator and serialise each split (in memory)."""
    spec = registry.get(name)
    splits = spec.generate()
    if list(splits) != list(spec.splits):
        raise AssertionError(f"{name}: generator returned splits {list(splits)}, expected {list(spec.splits)}")
    out = {}
    for split, records in splits.items():
        counts = spec.arguments.get("counts", {})
        if split in counts and len(records) != counts[split]:
            raise AssertionError(f"{name}/{split}: {len(records)} records, counts say {counts[split]}")
        _check_schema(spec, split, records)
        out[split] = serialize(records)
    return out


# ---- manifests ---------------------------------------------------------------------------------------------------


def read_manifest(name: str) -> dict:
    """The manifest of a data set (or of "tokenizer")."""
    mdir = registry.manifest_dir()
    if mdir is not None:
        path = mdir / f"{name}.json"
        if not path.is_file():
            raise ManifestError(f"no manifest {path}; course staff create it with `{MANIFESTS_COMMAND}`")
        return json.loads(path.read_text())
    if not registry.BUNDLE.is_file():
        raise ManifestError(f"no manifests: neither a checkout's data_manifests/ nor {registry.BUNDLE}")
    bundle = json.loads(registry.BUNDLE.read_text())
    if name not in bundle:
        raise ManifestError(f"{name!r} is not in the manifest bundle {registry.BUNDLE}")
    return bundle[name]


def make_manifest(name: str, files: dict[str, bytes]) -> dict:
    spec = registry.get(name)
    splits = {}
    for split, data in files.items():
        splits[split] = {
            "file": f"{name}/{split}.jsonl",
            "records": data.count(b"\n"),
            "bytes": len(data),
            "sha256": sha256_bytes(data),
            "fields": spec.fields(split),
        }
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": name,
        "description": spec.description,
        "license": LICENSE,
        "generator": {"function": spec.generator, "arguments": spec.arguments},
        "format": "JSON Lines: one JSON object per line, ASCII, keys in the order of `fields`, no spaces",
        "splits": splits,
        "total_bytes": sum(len(d) for d in files.values()),
        "labs": list(spec.labs),
        "labs_note": spec.labs_note,
        "build": BUILD_COMMAND,
        "load": f"llm901_shared.data.load({name!r}, split={next(iter(files))!r})",
    }


def _dump(obj: dict) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=True) + "\n"


def write_bundle() -> Path:
    """Copy every manifest into llm901_shared/assets/data_manifests.json, for installs without a checkout."""
    mdir = registry.manifest_dir()
    if mdir is None:
        raise ManifestError("no data_manifests/ directory to bundle (run this in a checkout)")
    bundle = {}
    for name in (*NAMES, "tokenizer"):
        path = mdir / f"{name}.json"
        if path.is_file():
            bundle[name] = json.loads(path.read_text())
    _atomic_write(registry.BUNDLE, _dump(bundle).encode())
    return registry.BUNDLE


def write_manifests(names=None, data_dir=None) -> dict[str, dict]:
    """Regenerate data sets, (re)write their manifests and the bundle, and the files themselves.  For staff.

    This is the one place where existing data files are replaced: asking for new manifests means the
    generator changed on purpose, so the files in `data_dir` are rewritten to match the new manifests.
    """
    mdir = registry.manifest_dir()
    if mdir is None:
        raise ManifestError("manifests are written into a checkout's data_manifests/ (or LLM901_MANIFEST_DIR)")
    mdir.mkdir(parents=True, exist_ok=True)
    data_dir = Path(data_dir) if data_dir else registry.default_data_dir()
    out = {}
    for name in [names] if isinstance(names, str) else (names or NAMES):
        files = generate_bytes(name)
        manifest = make_manifest(name, files)
        for split, data in files.items():
            _atomic_write(data_dir / manifest["splits"][split]["file"], data)
        _atomic_write(mdir / f"{name}.json", _dump(manifest).encode())
        out[name] = manifest
    write_bundle()
    return out


# ---- building and verifying ----------------------------------------------------------------------------------------


def _atomic_write(path: Path, data: bytes) -> None:
    # Write then rename: a reader (another notebook, a parallel test) never sees half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; these are ordinary readable files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mismatch(path: Path, expected: str, actual: str) -> ManifestError:
    return ManifestError(
        f"{path} does not match its manifest.\n"
        f"  expected sha256 {expected}\n"
        f"  actual   sha256 {actual}\n"
        f"The file was edited or comes from another version of the generator. To fix: delete it "
        f"(rm {path}) and run `{BUILD_COMMAND}`, which regenerates it. If you changed the generator on "
        f"purpose, regenerate the manifests with `{MANIFESTS_COMMAND}` and commit them."
    )


def verify(name: str, data_dir=None) -> dict[str, Path]:
    """Check every file of a data set against its manifest; ManifestError if one is missing or differs."""
    manifest = read_manifest(name)
    data_dir = Path(data_dir) if data_dir else registry.default_data_dir()
    paths = {}
    for split, entry in manifest["splits"].items():
        path = data_dir / entry["file"]
        if not path.is_file():
            raise ManifestError(f"{path} is missing; run `{BUILD_COMMAND}`")
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise _mismatch(path, entry["sha256"], actual)
        paths[split] = path
    return paths


def build(names=None, data_dir=None) -> dict[str, dict[str, Path]]:
    """Make sure every file of the named data sets (default: all) exists and matches its manifest.

    Existing files are checked, never overwritten; missing ones are generated, checked against the
    manifest, then written.  Returns {name: {split: path}}.
    """
    data_dir = Path(data_dir) if data_dir else registry.default_data_dir()
    out = {}
    for name in [names] if isinstance(names, str) else (names or NAMES):
        manifest = read_manifest(name)
        entries = manifest["splits"]
        missing = [s for s, e in entries.items() if not (data_dir / e["file"]).is_file()]
        if missing:
            files = generate_bytes(name)
            for split in missing:
                actual = sha256_bytes(files[split])
                if actual != entries[split]["sha256"]:
                    raise ManifestError(
                        f"the generator {manifest['generator']['function']} now writes {name}/{split}.jsonl with "
                        f"sha256 {actual}, but the manifest says {entries[split]['sha256']}. The generator (or a "
                        f"module it uses) changed since the manifest was written. If that was intended, run "
                        f"`{MANIFESTS_COMMAND}` and commit data_manifests/; otherwise undo the change."
                    )
                _atomic_write(data_dir / entries[split]["file"], files[split])
        out[name] = verify(name, data_dir)
    return out


# ---- reading and loading --------------------------------------------------------------------------------------------


def path(name: str, split: str, data_dir=None) -> Path:
    """The checked file of one split (built first if needed)."""
    paths = build([name], data_dir)[name]
    if split not in paths:
        raise KeyError(f"{name} has no split {split!r}; its splits are: {', '.join(paths)}")
    return paths[split]


def read_records(name: str, split: str, data_dir=None) -> list[dict]:
    """The records of a split as plain dicts, without the `datasets` library (fast, no cache)."""
    with open(path(name, split, data_dir), "rb") as f:
        return [json.loads(line) for line in f]


@contextmanager
def _quiet_datasets():
    import datasets

    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # no "Generating train split" bars in notebooks and grading logs
    try:
        yield datasets
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


def load(name: str, split: str | None = "train", *, data_dir=None):
    """A data set split as a `datasets.Dataset` (all splits as a `DatasetDict` when split=None).

    `split` may use the `datasets` slicing syntax, e.g. "train[:200]" or "validation[:10%]".
    Builds the files on first use and checks them against the manifest every time.  The `datasets`
    cache lives in build/cache/datasets (or inside a custom data_dir), never in the home directory.
    """
    spec = registry.get(name)
    data_dir = Path(data_dir) if data_dir else registry.default_data_dir()
    paths = build([name], data_dir)[name]
    requests = spec.splits if split is None else (split,)
    bases = [re.match(r"\w*", s).group(0) for s in requests]  # "train[:200]" -> "train"
    for s, base in zip(requests, bases, strict=True):
        if base not in paths:
            raise KeyError(f"{name} has no split {s!r}; its splits are: {', '.join(paths)}")
    cache = registry.datasets_cache_dir(data_dir)
    with _quiet_datasets() as datasets:
        loaded = {
            base: datasets.load_dataset("json", data_files={base: str(paths[base])}, split=s,
                                        features=spec.features(base), cache_dir=str(cache))  # fmt: skip
            for s, base in zip(requests, bases, strict=True)
        }
        return loaded[bases[0]] if split is not None else datasets.DatasetDict(loaded)
