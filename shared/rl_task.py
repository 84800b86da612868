# API frozen
"""A verifiable toy task for RL on a tiny causal LM (labs w07-2 and w08-1): prompts, a reward checker,
a warm-started policy, a value model and batched token sampling.  Plumbing only: no log-probs, no
advantages, no losses (those are what the labs grade).

    from llm901_shared import rl_task as rt
    policy = rt.initial_policy(seed=0)          # GPT of shared/model.py, ~40 % reward at temperature 1
    g = torch.Generator().manual_seed(0)
    prompts, answers = rt.make_prompts(64, generator=g)          # (64, PROMPT_LEN) ids, (64,) sums
    roll = rt.sample(policy, prompts, generator=g)               # token sampling only, under no_grad
    roll["sequences"]       # (B, PROMPT_LEN + MAX_NEW_TOKENS) int64: prompt, response, PAD after END
    roll["response_mask"]   # (B, PROMPT_LEN + MAX_NEW_TOKENS) bool: True at response tokens (END included)
    roll["lengths"]         # (B,) int64: response tokens, END included
    r = rt.rewards(roll["sequences"], answers)                   # (B,) float32 in {0, 1}
    logits = rt.policy_logits(policy, roll["sequences"])         # (B, T, VOCAB_SIZE); logits[:, t] predict token t+1
    values = rt.ValueModel(seed=0)(roll["sequences"])            # (B, T) float32, one value per position

The task ("a+b=", a, b digits in 0..N_DIGITS-1 = 0..4).  Prompt: BOS a + b = (PROMPT_LEN = 5 tokens).
A response is the sum (one digit token, 0..8), then any number of FILLER tokens ".", then END; at most
MAX_NEW_TOKENS = 8 tokens.  The reward is 1 when the response, up to its first END, is exactly the sum's digits followed
by fillers only, and 0 otherwise (also 0 when no END comes within MAX_NEW_TOKENS: a truncated response).
The length is free: fillers change the length, never the reward (w08-1 measures length drift with it).

The policy.  `initial_policy(seed)` builds a small GPT (2 layers, width 48, learned positions) and
warm-starts it (WARM_START_STEPS = 250 AdamW steps, soft targets) on a noisy teacher that puts
probability P_TEACHER = 0.4 on the sum (the rest evenly on the 8 wrong sums) and then adds
Geometric(1/2) fillers before END; about 2.5 s of one CPU core the first time, cached per (seed, steps)
afterwards (each call returns a fresh copy).  Sampling at temperature 1 then gives about 40 % reward
(greedy decoding ~100 %: the knowledge is there, RL sharpens it), mean response length ~3 tokens,
~2 % truncated.

API (frozen; both labs import it):
    VOCAB, VOCAB_SIZE, PAD, BOS, END, FILLER, PLUS, EQUALS, DIGIT0, PROMPT_LEN, MAX_NEW_TOKENS, P_TEACHER,
    N_DIGITS, N_ANSWERS, WARM_START_STEPS
    encode(text) -> list[int];  decode(ids) -> str          (characters; "^" BOS, "$" END, "_" PAD)
    make_prompts(n, generator=None) -> (prompts (n, PROMPT_LEN) int64, answers (n,) int64)
    response_tokens(answer, n_fillers) -> list[int]        (a correct response: digits, fillers, END)
    rewards(sequences, answers) -> (B,) float32
    response_lengths(sequences) -> (B,) int64               (END included; MAX_NEW_TOKENS if truncated)
    make_policy(seed=0) -> GPT                              (untrained)
    initial_policy(seed=0, steps=WARM_START_STEPS) -> GPT   (warm-started, eval mode, fresh copy)
    policy_logits(model, sequences) -> (B, T, VOCAB_SIZE)
    sample(model, prompts, max_new_tokens=MAX_NEW_TOKENS, temperature=1.0, generator=None) -> dict
    ValueModel(seed=0)                                      nn.Module: (B, T) ids -> (B, T) values
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from .model import GPT, GPTConfig

VOCAB = "_^$0123456789+=."  # PAD, BOS, END, ten digits, plus, equals, filler
VOCAB_SIZE = len(VOCAB)
PAD, BOS, END = 0, 1, 2
DIGIT0 = 3
PLUS, EQUALS, FILLER = 13, 14, 15
PROMPT_LEN = 5
MAX_NEW_TOKENS = 8
P_TEACHER = 0.4
N_DIGITS = 5  # a, b in 0..4, so the sum is one digit token (0..8)
N_ANSWERS = 2 * N_DIGITS - 1
WARM_START_STEPS = 250
_CACHE: dict[tuple[int, int], dict] = {}


def encode(text: str) -> list[int]:
    return [VOCAB.index(c) for c in text]


def decode(ids) -> str:
    return "".join(VOCAB[int(i)] for i in ids)


def make_prompts(n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """n prompts "^a+b=" with digits a, b drawn uniformly; returns (prompts (n, 5) int64, answers a+b (n,))."""
    ab = torch.randint(0, N_DIGITS, (n, 2), generator=generator)
    prompts = torch.stack(
        [torch.full((n,), BOS), DIGIT0 + ab[:, 0], torch.full((n,), PLUS), DIGIT0 + ab[:, 1], torch.full((n,), EQUALS)], 1
    )
    return prompts.long(), ab.sum(1).long()


def response_tokens(answer: int, n_fillers: int = 0) -> list[int]:
    """A correct response: the sum's digits, n_fillers FILLER tokens, END."""
    return [DIGIT0 + int(c) for c in str(int(answer))] + [FILLER] * n_fillers + [END]


def _responses(sequences: torch.Tensor) -> list[list[int]]:
    return [row.tolist() for row in sequences[:, PROMPT_LEN:]]


def response_lengths(sequences: torch.Tensor) -> torch.Tensor:
    """Response tokens up to and including the first END (MAX_NEW_TOKENS-long rows without END count fully)."""
    out = []
    for resp in _responses(sequences):
        out.append(resp.index(END) + 1 if END in resp else len(resp))
    return torch.tensor(out, dtype=torch.long)


def rewards(sequences: torch.Tensor, answers: torch.Tensor) -> torch.Tensor:
    """1.0 where the response is the sum's digits, then fillers only, then END; else 0.0."""
    out = []
    for resp, ans in zip(_responses(sequences), answers.tolist(), strict=True):
        if END not in resp:
            out.append(0.0)
            continue
        body = resp[: resp.index(END)]
        digits = [DIGIT0 + int(c) for c in str(int(ans))]
        ok = body[: len(digits)] == digits and all(t == FILLER for t in body[len(digits):])
        out.append(1.0 if ok else 0.0)
    return torch.tensor(out, dtype=torch.float32)


def _config() -> GPTConfig:
    return GPTConfig(
        vocab_size=VOCAB_SIZE, n_layer=2, n_head=4, n_embd=48, block_size=PROMPT_LEN + MAX_NEW_TOKENS,
        pos_emb="learned", tie_weights=False, attn_impl="math",
    )


def make_policy(seed: int = 0) -> GPT:
    """An untrained policy (same architecture as initial_policy), seeded."""
    g = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model = GPT(_config())
    torch.random.set_rng_state(g)
    return model


def policy_logits(model: nn.Module, sequences: torch.Tensor) -> torch.Tensor:
    """(B, T, VOCAB_SIZE) logits of the causal LM on full sequences; logits[:, t] predict token t + 1."""
    logits = model(sequences)
    return logits[0] if isinstance(logits, tuple) else logits


def _teacher_batch(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Teacher-forced rows (correct answer, Geometric(1/2) fillers, END) with the teacher's *soft* targets:
    at the answer position P_TEACHER on the sum, the rest spread evenly over the other digits; after it
    1/2 FILLER, 1/2 END (END only at the last position).  Soft targets make the warm start fast and exact."""
    prompts, answers = make_prompts(n, generator=g)
    T = PROMPT_LEN + MAX_NEW_TOKENS
    n_fill = torch.floor(torch.log(torch.rand(n, generator=g)) / torch.log(torch.tensor(0.5))).long()
    n_fill = n_fill.clamp(max=MAX_NEW_TOKENS - 2)
    seqs = torch.full((n, T), PAD, dtype=torch.long)
    seqs[:, :PROMPT_LEN] = prompts
    seqs[:, PROMPT_LEN] = DIGIT0 + answers
    pos = torch.arange(T)[None]
    filler_zone = (pos > PROMPT_LEN) & (pos <= PROMPT_LEN + n_fill[:, None])
    seqs[filler_zone] = FILLER
    seqs[pos == PROMPT_LEN + 1 + n_fill[:, None]] = END
    soft = torch.zeros(n, T, VOCAB_SIZE)  # soft[:, t] = target distribution of token t
    weight = torch.zeros(n, T)
    wrong = (1 - P_TEACHER) / (N_ANSWERS - 1)
    soft[:, PROMPT_LEN, DIGIT0:DIGIT0 + N_ANSWERS] = wrong
    soft[torch.arange(n), PROMPT_LEN, DIGIT0 + answers] = P_TEACHER
    weight[:, PROMPT_LEN] = 1.0
    after = (pos > PROMPT_LEN) & (pos <= PROMPT_LEN + 1 + n_fill[:, None])
    last = pos == T - 1
    soft[..., FILLER] = torch.where(after & ~last, 0.5, 0.0)
    soft[..., END] = torch.where(after, torch.where(last, 1.0, 0.5), 0.0)
    weight[after] = 1.0
    return seqs, soft, weight


def initial_policy(seed: int = 0, steps: int = WARM_START_STEPS) -> GPT:
    """The warm-started policy (supervised on the noisy teacher), in eval mode; a fresh copy every call."""
    key = (seed, steps)
    if key not in _CACHE:
        model = make_policy(seed)
        g = torch.Generator().manual_seed(10_000 + seed)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
        model.train()
        for _ in range(steps):
            seqs, soft, weight = _teacher_batch(64, g)
            logits, _ = model(seqs[:, :-1])
            ce = -(soft[:, 1:] * F.log_softmax(logits, -1)).sum(-1)  # position t-1 predicts token t
            loss = (ce * weight[:, 1:]).sum() / weight.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        _CACHE[key] = copy.deepcopy(model.state_dict())
    model = make_policy(seed)
    model.load_state_dict(_CACHE[key])
    return model.eval()


@torch.no_grad()
def sample(
    model: nn.Module,
    prompts: torch.Tensor,
    max_new_tokens: int = MAX_NEW_TOKENS,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """Sample responses token by token (softmax(logits / temperature)); stop a row at its first END.

    Returns sequences (B, P + max_new_tokens) int64 (PAD after END), response_mask (same shape, bool:
    True at every response token up to and including END, False on the prompt and the padding), and
    lengths (B,) int64.  No log-probs: computing them from the policy is the labs' job.
    """
    B, P = prompts.shape
    seqs = torch.full((B, P + max_new_tokens), PAD, dtype=torch.long)
    seqs[:, :P] = prompts
    mask = torch.zeros_like(seqs, dtype=torch.bool)
    done = torch.zeros(B, dtype=torch.bool)
    for t in range(P, P + max_new_tokens):
        logits = policy_logits(model, seqs[:, :t])[:, -1].float()
        probs = torch.softmax(logits / temperature, dim=-1)
        tok = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        tok = torch.where(done, torch.full_like(tok, PAD), tok)
        seqs[:, t] = tok
        mask[:, t] = ~done
        done = done | (tok == END)
        if bool(done.all()):
            break
    return {"sequences": seqs, "response_mask": mask, "lengths": mask.sum(1)}


class ValueModel(nn.Module):
    """A critic: the policy's architecture with a scalar head; (B, T) ids -> (B, T) values V(x_<=t)."""

    def __init__(self, seed: int = 0):
        super().__init__()
        g = torch.random.get_rng_state()
        torch.manual_seed(seed)
        self.body = GPT(_config())
        self.head = nn.Linear(self.body.cfg.n_embd, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        torch.random.set_rng_state(g)

    def forward(self, sequences: torch.Tensor) -> torch.Tensor:
        body = self.body
        T = sequences.shape[1]
        x = body.tok_emb(sequences) + body.pos_emb(torch.arange(T))
        for block in body.blocks:
            x = block(x, torch.arange(T), None)
        return self.head(body.norm_f(x)).squeeze(-1)
