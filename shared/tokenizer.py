"""The course tokenizer: a 1024-token byte-level BPE trained on the shared data sets.

    from llm901_shared.tokenizer import load_tokenizer
    tok = load_tokenizer()                       # transformers.PreTrainedTokenizerFast
    ids = tok("Tom likes cake.")["input_ids"]    # no special tokens are added: add BOS/EOS yourself
    tok.decode(ids) == "Tom likes cake."         # exact round trip, for any text

Why these choices:
  - byte-level (GPT-2 style: every byte is a token, then merges), so nothing is ever unknown and
    decode(encode(x)) == x for every string, with no normalisation at all (no lowercasing, no Unicode
    normalisation, spaces kept as they are); `<|unk|>` exists for libraries that want one, but never occurs;
  - the GPT-2 pre-tokenizer splits before spaces and punctuation, so a word with its leading space is
    one or a few tokens and tokens never cross a word boundary (toystories' next-token distributions rely
    on this);
  - 1024 tokens: the toy vocabulary's words are mostly single tokens, yet the embedding of a tiny LM
    stays small (1024 x 128 = 131k parameters).
Special tokens: <|pad|> = 0, <|bos|> = 1, <|eos|> = 2, <|unk|> = 3.

The file shared/assets/tokenizer.json is committed and is the reference; data_manifests/tokenizer.json
holds its sha256, vocabulary size and training data.  Course staff retrain it (after a generator change)
with `python -m llm901_shared.data tokenizer`.
"""

from __future__ import annotations

import json
from pathlib import Path

ASSET = Path(__file__).resolve().parent / "assets" / "tokenizer.json"
VOCAB_SIZE = 1024
MIN_FREQUENCY = 2
PAD, BOS, EOS, UNK = "<|pad|>", "<|bos|>", "<|eos|>", "<|unk|>"
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK)
# What the tokenizer is trained on: the training split(s) of every data set, in this order.
TRAINING_SPLITS = {
    "toystories": ("train",),
    "arith": ("train",),
    "tasks": ("train",),
    "prefs": ("train",),
    "webdocs": ("train",),
    "kb": ("facts", "questions"),
}


def load_tokenizer(path: str | Path | None = None):
    """The course tokenizer as a `transformers.PreTrainedTokenizerFast` with pad/bos/eos/unk set."""
    from transformers import PreTrainedTokenizerFast

    path = Path(path) if path else ASSET
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; it is committed with the repository (retrain: "
                                f"`python -m llm901_shared.data tokenizer`)")  # fmt: skip
    return PreTrainedTokenizerFast(
        tokenizer_file=str(path),
        pad_token=PAD,
        bos_token=BOS,
        eos_token=EOS,
        unk_token=UNK,
        clean_up_tokenization_spaces=False,  # True would turn " ." into "." on decode
    )


def training_texts(data_dir=None) -> list[str]:
    """The texts the tokenizer is trained on (each record's `record_text`), built and checked first."""
    from .data import read_records, registry

    texts = []
    for name, splits in TRAINING_SPLITS.items():
        spec = registry.get(name)
        for split in splits:
            texts += [spec.record_text(r) for r in read_records(name, split, data_dir)]
    return texts


def train_tokenizer(texts, vocab_size: int = VOCAB_SIZE, min_frequency: int = MIN_FREQUENCY):
    """Train a byte-level BPE (`tokenizers.Tokenizer`) on an iterable of strings."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes, seen or not
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def tokenizer_json(tok) -> str:
    """The serialised tokenizer exactly as committed (pretty JSON, so that diffs are readable)."""
    return tok.to_str(pretty=True) + "\n"


def vocab_size(path: str | Path | None = None) -> int:
    """Vocabulary size of the committed tokenizer, special tokens included."""
    spec = json.loads(Path(path or ASSET).read_text())
    return len(spec["model"]["vocab"]) + sum(1 for t in spec["added_tokens"] if t["content"] not in spec["model"]["vocab"])
