"""Wrong implementations for lab w10-1 (FlashAttention, PagedAttention).

Each entry replaces one answer cell of weeks/w10-1-attention-serving/solution.ipynb (format: tests/catalog/__init__.py).
Every entry also has a `hint`: one student-facing sentence naming the likely mistake without giving the fix.
"""

_ONLINE = '''def online_softmax_step(m, l, scores):
    m_new = torch.maximum(m, scores.max(dim=-1).values)
    l_new = l * torch.exp(m - m_new) + torch.exp(scores - m_new[:, None]).sum(dim=-1)
    return m_new, l_new
'''

_FORWARD = '''def flash_forward_step(q, k, v, m, l, acc, scale, causal=False, q_start=0, k_start=0):
    s = scale * (q @ k.T)
    if causal:
        q_pos = q_start + torch.arange(q.shape[0])
        k_pos = k_start + torch.arange(k.shape[0])
        s = s.masked_fill(k_pos[None, :] > q_pos[:, None], float("-inf"))
    m_new = torch.maximum(m, s.max(dim=-1).values)
    alpha = torch.exp(m - m_new)
    p = torch.exp(s - m_new[:, None])
    return m_new, alpha * l + p.sum(dim=-1), alpha[:, None] * acc + p @ v
'''

_BACKWARD = '''def flash_backward_step(q, k, v, o, do, lse, scale, causal=False, q_start=0, k_start=0):
    s = scale * (q @ k.T)
    if causal:
        q_pos = q_start + torch.arange(q.shape[0])
        k_pos = k_start + torch.arange(k.shape[0])
        s = s.masked_fill(k_pos[None, :] > q_pos[:, None], float("-inf"))
    p = torch.exp(s - lse[:, None])
    delta = (do * o).sum(dim=-1)
    ds = p * (do @ v.T - delta[:, None])
    return scale * ds @ k, scale * ds.T @ q, p.T @ do
'''

_IO = '''def hbm_accesses(N, d, M):
    bc = math.ceil(M / (4 * d))
    t_c = math.ceil(N / bc)
    standard = 4 * N * d + 4 * N * N
    flash = N * (d + 2) + 2 * N * d + t_c * N * (3 * d + 4)
    return {"standard": standard, "flash": flash}
'''

_APPEND = '''def paged_append(state, k_pool, v_pool, seq, k, v):
    size = state["block_size"]
    table = state["tables"].setdefault(seq, [])
    n = state["lengths"].get(seq, 0)
    if n % size == 0:
        block = state["free"].pop()
        state["refcount"][block] = 1
        table.append(block)
    elif state["refcount"][table[-1]] > 1:
        shared, block = table[-1], state["free"].pop()
        k_pool[block] = k_pool[shared]
        v_pool[block] = v_pool[shared]
        state["refcount"][shared] -= 1
        state["refcount"][block] = 1
        table[-1] = block
    k_pool[table[-1], n % size] = k
    v_pool[table[-1], n % size] = v
    state["lengths"][seq] = n + 1
    return state, k_pool, v_pool
'''

_FORK = '''def paged_fork(state, parent, child):
    table = list(state["tables"][parent])
    for block in table:
        state["refcount"][block] += 1
    state["tables"][child] = table
    state["lengths"][child] = state["lengths"][parent]
    return state
'''

_FREE = '''def paged_free(state, seq):
    for block in state["tables"].pop(seq):
        state["refcount"][block] -= 1
        if state["refcount"][block] == 0:
            state["free"].append(block)
    del state["lengths"][seq]
    return state
'''

_PAGED = '''def paged_attention(q, k_pool, v_pool, block_table, length, scale):
    blocks = torch.as_tensor(block_table, dtype=torch.long)
    k = k_pool[blocks].flatten(0, 1)[:length]
    v = v_pool[blocks].flatten(0, 1)[:length]
    p = torch.softmax(scale * torch.einsum("hd,nhd->hn", q, k), dim=-1)
    return torch.einsum("hn,nhd->hd", p, v)
'''


def _sub(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


def _entry(name, cell, why, hint, base, old, new, loses=None, show_hint=True):
    entry = {"name": name, "cell": cell, "why": why, "hint": hint, "source": _sub(base, old, new),
             "loses": loses or [f"test_{cell}"]}
    if not show_hint:
        entry["show_hint"] = False
    return entry


def _whole(name, cell, why, hint, source, loses=None):
    return {"name": name, "cell": cell, "why": why, "hint": hint, "source": source, "loses": loses or [f"test_{cell}"]}


WRONG_IMPLEMENTATIONS = [
    # ---- online_softmax_step -------------------------------------------------------------------------------------
    _entry("online_no_rescale", "online_softmax_step", "adds the new block's terms without rescaling the old sum",
           "Your running sum behaves as if it were still measured against the old maximum after the maximum grows.",
           _ONLINE, "l * torch.exp(m - m_new)", "l"),
    _entry("online_rescale_inverted", "online_softmax_step", "rescales the old sum by exp(m_new - m) instead of exp(m - m_new)",
           "When the maximum grows your old sum gets larger instead of smaller: check the sign of the exponent.",
           _ONLINE, "torch.exp(m - m_new)", "torch.exp(m_new - m)"),
    _entry("online_block_max_only", "online_softmax_step", "takes the block's maximum as the new maximum, forgetting the old one",
           "Your running maximum forgets the scores of earlier blocks.",
           _ONLINE, "m_new = torch.maximum(m, scores.max(dim=-1).values)", "m_new = scores.max(dim=-1).values"),
    _entry("online_no_max_shift", "online_softmax_step", "sums exp(score) without subtracting any maximum",
           "Your sum is not taken relative to the running maximum, so large scores overflow and m + log l is off.",
           _ONLINE, "l * torch.exp(m - m_new) + torch.exp(scores - m_new[:, None]).sum(dim=-1)",
           "l + torch.exp(scores).sum(dim=-1)"),
    _entry("online_block_sum_vs_old_max", "online_softmax_step", "measures the block's terms against the old maximum",
           "The new block's terms are measured against a different reference than the rescaled old sum.",
           _ONLINE, "torch.exp(scores - m_new[:, None])", "torch.exp(scores - m[:, None])"),
    # ---- flash_forward_step --------------------------------------------------------------------------------------
    _entry("forward_acc_not_rescaled", "flash_forward_step", "rescales the running sum but not the output accumulator",
           "Your accumulated output keeps weights measured against an outdated maximum when a later block raises it.",
           _FORWARD, "alpha[:, None] * acc + p @ v", "acc + p @ v"),
    _entry("forward_l_not_rescaled", "flash_forward_step", "rescales the accumulator but not the running sum",
           "Your normaliser and your accumulator drift apart when the maximum grows.",
           _FORWARD, "alpha * l + p.sum(dim=-1)", "l + p.sum(dim=-1)"),
    _entry("forward_block_softmax", "flash_forward_step", "normalises the probabilities within each block before accumulating",
           "Each block's probabilities are normalised on their own, so blocks are weighted equally instead of by their mass.",
           _FORWARD, "    p = torch.exp(s - m_new[:, None])\n",
           "    p = torch.exp(s - m_new[:, None])\n    p = p / p.sum(dim=-1, keepdim=True)\n"),
    _entry("forward_no_scale", "flash_forward_step", "forgets the scale on the scores",
           "Your scores are not multiplied by the scale you were given.",
           _FORWARD, "s = scale * (q @ k.T)", "s = q @ k.T"),
    _entry("forward_causal_local_positions", "flash_forward_step", "masks with positions inside the tile and block, ignoring q_start and k_start",
           "Your causal mask compares positions within the tile, not positions within the sequence.",
           _FORWARD, "q_pos = q_start + torch.arange(q.shape[0])\n        k_pos = k_start + torch.arange(k.shape[0])",
           "q_pos = torch.arange(q.shape[0])\n        k_pos = torch.arange(k.shape[0])"),
    _entry("forward_causal_excludes_diagonal", "flash_forward_step", "masks keys at or after the query (a token cannot see itself)",
           "Your causal mask hides one key too many for every query.",
           _FORWARD, "k_pos[None, :] > q_pos[:, None]", "k_pos[None, :] >= q_pos[:, None]"),
    _entry("forward_ignores_causal", "flash_forward_step", "never applies the causal mask",
           "With causal=True your queries still see keys that come after them.",
           _FORWARD, "    if causal:\n        q_pos", "    if False:\n        q_pos"),
    _entry("forward_fixed_reference_max", "flash_forward_step", "keeps the first block's maximum as the reference forever",
           "Your state's m is not the running maximum of the scores seen so far, and later, larger scores overflow.",
           _FORWARD, "m_new = torch.maximum(m, s.max(dim=-1).values)",
           "m_new = torch.where(torch.isinf(m), s.max(dim=-1).values, m)"),
    _whole("forward_recompute_from_stash", "flash_forward_step",
           "keeps every block it was given in a global list and recomputes the full softmax over all of them at each step",
           "Your step depends on blocks it saw in earlier calls instead of only on the state and the block it is given.",
           '''_SEEN = []


def flash_forward_step(q, k, v, m, l, acc, scale, causal=False, q_start=0, k_start=0):
    if bool(torch.isinf(m).all()) or (_SEEN and _SEEN[-1][0].shape[1] != k.shape[1]):
        _SEEN.clear()  # a new query tile (or a new problem) starts
    _SEEN.append((k, v, k_start))
    keys = torch.cat([kb for kb, _, _ in _SEEN])
    values = torch.cat([vb for _, vb, _ in _SEEN])
    k_pos = torch.cat([ks + torch.arange(kb.shape[0]) for kb, _, ks in _SEEN])
    s = scale * (q @ keys.T)
    if causal:
        q_pos = q_start + torch.arange(q.shape[0])
        s = s.masked_fill(k_pos[None, :] > q_pos[:, None], float("-inf"))
    m_new = s.max(dim=-1).values
    p = torch.exp(s - m_new[:, None])
    return m_new, p.sum(dim=-1), p @ values
'''),
    # ---- flash_backward_step -------------------------------------------------------------------------------------
    _entry("backward_block_softmax", "flash_backward_step", "recomputes P with a softmax over the block instead of exp(S - lse)",
           "Your recomputed probabilities are normalised over one block instead of over the whole row.",
           _BACKWARD, "p = torch.exp(s - lse[:, None])", "p = torch.softmax(s, dim=-1)"),
    _entry("backward_no_delta", "flash_backward_step", "forgets to subtract D in dS = P (dP - D)",
           "Your dS misses the softmax Jacobian's correction term, so dQ and dK are off.",
           _BACKWARD, "ds = p * (do @ v.T - delta[:, None])", "ds = p * (do @ v.T)"),
    _entry("backward_delta_from_block", "flash_backward_step", "computes D as rowsum(P * dP) over the block only",
           "Your row sum for the softmax Jacobian uses only the keys of the current block.",
           _BACKWARD, "delta = (do * o).sum(dim=-1)", "delta = (p * (do @ v.T)).sum(dim=-1)"),
    _entry("backward_no_scale", "flash_backward_step", "forgets the scale in dQ and dK",
           "Your dQ and dK miss the factor that the scores were multiplied by.",
           _BACKWARD, "return scale * ds @ k, scale * ds.T @ q, p.T @ do", "return ds @ k, ds.T @ q, p.T @ do"),
    _entry("backward_dk_from_dp", "flash_backward_step", "uses dP instead of dS for dK",
           "Your dK is built from the gradient of the probabilities, not of the scores.",
           _BACKWARD, "scale * ds.T @ q,", "scale * (do @ v.T).T @ q,"),
    _entry("backward_ignores_causal", "flash_backward_step", "skips the causal mask in the recomputation",
           "With causal=True your recomputed probabilities give weight to future keys.",
           _BACKWARD, "    if causal:\n        q_pos", "    if False:\n        q_pos"),
    # ---- hbm_accesses --------------------------------------------------------------------------------------------
    _entry("io_standard_matrices_once", "hbm_accesses", "counts S and P once each (4Nd + 2N^2)",
           "Your count for standard attention misses that each N x N matrix is both written and read back.",
           _IO, "standard = 4 * N * d + 4 * N * N", "standard = 4 * N * d + 2 * N * N"),
    _entry("io_flash_output_once", "hbm_accesses", "counts Q, O, l, m as read and written once (as if all fit on chip)",
           "Your FlashAttention count reads and writes the outputs only once, but the inner loop revisits them for every key/value block.",
           _IO, "t_c * N * (3 * d + 4)", "N * (3 * d + 4)"),
    _entry("io_floor_block", "hbm_accesses", "uses floor(M / 4d) for the block size",
           "Your block size rounds the wrong way when M is not a multiple of 4d.",
           _IO, "bc = math.ceil(M / (4 * d))", "bc = max(M // (4 * d), 1)"),
    _entry("io_floor_blocks", "hbm_accesses", "counts floor(N / B_c) key/value blocks, dropping the partial last one",
           "Your number of key/value blocks forgets a partial last block.",
           _IO, "t_c = math.ceil(N / bc)", "t_c = max(N // bc, 1)"),
    _entry("io_no_init", "hbm_accesses", "forgets Algorithm 1's initial write of O, l and m",
           "Your FlashAttention count misses the step before the loops.",
           _IO, "flash = N * (d + 2) + 2 * N * d", "flash = 2 * N * d"),
    _entry("io_inner_reads_only", "hbm_accesses", "counts the inner loop's reads but not its writes",
           "Your inner loop loads its tile but never stores the updated values back.",
           _IO, "t_c * N * (3 * d + 4)", "t_c * N * (2 * d + 2)"),
    # ---- paged_append --------------------------------------------------------------------------------------------
    _entry("append_no_copy_on_write", "paged_append", "writes into a shared block in place",
           "Your append writes into a block that another sequence still reads.",
           _APPEND, "    elif state[\"refcount\"][table[-1]] > 1:", "    elif False:"),
    _entry("append_cow_keeps_old_refcount", "paged_append", "copies the shared block but does not decrement its count",
           "After copying, the shared block still counts your sequence as a holder.",
           _APPEND, "        state[\"refcount\"][shared] -= 1\n", ""),
    _entry("append_cow_without_copy", "paged_append", "takes a fresh block for the writer but does not copy the shared contents",
           "After copy-on-write your sequence has lost the tokens that were in the shared block.",
           _APPEND, "        k_pool[block] = k_pool[shared]\n        v_pool[block] = v_pool[shared]\n", ""),
    _entry("append_cow_copies_full_block", "paged_append", "checks for sharing before checking for a full block, so it copies a full shared block",
           "When the shared blocks are full, your append copies one anyway before starting a new block.",
           _APPEND, '''    if n % size == 0:
        block = state["free"].pop()
        state["refcount"][block] = 1
        table.append(block)
    elif state["refcount"][table[-1]] > 1:''', '''    if table and state["refcount"][table[-1]] > 1:
        shared, block = table[-1], state["free"].pop()
        k_pool[block] = k_pool[shared]
        v_pool[block] = v_pool[shared]
        state["refcount"][shared] -= 1
        state["refcount"][block] = 1
        table[-1] = block
    if n % size == 0:
        block = state["free"].pop()
        state["refcount"][block] = 1
        table.append(block)
    elif False:'''),
    _entry("append_cow_copies_whole_table", "paged_append", "on the first write copies every shared block of the sequence",
           "Your copy-on-write copies more blocks than the one being written.",
           _APPEND, '''        shared, block = table[-1], state["free"].pop()
        k_pool[block] = k_pool[shared]
        v_pool[block] = v_pool[shared]
        state["refcount"][shared] -= 1
        state["refcount"][block] = 1
        table[-1] = block''', '''        for i, shared in enumerate(list(table)):
            if state["refcount"][shared] > 1:
                block = state["free"].pop()
                k_pool[block] = k_pool[shared]
                v_pool[block] = v_pool[shared]
                state["refcount"][shared] -= 1
                state["refcount"][block] = 1
                table[i] = block'''),
    _entry("append_block_per_token", "paged_append", "takes a new block for every token",
           "Your sequence takes a new block before its last one is full.",
           _APPEND, "    if n % size == 0:", "    if True:"),
    _entry("append_new_block_off_by_one", "paged_append", "starts a new block one token too late (when n % size == 1)",
           "Your test for a full last block is off by one token.",
           _APPEND, '''    if n % size == 0:
        block''', '''    if n == 0 or (n % size == 1 and n > 1):
        block'''),
    _entry("append_slot_from_table_length", "paged_append", "writes at slot (number of blocks) instead of the position within the block",
           "The slot you write into is not the token's position within its block.",
           _APPEND, "    k_pool[table[-1], n % size] = k\n    v_pool[table[-1], n % size] = v",
           "    k_pool[table[-1], (len(table) - 1) % size] = k\n    v_pool[table[-1], (len(table) - 1) % size] = v"),
    # ---- paged_fork ----------------------------------------------------------------------------------------------
    _entry("fork_no_refcount", "paged_fork", "shares the table without incrementing the reference counts",
           "After a fork your blocks do not know that one more sequence holds them.",
           _FORK, "    for block in table:\n        state[\"refcount\"][block] += 1\n", ""),
    _entry("fork_takes_fresh_blocks", "paged_fork", "gives the child fresh blocks (an eager copy without the data)",
           "Your fork allocates memory that the child does not need until it writes.",
           _FORK, '''    table = list(state["tables"][parent])
    for block in table:
        state["refcount"][block] += 1''', '''    table = [state["free"].pop() for _ in state["tables"][parent]]
    for block in table:
        state["refcount"][block] = 1'''),
    _entry("fork_forgets_length", "paged_fork", "starts the child with length 0",
           "Your child sequence does not know how many tokens it inherited.",
           _FORK, "state[\"lengths\"][child] = state[\"lengths\"][parent]", "state[\"lengths\"][child] = 0"),
    _entry("fork_refcount_set_to_two", "paged_fork", "sets the shared blocks' counts to 2 instead of adding 1",
           "Your fork assumes a block was held by exactly one sequence before.",
           _FORK, "state[\"refcount\"][block] += 1", "state[\"refcount\"][block] = 2"),
    # ---- paged_free ----------------------------------------------------------------------------------------------
    _entry("free_ignores_refcount", "paged_free", "returns every block of the sequence to the free list",
           "Your free releases blocks that other sequences still hold.",
           _FREE, "        if state[\"refcount\"][block] == 0:\n            state[\"free\"].append(block)",
           "        state[\"free\"].append(block)"),
    _entry("free_leaks", "paged_free", "drops the table but never returns blocks to the free list",
           "Blocks that nobody holds any more never become available again.",
           _FREE, "        if state[\"refcount\"][block] == 0:\n            state[\"free\"].append(block)", "        pass"),
    _entry("free_keeps_length", "paged_free", "removes the table but keeps the length entry",
           "Your freed sequence still has a recorded length.",
           _FREE, "    del state[\"lengths\"][seq]\n", ""),
    # ---- paged_attention -----------------------------------------------------------------------------------------
    _entry("paged_ignores_table", "paged_attention", "reads the pool as if the sequence were stored contiguously from block 0",
           "Your attention reads the pool in physical order instead of through the sequence's block table.",
           _PAGED, "    k = k_pool[blocks].flatten(0, 1)[:length]\n    v = v_pool[blocks].flatten(0, 1)[:length]",
           "    k = k_pool.flatten(0, 1)[:length]\n    v = v_pool.flatten(0, 1)[:length]"),
    _entry("paged_max_length_buffer", "paged_attention",
           "rebuilds a contiguous cache of maximum length (zeros) and masks the positions past length",
           "Your attention touches slots beyond the sequence's length.",
           _PAGED, '''    k = k_pool[blocks].flatten(0, 1)[:length]
    v = v_pool[blocks].flatten(0, 1)[:length]
    p = torch.softmax(scale * torch.einsum("hd,nhd->hn", q, k), dim=-1)''', '''    num_blocks, size, heads, dim = k_pool.shape
    k = torch.zeros(num_blocks * size, heads, dim, dtype=k_pool.dtype)
    v = torch.zeros(num_blocks * size, heads, dim, dtype=v_pool.dtype)
    for i, b in enumerate(block_table):
        k[i * size:(i + 1) * size] = k_pool[b]
        v[i * size:(i + 1) * size] = v_pool[b]
    valid = torch.arange(num_blocks * size) < length
    s = scale * torch.einsum("hd,nhd->hn", q, k)
    p = torch.softmax(s.masked_fill(~valid[None, :], float("-inf")), dim=-1)'''),
    _entry("paged_whole_last_block", "paged_attention", "attends to every slot of every block in the table",
           "Your attention includes the unused slots at the end of the last block.",
           _PAGED, "    k = k_pool[blocks].flatten(0, 1)[:length]\n    v = v_pool[blocks].flatten(0, 1)[:length]",
           "    k = k_pool[blocks].flatten(0, 1)\n    v = v_pool[blocks].flatten(0, 1)"),
    _entry("paged_no_scale", "paged_attention", "forgets the scale", "Your scores are not multiplied by the scale you were given.",
           _PAGED, "torch.softmax(scale * torch.einsum", "torch.softmax(torch.einsum"),
    _entry("paged_softmax_over_heads", "paged_attention", "normalises over the heads instead of over the tokens",
           "Your softmax runs over the wrong axis.",
           _PAGED, "\"hd,nhd->hn\", q, k), dim=-1)", "\"hd,nhd->hn\", q, k), dim=0)"),
]
