"""Command line for the shared data sets.

    python -m llm901_shared.data build [NAME ...]      build every file (or the named data sets), check
                                                       every sha256 against data_manifests/, check the
                                                       committed tokenizer against its manifest
    python -m llm901_shared.data verify [NAME ...]     only check files that exist (nothing is written)
    python -m llm901_shared.data manifests [NAME ...]  course staff: regenerate data_manifests/<name>.json
                                                       (and the files) after changing a generator, then
                                                       retrain the tokenizer and commit both
    python -m llm901_shared.data tokenizer             course staff: retrain shared/assets/tokenizer.json
                                                       and write data_manifests/tokenizer.json
    python -m llm901_shared.data stats                 records, bytes and tokens per record

Every command takes --data-dir (default: build/data in the checkout, or $LLM901_DATA_DIR).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import registry
from .build import (
    ManifestError,
    _atomic_write,
    _dump,
    build,
    read_manifest,
    sha256_file,
    verify,
    write_bundle,
)
from .build import write_manifests as _write_manifests
from .registry import NAMES

TOKENIZER_DETERMINISM = (
    "Training is byte-for-byte deterministic here: the same data gave the same tokenizer.json in separate "
    "processes (different PYTHONHASHSEED, RAYON_NUM_THREADS=1 and 2; tokenizers 0.23.3). The committed file "
    "is the reference all the same: tests check its sha256, round trips and vocabulary size, never a retrain."
)


def _check_tokenizer(quiet: bool = False) -> None:
    from .. import tokenizer

    manifest = read_manifest("tokenizer")
    actual = sha256_file(tokenizer.ASSET)
    if actual != manifest["sha256"]:
        raise ManifestError(
            f"{tokenizer.ASSET} does not match data_manifests/tokenizer.json\n  expected sha256 "
            f"{manifest['sha256']}\n  actual   sha256 {actual}\nRestore the committed file (git checkout "
            f"shared/assets/tokenizer.json) or, course staff, retrain with `python -m llm901_shared.data tokenizer`."
        )
    stale = [
        f"{name}/{split}"
        for name, splits in manifest["training"]["data"].items()
        for split, sha in splits.items()
        if read_manifest(name)["splits"][split]["sha256"] != sha
    ]
    if stale and not quiet:
        print(f"warning: the tokenizer was trained on older versions of {', '.join(stale)}; "
              f"course staff may retrain it with `python -m llm901_shared.data tokenizer`", file=sys.stderr)  # fmt: skip


def cmd_build(args) -> None:
    """Build every file, check all sha256s and the tokenizer."""
    t0 = time.time()
    for name in args.names or NAMES:
        t = time.time()
        paths = build([name], args.data_dir)[name]
        manifest = read_manifest(name)
        sizes = ", ".join(f"{s} {manifest['splits'][s]['records']}" for s in paths)
        print(f"ok  {name:<11} {sizes}  ({manifest['total_bytes'] / 1e6:.2f} MB, {time.time() - t:.1f} s)")
    _check_tokenizer()
    print(f"ok  tokenizer   {read_manifest('tokenizer')['vocab_size']} tokens")
    print(f"all files match data_manifests/ ({time.time() - t0:.1f} s)")


def cmd_verify(args) -> None:
    """Check existing files and the tokenizer (writes nothing)."""
    for name in args.names or NAMES:
        verify(name, args.data_dir)
        print(f"ok  {name}")
    _check_tokenizer()
    print("ok  tokenizer")


def cmd_manifests(args) -> None:
    """Course staff: regenerate data_manifests/ after changing a generator."""
    for name, m in _write_manifests(args.names or None, args.data_dir).items():
        print(f"wrote data_manifests/{name}.json and its files  ({m['total_bytes'] / 1e6:.2f} MB)")
    print("commit data_manifests/; if the text changed, retrain the tokenizer: python -m llm901_shared.data tokenizer")


def _tokens_per_record(tok, data_dir) -> dict:
    from .build import read_records

    out = {}
    for name in NAMES:
        spec = registry.get(name)
        out[name] = {}
        for split in spec.splits:
            texts = [spec.record_text(r) for r in read_records(name, split, data_dir)]
            ids = tok(texts, add_special_tokens=False)["input_ids"]
            out[name][split] = round(sum(map(len, ids)) / len(ids), 2)
    return out


def cmd_tokenizer(args) -> None:
    """Course staff: retrain shared/assets/tokenizer.json and its manifest."""
    import tokenizers

    from .. import tokenizer

    build(None, args.data_dir)
    texts = tokenizer.training_texts(args.data_dir)
    tok = tokenizer.train_tokenizer(texts)
    data = tokenizer.tokenizer_json(tok).encode()
    _atomic_write(tokenizer.ASSET, data)
    loaded = tokenizer.load_tokenizer()
    manifest = {
        "manifest_version": 1,
        "name": "tokenizer",
        "description": tokenizer.__doc__.split("\n")[0],
        "license": registry.LICENSE,
        "file": "shared/assets/tokenizer.json (installed as llm901_shared/assets/tokenizer.json)",
        "sha256": sha256_file(tokenizer.ASSET),
        "bytes": len(data),
        "vocab_size": tokenizer.vocab_size(),
        "model": "BPE",
        "normalizer": None,
        "pre_tokenizer": "ByteLevel(add_prefix_space=False, use_regex=True) (GPT-2 split)",
        "decoder": "ByteLevel",
        "special_tokens": {name: {"token": t, "id": loaded.convert_tokens_to_ids(t)}
                           for name, t in zip(("pad", "bos", "eos", "unk"), tokenizer.SPECIAL_TOKENS, strict=True)},  # fmt: skip
        "round_trip": "exact: decode(encode(x)) == x for every string (byte-level, no normalisation)",
        "training": {
            "function": "llm901_shared.tokenizer:train_tokenizer",
            "arguments": {"vocab_size": tokenizer.VOCAB_SIZE, "min_frequency": tokenizer.MIN_FREQUENCY,
                          "special_tokens": list(tokenizer.SPECIAL_TOKENS),
                          "initial_alphabet": "all 256 byte symbols"},  # fmt: skip
            "texts": "record_text(record) of every record of these splits, in this order",
            "data": {name: {s: read_manifest(name)["splits"][s]["sha256"] for s in splits}
                     for name, splits in tokenizer.TRAINING_SPLITS.items()},  # fmt: skip
            "n_texts": len(texts),
            "tokenizers_version": tokenizers.__version__,
        },
        "determinism": TOKENIZER_DETERMINISM,
        "tokens_per_record": _tokens_per_record(loaded, args.data_dir),
        "labs": "every lab that uses the tiny pretrained LMs or trains on the shared data",
        "retrain": "python -m llm901_shared.data tokenizer",
    }
    mdir = registry.manifest_dir()
    _atomic_write(Path(mdir) / "tokenizer.json", _dump(manifest).encode())
    write_bundle()
    print(f"wrote {tokenizer.ASSET} ({len(data)} bytes, vocab {manifest['vocab_size']}) and data_manifests/tokenizer.json")


def cmd_stats(args) -> None:
    """Records, bytes and tokens per record of every split."""
    from ..tokenizer import load_tokenizer

    build(args.names or None, args.data_dir)
    tpr = _tokens_per_record(load_tokenizer(), args.data_dir)
    for name in args.names or NAMES:
        m = read_manifest(name)
        for split, e in m["splits"].items():
            print(f"{name:<11} {split:<11} {e['records']:>6} records {e['bytes'] / 1e6:6.2f} MB "
                  f"{tpr[name][split]:8.1f} tokens/record")  # fmt: skip
    print(json.dumps({"total_MB": round(sum(read_manifest(n)["total_bytes"] for n in NAMES) / 1e6, 2)}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llm901_shared.data", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn, takes_names in (("build", cmd_build, True), ("verify", cmd_verify, True),
                                  ("manifests", cmd_manifests, True), ("tokenizer", cmd_tokenizer, False),
                                  ("stats", cmd_stats, True)):  # fmt: skip
        p = sub.add_parser(name, help=fn.__doc__.rstrip("."))
        if takes_names:
            p.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(NAMES)} (default: all)")
        p.add_argument("--data-dir", type=Path, default=None, help="default: build/data (or $LLM901_DATA_DIR)")
        p.set_defaults(fn=fn)
    args = parser.parse_args(argv)
    args.names = getattr(args, "names", [])
    unknown = [n for n in args.names if n not in NAMES]
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(unknown)}; known: {', '.join(NAMES)}")
    try:
        args.fn(args)
    except ManifestError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
