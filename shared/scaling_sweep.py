"""The scaling sweep of lab w04-1: tiny GPTs on toystories, a grid of sizes x token budgets, run once.

    .venv/bin/python -m llm901_shared.scaling_sweep          # writes shared/assets/scaling_sweep.csv

Each (N, D) point is its own run whose learning-rate schedule (linear warm-up, cosine decay to 10%)
ends exactly at D tokens: Chinchilla's correction of Kaplan et al., whose points came from truncating
longer runs. The longest run of every size is also evaluated at the smaller budgets before its schedule
ends; those rows have schedule="truncated" so the lab can show the bias of that shortcut.

Shape variants (Bian et al., 2025): models of about the same non-embedding size but different depth,
trained on the same budget; for every model the table holds the median wall time of a batch-1 forward
over a 32-token prefix (the cost of one decoding step without a KV cache) on this machine.

Columns: kind (grid|shape), schedule (own|truncated), n_layer, n_embd, n_params (non-embedding parameters
counted from the model: attention, MLP and norms, about 12 * n_layer * n_embd^2), n_params_total, tokens,
val_loss (nats/token on a fixed validation sample), latency_ms, seconds (training wall time).
The header comment lines (#) record the machine, torch version, load average and total time.
"""

from __future__ import annotations

import csv
import math
import os
import platform
import time
from pathlib import Path

import torch

from .lm_data import random_batch, token_blocks
from .model import GPT, GPTConfig
from .utils import set_threads

OUT = Path(__file__).parent / "assets" / "scaling_sweep.csv"
SEQ_LEN = 64
BATCH = 16  # 1024 tokens per step
GRID_SIZES = [(2, 16), (2, 32), (3, 48), (4, 64)]  # (n_layer, n_embd)
GRID_TOKENS = [2**16, 2**17, 2**18, 2**19]
SHAPES = [(1, 64), (4, 32), (8, 22)]  # about 48k non-embedding parameters each, at depths 1, 4 and 8
SHAPE_TOKENS = 2**18
VAL_BLOCKS = 256
LR_TIMES_WIDTH = 0.2  # peak lr = 0.2 / n_embd: narrow models want larger steps (a muP-like rule of thumb)


def non_embedding_params(model: GPT) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if "emb" not in n)


@torch.no_grad()
def evaluate(model: GPT, val: torch.Tensor) -> float:
    model.eval()
    losses = [model(v[:, :-1], v[:, 1:])[1].item() for v in val.split(64)]
    model.train()
    return float(sum(losses) / len(losses))


@torch.no_grad()
def batch1_latency_ms(model: GPT, repeats: int = 30) -> float:
    model.eval()
    x = torch.zeros(1, 32, dtype=torch.long)
    times = []
    for _ in range(repeats + 5):
        t0 = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - t0)
    model.train()
    times = sorted(times[5:])
    return 1000 * times[len(times) // 2]


def train_run(n_layer, n_embd, tokens, train, val, seed=0, checkpoints=()):
    """Train one model for `tokens` tokens with a schedule ending there; returns (model, {tokens: loss})."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    n_head = max(1, n_embd // 16)
    cfg = GPTConfig(vocab_size=1024, n_layer=n_layer, n_head=n_head, n_embd=n_embd, attn_impl="sdpa")
    model = GPT(cfg)
    peak_lr = LR_TIMES_WIDTH / n_embd
    opt = torch.optim.AdamW(model.parameters(), lr=peak_lr, betas=(0.9, 0.95), weight_decay=0.1)
    steps = tokens // (BATCH * SEQ_LEN)
    warmup = max(1, steps // 10)

    def lr_at(s):
        if s < warmup:
            return peak_lr * (s + 1) / warmup
        progress = (s - warmup) / max(1, steps - warmup)
        return peak_lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    seen = {}
    for s in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(s)
        x, y = random_batch(train, BATCH, g)
        loss = model(x, y)[1]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        done = (s + 1) * BATCH * SEQ_LEN
        if done in checkpoints:
            seen[done] = evaluate(model, val)
    seen[tokens] = evaluate(model, val)
    return model, seen


def main() -> None:
    set_threads(1)
    start = time.time()
    load_before = os.getloadavg()
    train = token_blocks("toystories", "train", SEQ_LEN)
    val = token_blocks("toystories", "validation", SEQ_LEN)[:VAL_BLOCKS]
    rows = []

    def row(kind, schedule, model, n_layer, n_embd, tokens, loss, latency, seconds):
        rows.append(dict(kind=kind, schedule=schedule, n_layer=n_layer, n_embd=n_embd,
                         n_params=non_embedding_params(model), n_params_total=model.num_params(),
                         tokens=tokens, val_loss=round(loss, 5), latency_ms=round(latency, 4),
                         seconds=round(seconds, 2)))
        print(rows[-1], flush=True)

    for n_layer, n_embd in GRID_SIZES:
        for tokens in GRID_TOKENS:
            t0 = time.time()
            checkpoints = tuple(t for t in GRID_TOKENS if t < tokens) if tokens == max(GRID_TOKENS) else ()
            model, seen = train_run(n_layer, n_embd, tokens, train, val, checkpoints=checkpoints)
            latency = batch1_latency_ms(model)
            row("grid", "own", model, n_layer, n_embd, tokens, seen[tokens], latency, time.time() - t0)
            for t in checkpoints:
                row("grid", "truncated", model, n_layer, n_embd, t, seen[t], latency, 0.0)
    for n_layer, n_embd in SHAPES:
        t0 = time.time()
        model, seen = train_run(n_layer, n_embd, SHAPE_TOKENS, train, val)
        row("shape", "own", model, n_layer, n_embd, SHAPE_TOKENS, seen[SHAPE_TOKENS],
            batch1_latency_ms(model), time.time() - t0)

    total = time.time() - start
    OUT.parent.mkdir(exist_ok=True)
    with open(OUT, "w", newline="") as f:
        f.write("# scaling sweep of lab w04-1, written by python -m llm901_shared.scaling_sweep\n")
        f.write(f"# machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus, "
                f"torch {torch.__version__}, 1 thread, load average before {load_before[0]:.1f}, "
                f"after {os.getloadavg()[0]:.1f} (shared machine)\n")
        f.write(f"# total wall time {total:.0f} s; batch {BATCH} x {SEQ_LEN} tokens, AdamW peak lr {LR_TIMES_WIDTH}/n_embd, "
                f"warm-up 10% then cosine to 10% ending at each run's own budget; "
                f"validation: {VAL_BLOCKS} blocks of toystories' validation split\n")
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {OUT} in {total:.0f} s")


def load(path: Path | str = OUT) -> list[dict]:
    """The committed sweep table as a list of dicts (numbers converted), header comments skipped."""
    with open(path) as f:
        lines = [line for line in f if not line.startswith("#")]
    out = []
    for r in csv.DictReader(lines):
        out.append({k: (v if k in ("kind", "schedule") else float(v)) for k, v in r.items()})
    return out


if __name__ == "__main__":
    main()
