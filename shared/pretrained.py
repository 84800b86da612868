"""The course's pretrained tiny LMs: how they are trained, evaluated, described and loaded.

    from llm901_shared.pretrained import load_pretrained, complete
    model, tok = load_pretrained("target")          # LlamaForCausalLM (eval mode, eager attention) + tokenizer
    draft, _ = load_pretrained("draft")             # same tokenizer, several times fewer parameters
    ids = tok("Once upon a time,", return_tensors="pt").input_ids     # [BOS, ...]: BOS is added for you
    out = model.generate(ids, max_new_tokens=30, do_sample=False)
    complete(model, tok, ["Give the first word.\n\nInput: fox key red\nOutput:"])   # -> [" fox"]

Two `LlamaForCausalLM` checkpoints live in shared/assets/models/{target,draft}/ (safetensors, fp32, with
the tokenizer), described by data_manifests/model-{target,draft}.json: sha256 of every file, parameter
counts, the training recipe and the evaluation (validation loss per data set against the unigram
baseline and, for toystories, the best achievable loss; accuracy on every `tasks` task zero-shot and
few-shot, per phrasing of the instruction and per prompt format).  Being plain Llama models, they work
with `generate`, `output_attentions=True` (eager attention, the default here), assisted generation
(`generate(..., assistant_model=draft)`) and peft.

Conventions a lab must know:
  - every training document started with BOS (id 1) and ended with EOS (id 2).  The tokenizer saved with
    the models adds BOS in front of every text (`tok(text)`), so the usual `model(**enc, labels=ids)`
    gives the loss of the text plus nothing for BOS; it never adds EOS.  (`llm901_shared.tokenizer.
    load_tokenizer()` is the same vocabulary without the automatic BOS.)  A document's loss, as in the
    manifests and `toystories.split_entropy`, counts the text's tokens plus one EOS, BOS being given.
  - context 256 (training rows); positions beyond are RoPE extrapolation (for w11-2, on purpose).
  - what the models never saw: the `kb` data set (w09-1 needs its questions unseen; ages and months of
    the characters appear nowhere else), the `tasks` task(s) in HELD_OUT_TASKS (a new task for LoRA in
    w12-1), and the instruction phrasings in HELD_OUT_PHRASINGS (so that the wording of an instruction
    matters, for w13-1/w13-2).

Training data (the mix, re-drawn every epoch; see `epoch_documents`): toystories train (stories, facts,
Q&A), arith train (question + step-by-step solution), prefs train (prompt + chosen response), and task
prompts built from the tasks train split exactly as `tasks.few_shot_prompt` builds them, followed by
the answer: k in {0, 1, 2, 3, 4, 6, 8} demos, formats io/qa/arrow/colon, with the canonical
instruction, another seen phrasing, or (with demos) no instruction at all.  Whole documents are packed
into rows of 256 tokens; AdamW, linear warm-up then cosine decay.

Sizes (SPECS): target hidden 128, 4 layers, 4 heads, SwiGLU 384 (1.1M parameters, a quarter of them in
the input and output embeddings); draft hidden 64, 2 layers, 2 heads, SwiGLU 192 (0.24M, 4.7x fewer).
Both see the same 1500 steps of 8 x 256 tokens (~2.4 epochs of the mix).  They are sized so that
training fits about ten minutes of two CPU cores: a single-threaded step of the target takes ~0.4 s on
an idle core.

Command line (the Makefile's `make models`):
    python -m llm901_shared.pretrained train      # train both (in parallel, one thread each), save,
                                                  # evaluate, write the manifests (~12 min on 2 idle
                                                  # cores; 20 min measured on a machine shared with
                                                  # other jobs, see the manifests' training records)
    python -m llm901_shared.pretrained evaluate   # re-evaluate the committed checkpoints; compare with
                                                  # the manifests (--write to store the new numbers)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .data import read_records
from .data import tasks as T
from .data.rng import Rng
from .tokenizer import BOS, load_tokenizer

PACKAGE_DIR = Path(__file__).resolve().parent
MODELS_DIR = PACKAGE_DIR / "assets" / "models"
NAMES = ("target", "draft")
MANIFEST_VERSION = 1
TRAIN_COMMAND = "python -m llm901_shared.pretrained train"
LICENSE = "CC0-1.0, trained by this repository on its own generated data"
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2

HELD_OUT_TASKS = ("last",)  # never trained on: the "new task" of the LoRA lab (w12-1)
HELD_OUT_PHRASINGS = (6, 7, 8)  # phrasing indices never shown in training (0 is canonical)
TRAIN_TASKS = tuple(t for t in T.TASK_NAMES if t not in HELD_OUT_TASKS)
SEEN_PHRASINGS = tuple(p for p in range(9) if p not in HELD_OUT_PHRASINGS)


# ---- what is trained ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arch:
    """The Llama configuration of a checkpoint (everything else is LlamaConfig's default)."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    intermediate_size: int
    max_position_embeddings: int = 256

    def config(self, attn_implementation: str = "sdpa"):
        from transformers import LlamaConfig

        return LlamaConfig(
            vocab_size=1024,
            hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads,
            num_key_value_heads=self.num_key_value_heads,
            head_dim=self.hidden_size // self.num_attention_heads,
            max_position_embeddings=self.max_position_embeddings,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            rms_norm_eps=1e-6,
            hidden_act="silu",
            attention_bias=False,
            mlp_bias=False,
            # untied: quantising or LoRA-adapting lm_head then never silently changes the input embedding
            tie_word_embeddings=False,
            initializer_range=0.02,
            pad_token_id=PAD_ID,
            bos_token_id=BOS_ID,
            eos_token_id=EOS_ID,
            attn_implementation=attn_implementation,
        )


@dataclass(frozen=True)
class Recipe:
    steps: int
    batch_rows: int  # rows of `seq_len` tokens per step (whole documents packed, padding ignored)
    lr: float  # peak learning rate
    warmup_steps: int
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio
    seq_len: int = 256
    weight_decay: float = 0.1  # on matrices only (not on norms)
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    grad_clip: float = 1.0
    seed: int = 901
    task_examples_per_epoch: int = 9000


# Which records go into one epoch of training (each epoch re-draws the task prompts and the packing).
MIX = {
    "toystories": "train split, all 12000 records, text",
    "arith": "train split, all 4000 records, question + newline + correct step-by-step solution",
    "prefs": "train split, all 4000 records, prompt + newline + chosen response (never the rejected one)",
    "tasks": "task_examples_per_epoch few-shot prompts + answers built from the train split (see epoch_documents)",
    "kb": "not used (w09-1 needs it unseen)",
    "webdocs": "not used (the noisy synthetic crawl of the data-curation lab)",
}
SHOTS = {0: 6, 1: 2, 2: 3, 3: 2, 4: 3, 6: 2, 8: 2}  # k -> weight: how many demos a training prompt has
FORMAT_WEIGHTS = {"io": 5, "qa": 2, "arrow": 2, "colon": 2}
NO_INSTRUCTION = (1, 4)  # with k >= 1 demos: probability 1/4 of no instruction (learn the task from demos)
CANONICAL = (2, 5)  # otherwise: canonical phrasing with probability 2/5, else a seen non-canonical one

SPECS: dict[str, tuple[Arch, Recipe]] = {
    "target": (
        Arch(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4, intermediate_size=384),
        Recipe(steps=1500, batch_rows=8, lr=3e-3, warmup_steps=60),
    ),
    "draft": (
        Arch(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2, intermediate_size=192),
        Recipe(steps=1500, batch_rows=8, lr=5e-3, warmup_steps=60),
    ),
}


# ---- the training data ----------------------------------------------------------------------------------------


def task_pools(split: str = "train") -> dict[str, list[dict]]:
    """The records of a tasks split, grouped by task (the demos and queries of training prompts)."""
    pools: dict[str, list[dict]] = {t: [] for t in T.TASK_NAMES}
    for r in read_records("tasks", split):
        pools[r["task"]].append(r)
    return pools


def _weighted(rng: Rng, weights: dict):
    keys = list(weights)
    return keys[rng.weighted_index([weights[k] for k in keys])]


def task_example(rng: Rng, pools: dict[str, list[dict]]) -> str:
    """One training prompt plus its answer, built exactly as `tasks.few_shot_prompt` builds prompts."""
    task = rng.choice(TRAIN_TASKS)
    k = _weighted(rng, SHOTS)
    picked = rng.sample(pools[task], k + 1)  # distinct records: the query is never one of its demos
    query, demos = picked[0], picked[1:]
    if k > 0 and rng.chance(*NO_INSTRUCTION):
        instruction = None
    elif rng.chance(*CANONICAL):
        instruction = T.TASKS[task].phrasings[0]
    else:
        instruction = T.TASKS[task].phrasings[rng.choice(SEEN_PHRASINGS[1:])]
    fmt = _weighted(rng, FORMAT_WEIGHTS)
    return T.few_shot_prompt(demos, query["input"], fmt, instruction) + T.completion(query["output"])


def source_texts(name: str, split: str) -> list[str]:
    """The texts of a data set as the models see them (for training and for validation losses)."""
    rows = read_records(name, split)
    if name == "toystories":
        return [r["text"] for r in rows]
    if name == "arith":
        return [r["question"] + "\n" + r["solution"] for r in rows]
    if name == "prefs":
        return [r["prompt"] + "\n" + r["chosen"] for r in rows]
    if name == "tasks":  # validation: the record's own zero-shot prompt and answer
        return [r["prompt"] + r["completion"] for r in rows]
    raise KeyError(f"{name} is not part of the models' data")


def epoch_documents(epoch: int, recipe: Recipe, pools: dict | None = None, fixed: dict | None = None) -> list[tuple[str, str]]:
    """(source, text) for every document of one epoch: the fixed corpora plus fresh task prompts."""
    pools = pools or task_pools()
    fixed = fixed or {n: source_texts(n, "train") for n in ("toystories", "arith", "prefs")}
    docs = [(n, t) for n, texts in fixed.items() for t in texts]
    rng = Rng("pretrained", recipe.seed, "tasks", epoch)
    docs += [("tasks", task_example(rng, pools)) for _ in range(recipe.task_examples_per_epoch)]
    return docs


def pack(docs: list[list[int]], seq_len: int, rng: Rng, max_open: int = 32, min_room: int = 12) -> list[list[int]]:
    """Shuffle whole documents into rows of <= seq_len tokens (first fit among the last `max_open` rows).

    Documents are never cut (none is longer than seq_len here), so each row starts with a BOS at
    position 0, as at inference; rows are ~98% full.
    """
    order = rng.shuffle(list(range(len(docs))))
    rows: list[list[int]] = []
    open_rows: list[int] = []
    for i in order:
        d = docs[i][:seq_len]
        for j, r in enumerate(open_rows):
            if len(rows[r]) + len(d) <= seq_len:
                rows[r].extend(d)
                if seq_len - len(rows[r]) < min_room:
                    open_rows.pop(j)
                break
        else:
            rows.append(list(d))
            open_rows.append(len(rows) - 1)
            if len(open_rows) > max_open:
                open_rows.pop(0)
    return rng.shuffle(rows)


def rows_to_batch(rows: list[list[int]], seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, labels): padding and BOS are never targets (BOS is given, as at inference)."""
    x = torch.full((len(rows), seq_len), PAD_ID, dtype=torch.long)
    for i, r in enumerate(rows):
        x[i, : len(r)] = torch.tensor(r)
    labels = x.clone()
    labels[(x == PAD_ID) | (x == BOS_ID)] = -100
    return x, labels


def lr_at(step: int, recipe: Recipe) -> float:
    """Linear warm-up to the peak, then cosine down to min_lr_ratio * peak at the last step."""
    if step < recipe.warmup_steps:
        return recipe.lr * (step + 1) / recipe.warmup_steps
    progress = (step - recipe.warmup_steps) / max(1, recipe.steps - recipe.warmup_steps)
    return recipe.lr * (recipe.min_lr_ratio + (1 - recipe.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


# ---- training ----------------------------------------------------------------------------------------------------


def train_one(name: str, out_dir: str | Path, threads: int = 1, arch: Arch | None = None,
              recipe: Recipe | None = None, log_every: int = 50) -> dict:  # fmt: skip
    """Train one model from scratch and save it (model + tokenizer) into out_dir; returns the training record."""
    from transformers import LlamaForCausalLM

    torch.set_num_threads(threads)
    arch = arch or SPECS[name][0]
    recipe = recipe or SPECS[name][1]
    torch.manual_seed(recipe.seed)
    tok = load_tokenizer()
    model = LlamaForCausalLM(arch.config("sdpa"))  # sdpa for speed; loading switches to eager
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=recipe.lr, betas=recipe.betas, eps=recipe.eps,
    )  # fmt: skip

    pools = task_pools()
    fixed = {n: source_texts(n, "train") for n in ("toystories", "arith", "prefs")}
    epoch, rows, cursor = -1, [], 0
    tokens_by_source: Counter = Counter()
    tokens_seen = 0
    t0 = time.time()
    load_start = os.getloadavg()[0]  # other jobs on the machine slow training down; recorded with the wall time
    losses = []
    for step in range(recipe.steps):
        if cursor + recipe.batch_rows > len(rows):  # next epoch: fresh task prompts, fresh packing
            epoch += 1
            docs = epoch_documents(epoch, recipe, pools, fixed)
            ids = tok([t for _, t in docs], add_special_tokens=False)["input_ids"]
            if epoch == 0:  # predicted tokens (text + EOS; BOS is given), the unit of tokens_seen
                for (src, _), x in zip(docs, ids, strict=True):
                    tokens_by_source[src] += len(x) + 1
            rows = pack([[BOS_ID, *x, EOS_ID] for x in ids], recipe.seq_len, Rng("pretrained", recipe.seed, "pack", epoch))
            cursor = 0
        x, labels = rows_to_batch(rows[cursor: cursor + recipe.batch_rows], recipe.seq_len)
        cursor += recipe.batch_rows
        tokens_seen += int((labels != -100).sum())
        for g in opt.param_groups:
            g["lr"] = lr_at(step, recipe)
        loss = model(input_ids=x, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if (step + 1) % log_every == 0 or step == 0:
            el = time.time() - t0
            print(f"[{name}] step {step + 1}/{recipe.steps} loss {sum(losses[-log_every:]) / len(losses[-log_every:]):.4f} "
                  f"lr {lr_at(step, recipe):.2e} epoch {epoch} {tokens_seen / el:.0f} tok/s {el:.0f}s", flush=True)  # fmt: skip
    wall = time.time() - t0
    save(model, tok, out_dir)
    tokens_per_epoch = sum(tokens_by_source.values())
    return {
        "name": name,
        "arch": asdict(arch),
        "recipe": {**asdict(recipe), "betas": list(recipe.betas)},
        "tokens_per_epoch_by_source": dict(tokens_by_source),
        "tokens_per_epoch": tokens_per_epoch,
        "tokens_seen": tokens_seen,
        "epochs": round(tokens_seen / tokens_per_epoch, 3),
        "final_train_loss": round(sum(losses[-100:]) / len(losses[-100:]), 4),
        "wall_time_seconds": round(wall, 1),
        "steps_per_second": round(recipe.steps / wall, 3),
        "threads": threads,
        "load_average_1min_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)],
    }


def model_tokenizer():
    """The course tokenizer, set to add BOS in front of every text (what the checkpoints expect)."""
    from tokenizers.processors import TemplateProcessing

    tok = load_tokenizer()
    tok.backend_tokenizer.post_processor = TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, BOS_ID)]
    )
    return tok


def save(model, tok, out_dir: str | Path) -> None:
    """model.save_pretrained (safetensors) + the tokenizer, into a fresh directory."""
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model.generation_config.pad_token_id = PAD_ID
    model.generation_config.bos_token_id = BOS_ID
    model.generation_config.eos_token_id = EOS_ID
    model.save_pretrained(out, safe_serialization=True)
    model_tokenizer().save_pretrained(out)


# ---- loading -----------------------------------------------------------------------------------------------------


def model_dir(name: str) -> Path:
    if name not in NAMES:
        raise KeyError(f"unknown pretrained model {name!r}; the models are: {', '.join(NAMES)}")
    return MODELS_DIR / name


def manifest_path(name: str) -> Path | None:
    """data_manifests/model-<name>.json in a checkout (LLM901_MANIFEST_DIR if set), else None."""
    from .data import registry

    mdir = registry.manifest_dir()
    return mdir / f"model-{name}.json" if mdir else None


def read_manifest(name: str) -> dict:
    path = manifest_path(name)
    if path is None or not path.is_file():
        raise FileNotFoundError(f"no manifest for the {name} model ({path}); `{TRAIN_COMMAND}` writes it")
    return json.loads(path.read_text())


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def verify(name: str) -> None:
    """Raise if the files of a checkpoint differ from its manifest (missing, extra or changed files)."""
    m = read_manifest(name)
    d = model_dir(name)
    present = sorted(p.name for p in d.iterdir() if p.is_file()) if d.is_dir() else []
    if present != sorted(m["files"]):
        raise RuntimeError(f"{d}: files {present} differ from the manifest's {sorted(m['files'])}")
    for fname, entry in m["files"].items():
        if sha256_file(d / fname) != entry["sha256"]:
            raise RuntimeError(f"{d / fname} differs from its manifest (sha256); re-checkout it or retrain "
                               f"with `{TRAIN_COMMAND}`")  # fmt: skip


def load_pretrained(name: str = "target", *, attn_implementation: str = "eager", dtype=torch.float32,
                    check: bool = True):  # fmt: skip
    """(model, tokenizer) of a committed checkpoint, offline.  `name`: "target" or "draft".

    attn_implementation: "eager" (default: returns attention weights) or "sdpa" (faster, no weights).
    check: compare the files' sha256 with the manifest first (skipped when there is no manifest, e.g.
    outside a checkout).  The model is in eval mode; the tokenizer adds BOS to every text.
    """
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast
    from transformers.utils import logging as hf_logging

    d = model_dir(name)
    if not (d / "model.safetensors").is_file():
        raise FileNotFoundError(f"{d} has no checkpoint; it is committed with the repository "
                                f"(course staff rebuild it with `{TRAIN_COMMAND}`)")  # fmt: skip
    if check and manifest_path(name) is not None and manifest_path(name).is_file():
        verify(name)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bar in notebooks and grading logs
    try:
        model = LlamaForCausalLM.from_pretrained(d, local_files_only=True, attn_implementation=attn_implementation,
                                                 dtype=dtype)  # fmt: skip
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    tok = PreTrainedTokenizerFast.from_pretrained(d, local_files_only=True)
    return model.eval(), tok


# ---- evaluation ------------------------------------------------------------------------------------------------


def _encode(tok, texts: list[str]) -> list[list[int]]:
    """BOS + tokens of each text (independent of whether `tok` adds BOS itself)."""
    return [[BOS_ID, *x] for x in tok(list(texts), add_special_tokens=False)["input_ids"]]


@torch.no_grad()
def loss_per_token(model, tok, texts: list[str], batch_size: int = 32, prefixes: list[str] | None = None) -> tuple[float, int]:
    """Mean NLL (nats) per predicted token over `texts`: each is BOS + text + EOS, BOS given.

    Token-weighted (total NLL / total tokens), the convention of `toystories.split_entropy`.  With
    `prefixes`, the sequence is BOS + prefix + text + EOS and only the text and EOS are scored (e.g. a
    task's answer given its prompt).
    """
    seqs = [[*x, EOS_ID] for x in _encode(tok, texts)]
    skip = [0] * len(seqs)
    if prefixes is not None:
        pre = _encode(tok, prefixes)
        seqs = [p + s[1:] for p, s in zip(pre, seqs, strict=True)]
        skip = [len(p) - 1 for p in pre]  # targets before the text's first token are not scored
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    total, count = 0.0, 0
    for s in range(0, len(order), batch_size):
        idx = order[s: s + batch_size]
        L = max(len(seqs[i]) for i in idx)
        x = torch.full((len(idx), L), PAD_ID, dtype=torch.long)
        for r, i in enumerate(idx):
            x[r, : len(seqs[i])] = torch.tensor(seqs[i])
        # right padding needs no attention mask: a causal model never looks at the padding on its right
        logits = model(input_ids=x).logits[:, :-1].float()
        targets = x[:, 1:].clone()
        pos = torch.arange(L - 1)[None, :]
        lengths = torch.tensor([len(seqs[i]) for i in idx])[:, None]
        first = torch.tensor([skip[i] for i in idx])[:, None]
        targets[(pos >= lengths - 1) | (pos < first)] = -100
        total += F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100, reduction="sum").item()
        count += int((targets != -100).sum())
    return total / count, count


def unigram_loss(tok, train_texts: list[str], eval_texts: list[str], vocab_size: int = 1024) -> float:
    """Loss of the best context-free model: token frequencies of the training texts (+EOS), add-1/2 smoothed."""
    counts = torch.zeros(vocab_size, dtype=torch.float64)
    for x in _encode(tok, train_texts):
        counts += torch.bincount(torch.tensor([*x[1:], EOS_ID]), minlength=vocab_size).double()
    logp = torch.log((counts + 0.5) / (counts.sum() + 0.5 * vocab_size))
    ids = torch.tensor([t for x in _encode(tok, eval_texts) for t in (*x[1:], EOS_ID)])
    return float(-logp[ids].mean())


@torch.no_grad()
def complete(model, tok, prompts: list[str], max_new_tokens: int = 16, batch_size: int = 64) -> list[str]:
    """Greedy continuation of each prompt (BOS added), cut at the first newline or EOS.

    Batched with left padding; the result is the decoded text after the prompt (e.g. " fox").
    """
    newline = tok.convert_tokens_to_ids("\u010a")  # byte-level BPE's "\n"
    seqs = _encode(tok, prompts)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out: list[str] = [""] * len(seqs)
    for s in range(0, len(order), batch_size):
        idx = order[s: s + batch_size]
        L = max(len(seqs[i]) for i in idx)
        x = torch.full((len(idx), L), PAD_ID, dtype=torch.long)
        mask = torch.zeros((len(idx), L), dtype=torch.long)
        for r, i in enumerate(idx):
            x[r, L - len(seqs[i]):] = torch.tensor(seqs[i])
            mask[r, L - len(seqs[i]):] = 1
        gen = model.generate(input_ids=x, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False,
                             eos_token_id=[EOS_ID, newline], pad_token_id=PAD_ID)  # fmt: skip
        for r, i in enumerate(idx):
            new = gen[r, L:].tolist()
            for j, t in enumerate(new):
                if t in (EOS_ID, newline, PAD_ID):
                    new = new[:j]
                    break
            out[i] = tok.decode(new, skip_special_tokens=True)
    return out


EVAL_SEED = 913
MAX_SHOTS = 8


def eval_demos(record: dict, pools: dict[str, list[dict]]) -> list[dict]:
    """The fixed demos of a validation record: 8 train records of its task; k-shot uses the first k."""
    return Rng("pretrained-eval", EVAL_SEED, record["id"]).sample(pools[record["task"]], MAX_SHOTS)


def task_prompt(record: dict, pools, k: int, phrasing: int | None = 0, fmt: str = "io") -> str:
    """The evaluation prompt of a validation record: k demos, phrasing index (None: no instruction), format."""
    instruction = None if phrasing is None else T.TASKS[record["task"]].phrasings[phrasing]
    return T.few_shot_prompt(eval_demos(record, pools)[:k], record["input"], fmt, instruction)


def accuracy(model, tok, records: list[dict], pools, k: int, phrasing: int | None = 0, fmt: str = "io") -> float:
    preds = complete(model, tok, [task_prompt(r, pools, k, phrasing, fmt) for r in records])
    return sum(T.is_correct(p, r["output"]) for p, r in zip(preds, records, strict=True)) / len(records)


# The evaluation settings reported for every task (k demos, instruction phrasing, format).
SHOT_SETTINGS = (0, 1, 2, 4, 8)
FORMATS_K = 2  # formats are compared with this many demos (zero-shot "arrow"/"colon" prompts are ambiguous)
CHECK_TOYSTORIES_RECORDS = 200  # what tests/test_models.py re-evaluates
CHECK_TASK, CHECK_TASK_RECORDS, CHECK_TASK_K = "sort", 40, 2  # a task neither model has mastered: sensitive


def evaluate_tasks(model, tok, per_task: int | None = None) -> dict:
    """Accuracy on the tasks validation split (100 records per task) in every setting."""
    pools = task_pools("train")
    by_task: dict[str, list[dict]] = {t: [] for t in T.TASK_NAMES}
    for r in read_records("tasks", "validation"):
        by_task[r["task"]].append(r)
    result = {}
    for task, records in by_task.items():
        records = records[:per_task] if per_task else records
        majority = Counter(r["output"] for r in records).most_common(1)[0][1] / len(records)
        res = {
            "records": len(records),
            "majority_baseline": round(majority, 3),
            "trained": task not in HELD_OUT_TASKS,
            "by_shots": {str(k): round(accuracy(model, tok, records, pools, k), 3) for k in SHOT_SETTINGS},
            "no_instruction_by_shots": {str(k): round(accuracy(model, tok, records, pools, k, None), 3) for k in SHOT_SETTINGS},
            "zero_shot_by_phrasing": [round(accuracy(model, tok, records, pools, 0, p), 3) for p in range(9)],
            f"{FORMATS_K}_shot_by_format": {f: round(accuracy(model, tok, records, pools, FORMATS_K, 0, f), 3) for f in T.FORMATS},
        }  # fmt: skip
        result[task] = res
        print(f"  {task:10s} k=0..8 {list(res['by_shots'].values())}  phrasings {res['zero_shot_by_phrasing']}", flush=True)
    return result


def summarise_tasks(per_task: dict) -> dict:
    """Means over the trained tasks: the headline numbers (zero/few-shot, wording, no instruction)."""
    trained = [t for t in per_task if per_task[t]["trained"]]

    def mean(xs):
        xs = list(xs)
        return round(sum(xs) / len(xs), 3)

    return {
        "over_tasks": trained,
        "majority_baseline": mean(per_task[t]["majority_baseline"] for t in trained),
        "by_shots_canonical": {k: mean(per_task[t]["by_shots"][k] for t in trained) for k in map(str, SHOT_SETTINGS)},
        "no_instruction_by_shots": {k: mean(per_task[t]["no_instruction_by_shots"][k] for t in trained) for k in map(str, SHOT_SETTINGS)},
        "zero_shot_canonical_phrasing": mean(per_task[t]["zero_shot_by_phrasing"][0] for t in trained),
        "zero_shot_seen_noncanonical_phrasings": mean(
            per_task[t]["zero_shot_by_phrasing"][p] for t in trained for p in SEEN_PHRASINGS[1:]),
        "zero_shot_held_out_phrasings": mean(
            per_task[t]["zero_shot_by_phrasing"][p] for t in trained for p in HELD_OUT_PHRASINGS),
        f"{FORMATS_K}_shot_by_format": {f: mean(per_task[t][f"{FORMATS_K}_shot_by_format"][f] for t in trained) for f in T.FORMATS},
        "tasks_above_2x_majority_zero_shot": sorted(
            t for t in trained if per_task[t]["by_shots"]["0"] >= max(0.2, 2 * per_task[t]["majority_baseline"])),
    }  # fmt: skip


def check_values(model, tok) -> dict:
    """The small fixed evaluation that tests/test_models.py reproduces (cheap: a few seconds)."""
    texts = source_texts("toystories", "validation")[:CHECK_TOYSTORIES_RECORDS]
    loss, n = loss_per_token(model, tok, texts)
    records = [r for r in read_records("tasks", "validation") if r["task"] == CHECK_TASK][:CHECK_TASK_RECORDS]
    acc = accuracy(model, tok, records, task_pools("train"), CHECK_TASK_K)
    return {
        "toystories_validation_first_records": CHECK_TOYSTORIES_RECORDS,
        "toystories_loss": round(loss, 5),
        "toystories_tokens": n,
        "task": CHECK_TASK,
        "task_records": CHECK_TASK_RECORDS,
        "task_shots": CHECK_TASK_K,
        "task_accuracy": round(acc, 4),
    }


def evaluate_model(model, tok) -> dict:
    """Everything the manifest reports about a model's quality."""
    from .data import toystories

    model.eval()
    losses = {}
    for name in ("toystories", "arith", "prefs", "tasks"):
        val = source_texts(name, "validation")
        loss, n = loss_per_token(model, tok, val)
        train = source_texts(name, "train")
        entry = {"split": "validation", "records": len(val), "tokens": n, "loss": round(loss, 4),
                 "unigram_loss": round(unigram_loss(tok, train, val), 4)}  # fmt: skip
        if name == "toystories":
            rep = toystories.split_entropy("validation")
            assert rep.tokens == n, "token counts must agree with split_entropy's (text + EOS per record)"
            entry["best_loss_per_token"] = round(rep.best_loss_per_token, 4)
            entry["entropy_per_token"] = round(rep.entropy_per_token, 4)
            entry["excess_over_best"] = round(loss - rep.best_loss_per_token, 4)
        if name == "tasks":  # the answer alone (" " + output + EOS) given the record's zero-shot prompt
            rows = read_records("tasks", "validation")
            entry["answer_loss"] = round(loss_per_token(model, tok, [r["completion"] for r in rows],
                                                        prefixes=[r["prompt"] for r in rows])[0], 4)  # fmt: skip
        losses[name] = entry
        print(f"  loss {name:10s} {loss:.4f} (unigram {entry['unigram_loss']:.4f})", flush=True)
    per_task = evaluate_tasks(model, tok)
    return {
        "loss": losses,
        "loss_note": "nats per predicted token (text tokens + 1 EOS per record, BOS given), token-weighted; "
                     "tasks validation = the record's own zero-shot prompt + answer (any phrasing, any task), "
                     "answer_loss = the answer and EOS only, given the prompt",
        "tasks": {
            "protocol": (
                "greedy decoding after BOS + prompt, cut at the first newline/EOS, exact match (tasks.is_correct) on "
                "the 100 validation records of each task; demos: 8 fixed train records per query "
                "(pretrained.eval_demos), k-shot uses the first k; format 'io' and the canonical instruction "
                "(phrasing 0) unless stated; zero_shot_by_phrasing[p] uses phrasing p (phrasings "
                f"{list(HELD_OUT_PHRASINGS)} never seen in training); no_instruction: demos and query only (k = 0: "
                "the query alone, so only tasks recognisable from their inputs can be solved)"
            ),
            "summary": summarise_tasks(per_task),
            "per_task": per_task,
        },
        "check": check_values(model, tok),
        "attn_implementation": model.config._attn_implementation,
    }


# ---- manifests ---------------------------------------------------------------------------------------------


def parameter_counts(model) -> dict:
    emb = model.model.embed_tokens.weight.numel()
    head = model.lm_head.weight.numel()
    total = sum(p.numel() for p in model.parameters())
    return {"total": total, "embedding": emb, "lm_head": head, "non_embedding": total - emb - head}


def write_manifest(name: str, training: dict, evaluation: dict) -> Path:
    import transformers

    d = model_dir(name)
    model, _ = load_pretrained(name, check=False)
    files = {p.name: {"bytes": p.stat().st_size, "sha256": sha256_file(p)} for p in sorted(d.iterdir()) if p.is_file()}
    cfg = model.config
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "name": f"model-{name}",
        "description": (
            f"The course's {name} LM: a LlamaForCausalLM trained from scratch by this repository on toystories, "
            "arith, prefs (chosen responses) and few-shot tasks prompts; never on kb, on the tasks task(s) "
            f"{list(HELD_OUT_TASKS)} or on the instruction phrasings {list(HELD_OUT_PHRASINGS)}. "
            "Used by w07-1, w10-2, w11-1, w11-2, w12-1, w13-1, w13-2 (and w09-2, w07-2, w08-1)."
        ),
        "license": LICENSE,
        "class": "LlamaForCausalLM",
        "path": f"shared/assets/models/{name}",
        "load": f"llm901_shared.pretrained.load_pretrained({name!r})",
        "build": TRAIN_COMMAND,
        "files": files,
        "total_bytes": sum(f["bytes"] for f in files.values()),
        "dtype": "float32",
        "parameters": parameter_counts(model),
        "config": {k: getattr(cfg, k) for k in (
            "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "head_dim", "max_position_embeddings", "rope_parameters", "rms_norm_eps",
            "hidden_act", "tie_word_embeddings", "bos_token_id", "eos_token_id", "pad_token_id")},  # fmt: skip
        "tokenizer": {
            "same_vocabulary_as": "shared/assets/tokenizer.json (data_manifests/tokenizer.json)",
            "adds_bos": True,
            "adds_eos": False,
        },
        "training": {
            **training,
            "data_mix": MIX,
            "task_prompts": {
                "tasks": list(TRAIN_TASKS),
                "shots_weights": {str(k): w for k, w in SHOTS.items()},
                "format_weights": FORMAT_WEIGHTS,
                "no_instruction_probability_with_demos": f"{NO_INSTRUCTION[0]}/{NO_INSTRUCTION[1]}",
                "canonical_probability_otherwise": f"{CANONICAL[0]}/{CANONICAL[1]}",
                "other_phrasings": list(SEEN_PHRASINGS[1:]),
            },
            "held_out": {"data_sets": ["kb", "webdocs"], "tasks": list(HELD_OUT_TASKS),
                         "phrasings": list(HELD_OUT_PHRASINGS)},  # fmt: skip
            "schedule": "linear warm-up over warmup_steps, then cosine decay to min_lr_ratio * lr at the last step",
            "packing": "whole documents (BOS text EOS) packed into rows of seq_len tokens; loss on every token but BOS and padding",
            "environment": {"torch": torch.__version__, "transformers": transformers.__version__,
                            "python": platform.python_version(), "machine": platform.machine(),
                            "cpus": os.cpu_count()},  # fmt: skip
        },
        "evaluation": evaluation,
    }
    path = manifest_path(name)
    if path is None:
        raise RuntimeError("manifests are written into a checkout's data_manifests/")
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=True) + "\n")
    return path


# ---- command line ----------------------------------------------------------------------------------------------


def train_and_evaluate(name: str, threads: int) -> tuple[dict, dict]:
    """Train one model into its directory, then evaluate the saved checkpoint (as a lab would load it)."""
    record = train_one(name, model_dir(name), threads=threads)
    torch.set_num_threads(threads)
    t0 = time.time()
    model, tok = load_pretrained(name, check=False, attn_implementation="sdpa")
    print(f"[{name}] evaluating", flush=True)
    evaluation = evaluate_model(model, tok)
    record["evaluation_wall_time_seconds"] = round(time.time() - t0, 1)
    return record, evaluation


def cmd_train(args) -> None:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    names = args.only or list(NAMES)
    t0 = time.time()
    if args.jobs > 1 and len(names) > 1:
        # Two single-threaded processes use two cores better than one process with two threads (small
        # matrices: threads spend much of their time waiting for each other, worse when other jobs run);
        # the draft, trained faster, is evaluated while the target still trains.
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
            futures = {n: pool.submit(train_and_evaluate, n, 1) for n in names}
            results = {n: f.result() for n, f in futures.items()}
    else:
        results = {n: train_and_evaluate(n, args.threads) for n in names}
    wall = time.time() - t0
    for n, (record, evaluation) in results.items():
        record["wall_time_seconds_train_command"] = round(wall, 1)
        record["parallel_jobs"] = args.jobs if len(names) > 1 else 1
        print(f"wrote {write_manifest(n, record, evaluation)}", flush=True)
    print(f"all done in {wall:.0f}s", flush=True)


def _compare(old, new, path="", tol=0.0) -> list[str]:
    """Differences between two evaluation trees (numbers beyond tol)."""
    if isinstance(old, dict):
        out = []
        for k in old:
            out += _compare(old[k], new.get(k) if isinstance(new, dict) else None, f"{path}.{k}", tol)
        return out
    if isinstance(old, list):
        if not isinstance(new, list) or len(new) != len(old):
            return [f"{path}: {old} -> {new}"]
        return [d for i, (a, b) in enumerate(zip(old, new, strict=True)) for d in _compare(a, b, f"{path}[{i}]", tol)]
    if isinstance(old, (int, float)) and not isinstance(old, bool) and isinstance(new, (int, float)):
        return [] if abs(old - new) <= tol else [f"{path}: {old} -> {new}"]
    return [] if old == new else [f"{path}: {old} -> {new}"]


def cmd_evaluate(args) -> int:
    torch.set_num_threads(args.threads)
    status = 0
    for n in args.only or list(NAMES):
        verify(n)
        print(f"evaluating {n} (files match the manifest)", flush=True)
        model, tok = load_pretrained(n, attn_implementation=args.attn)
        ev = evaluate_model(model, tok)
        m = read_manifest(n)
        diffs = _compare(m["evaluation"], ev, tol=args.tolerance)
        if args.write:
            m["evaluation"] = ev
            manifest_path(n).write_text(json.dumps(m, indent=2, ensure_ascii=True) + "\n")
            print(f"wrote the evaluation into {manifest_path(n)}")
        elif diffs:
            status = 1
            print(f"{n}: {len(diffs)} numbers differ from the manifest by more than {args.tolerance}:")
            print("\n".join("  " + d for d in diffs[:50]))
        else:
            print(f"{n}: the evaluation reproduces the manifest (tolerance {args.tolerance})")
        print(json.dumps(ev["tasks"]["summary"], indent=1))
    return status


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m llm901_shared.pretrained", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train the target and draft models, save them, write their manifests")
    t.add_argument("--only", nargs="*", choices=NAMES)
    t.add_argument("--jobs", type=int, default=2, help="models trained at once, one thread each (default 2)")
    t.add_argument("--threads", type=int, default=2, help="threads for evaluation and for --jobs 1 (default 2)")
    e = sub.add_parser("evaluate", help="re-evaluate the committed checkpoints and compare with the manifests")
    e.add_argument("--only", nargs="*", choices=NAMES)
    e.add_argument("--threads", type=int, default=2)
    e.add_argument("--tolerance", type=float, default=0.011, help="allowed difference per number (default 0.011)")
    e.add_argument("--write", action="store_true", help="store the new evaluation in the manifests")
    e.add_argument("--attn", default="sdpa", choices=("sdpa", "eager"), help="attention kernel (default sdpa, faster)")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.cmd == "train":
        cmd_train(args)
        return 0
    return cmd_evaluate(args)


if __name__ == "__main__":
    sys.exit(main())
