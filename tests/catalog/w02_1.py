"""Wrong implementations for lab w02-1 (RoPE, PI, NTK-aware, YaRN, LongRoPE).

Each entry replaces one answer cell of weeks/w02-1-rope-yarn/solution.ipynb (format: tests/catalog/__init__.py).
"""

WRONG_IMPLEMENTATIONS = [
    {
        "name": "inv_freq_exponent_i_over_d",
        "cell": "rope_inv_freq",
        "why": "uses exponent i/d over i = 0..d/2-1 instead of 2i/d, so the slowest pair only reaches base**-0.5",
        "source": """def rope_inv_freq(head_dim: int, base: float = 10000.0) -> torch.Tensor:
    i = torch.arange(head_dim // 2, dtype=torch.float32)
    return 1.0 / (base ** (i / head_dim))
""",
        "loses": [
            "test_rope_inv_freq",
            "test_pi_inv_freq",
            "test_ntk_inv_freq",
            "test_yarn_inv_freq",
            "test_longrope_inv_freq",
        ],
    },
    {
        "name": "inv_freq_missing_reciprocal",
        "cell": "rope_inv_freq",
        "why": "returns base**(2i/d) (the wavelength scale) instead of its inverse",
        "source": """def rope_inv_freq(head_dim: int, base: float = 10000.0) -> torch.Tensor:
    return base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
""",
        "loses": [
            "test_rope_inv_freq",
            "test_pi_inv_freq",
            "test_ntk_inv_freq",
            "test_yarn_inv_freq",
            "test_longrope_inv_freq",
        ],
    },
    {
        "name": "cos_sin_interleaved_layout",
        "cell": "rope_cos_sin",
        "why": "builds the tables in the interleaved (GPT-J) layout [t0, t0, t1, t1, ...] while apply uses rotate-half",
        "source": """def rope_cos_sin(inv_freq, positions, attention_factor: float = 1.0):
    positions = torch.as_tensor(positions, dtype=torch.float32)
    angles = positions[:, None] * torch.as_tensor(inv_freq, dtype=torch.float32)[None, :]
    angles = angles.repeat_interleave(2, dim=-1)
    return attention_factor * angles.cos(), attention_factor * angles.sin()
""",
        "loses": ["test_rope_cos_sin"],
    },
    {
        "name": "cos_sin_ignores_attention_factor",
        "cell": "rope_cos_sin",
        "why": "forgets to scale the tables by the attention factor, so YaRN/LongRoPE temperature never reaches attention",
        "source": """def rope_cos_sin(inv_freq, positions, attention_factor: float = 1.0):
    positions = torch.as_tensor(positions, dtype=torch.float32)
    angles = positions[:, None] * torch.as_tensor(inv_freq, dtype=torch.float32)[None, :]
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()
""",
        "loses": ["test_rope_cos_sin"],
    },
    {
        "name": "cos_sin_factor_squared",
        "cell": "rope_cos_sin",
        "why": "scales the tables by attention_factor**2, thinking of the logit scale, so logits grow by the 4th power",
        "source": """def rope_cos_sin(inv_freq, positions, attention_factor: float = 1.0):
    positions = torch.as_tensor(positions, dtype=torch.float32)
    angles = positions[:, None] * torch.as_tensor(inv_freq, dtype=torch.float32)[None, :]
    angles = torch.cat([angles, angles], dim=-1)
    a = attention_factor**2
    return a * angles.cos(), a * angles.sin()
""",
        "loses": ["test_rope_cos_sin"],
    },
    {
        "name": "rope_adjacent_pairs",
        "cell": "apply_rope",
        "why": "rotates adjacent pairs (GPT-J/interleaved layout) while cos/sin use the half-split layout",
        "source": """def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    x_even, x_odd = x[..., 0::2], x[..., 1::2]
    rotated = torch.stack([-x_odd, x_even], dim=-1).flatten(-2)
    return x * cos + rotated * sin
""",
        "loses": ["test_apply_rope"],
    },
    {
        "name": "rope_negative_angle",
        "cell": "apply_rope",
        "why": "rotate_half returns [x2, -x1], i.e. rotates by -m*theta (still norm- and offset-preserving)",
        "source": """def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return x * cos + torch.cat([x2, -x1], dim=-1) * sin
""",
        "loses": ["test_apply_rope"],
    },
    {
        "name": "rope_no_rotate_half",
        "cell": "apply_rope",
        "why": "computes x*cos + x*sin, forgetting to swap and negate the halves",
        "source": """def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    return x * cos + x * sin
""",
        "loses": ["test_apply_rope"],
    },
    {
        "name": "pi_multiplies_frequencies",
        "cell": "pi_inv_freq",
        "why": "multiplies the frequencies by the factor (stretches positions) instead of dividing",
        "source": """def pi_inv_freq(head_dim: int, base: float, factor: float) -> torch.Tensor:
    return rope_inv_freq(head_dim, base) * factor
""",
        "loses": ["test_pi_inv_freq"],
    },
    {
        "name": "pi_scales_base",
        "cell": "pi_inv_freq",
        "why": "multiplies the base by the factor, which leaves pair 0 untouched and barely moves the others",
        "source": """def pi_inv_freq(head_dim: int, base: float, factor: float) -> torch.Tensor:
    return rope_inv_freq(head_dim, base * factor)
""",
        "loses": ["test_pi_inv_freq"],
    },
    {
        "name": "ntk_exponent_d_over_d_minus_1",
        "cell": "ntk_inv_freq",
        "why": "uses base * s**(d/(d-1)), so the slowest pair is not interpolated by exactly s",
        "source": """def ntk_inv_freq(head_dim: int, base: float, factor: float) -> torch.Tensor:
    return rope_inv_freq(head_dim, base * factor ** (head_dim / (head_dim - 1)))
""",
        "loses": ["test_ntk_inv_freq"],
    },
    {
        "name": "ntk_missing_exponent",
        "cell": "ntk_inv_freq",
        "why": "uses base * s, which under-interpolates the slowest pair",
        "source": """def ntk_inv_freq(head_dim: int, base: float, factor: float) -> torch.Tensor:
    return rope_inv_freq(head_dim, base * factor)
""",
        "loses": ["test_ntk_inv_freq"],
    },
    {
        "name": "yarn_ramp_reversed",
        "cell": "yarn_ramp",
        "why": "interpolates the fast pairs and keeps the slow ones (the paper's gamma=1-means-keep convention mixed up)",
        "source": """def yarn_ramp(head_dim: int, base: float, original_max_position: int,
              beta_fast: float = 32.0, beta_slow: float = 1.0, truncate: bool = True) -> torch.Tensor:
    def boundary(turns):
        return head_dim * math.log(original_max_position / (2 * math.pi * turns)) / (2 * math.log(base))
    low, high = boundary(beta_fast), boundary(beta_slow)
    if truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, head_dim - 1)
    if low == high:
        high += 0.001
    i = torch.arange(head_dim // 2, dtype=torch.float32)
    return 1.0 - ((i - low) / (high - low)).clamp(0.0, 1.0)
""",
        "loses": ["test_yarn_ramp", "test_yarn_inv_freq"],
    },
    {
        "name": "yarn_ramp_no_truncation",
        "cell": "yarn_ramp",
        "why": "ignores the truncate flag (never floors/ceils the boundaries), unlike the reference code's default",
        "source": """def yarn_ramp(head_dim: int, base: float, original_max_position: int,
              beta_fast: float = 32.0, beta_slow: float = 1.0, truncate: bool = True) -> torch.Tensor:
    def boundary(turns):
        return head_dim * math.log(original_max_position / (2 * math.pi * turns)) / (2 * math.log(base))
    low, high = max(boundary(beta_fast), 0), min(boundary(beta_slow), head_dim - 1)
    if low == high:
        high += 0.001
    i = torch.arange(head_dim // 2, dtype=torch.float32)
    return ((i - low) / (high - low)).clamp(0.0, 1.0)
""",
        "loses": ["test_yarn_ramp", "test_yarn_inv_freq"],
    },
    {
        "name": "yarn_ramp_missing_2pi",
        "cell": "yarn_ramp",
        "why": "counts turns as L*theta instead of L*theta/(2*pi), shifting both boundaries",
        "source": """def yarn_ramp(head_dim: int, base: float, original_max_position: int,
              beta_fast: float = 32.0, beta_slow: float = 1.0, truncate: bool = True) -> torch.Tensor:
    def boundary(turns):
        return head_dim * math.log(original_max_position / turns) / (2 * math.log(base))
    low, high = boundary(beta_fast), boundary(beta_slow)
    if truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, head_dim - 1)
    if low == high:
        high += 0.001
    i = torch.arange(head_dim // 2, dtype=torch.float32)
    return ((i - low) / (high - low)).clamp(0.0, 1.0)
""",
        "loses": ["test_yarn_ramp", "test_yarn_inv_freq"],
    },
    {
        "name": "yarn_ramp_betas_swapped",
        "cell": "yarn_ramp",
        "why": "takes low from beta_slow and high from beta_fast, so the ramp runs the wrong way and collapses",
        "source": """def yarn_ramp(head_dim: int, base: float, original_max_position: int,
              beta_fast: float = 32.0, beta_slow: float = 1.0, truncate: bool = True) -> torch.Tensor:
    def boundary(turns):
        return head_dim * math.log(original_max_position / (2 * math.pi * turns)) / (2 * math.log(base))
    low, high = boundary(beta_slow), boundary(beta_fast)
    if truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, head_dim - 1)
    if low == high:
        high += 0.001
    i = torch.arange(head_dim // 2, dtype=torch.float32)
    return ((i - low) / (high - low)).clamp(0.0, 1.0)
""",
        "loses": ["test_yarn_ramp", "test_yarn_inv_freq"],
    },
    {
        "name": "yarn_interpolates_all_pairs",
        "cell": "yarn_inv_freq",
        "why": "divides every frequency by the factor, which is plain PI and loses YaRN's high-frequency pairs",
        "source": """def yarn_inv_freq(head_dim: int, base: float, factor: float, original_max_position: int,
                  beta_fast: float = 32.0, beta_slow: float = 1.0, truncate: bool = True) -> torch.Tensor:
    return rope_inv_freq(head_dim, base) / factor
""",
        "loses": ["test_yarn_inv_freq"],
    },
    {
        "name": "yarn_blend_swapped",
        "cell": "yarn_inv_freq",
        "why": "weights the original frequency by gamma and the interpolated one by 1-gamma",
        "source": """def yarn_inv_freq(head_dim: int, base: float, factor: float, original_max_position: int,
                  beta_fast: float = 32.0, beta_slow: float = 1.0, truncate: bool = True) -> torch.Tensor:
    theta = rope_inv_freq(head_dim, base)
    gamma = yarn_ramp(head_dim, base, original_max_position, beta_fast, beta_slow, truncate)
    return gamma * theta + (1 - gamma) * theta / factor
""",
        "loses": ["test_yarn_inv_freq"],
    },
    {
        "name": "yarn_no_temperature",
        "cell": "yarn_attention_factor",
        "why": "forgets YaRN's attention temperature (always returns 1)",
        "source": """def yarn_attention_factor(factor: float) -> float:
    return 1.0
""",
        "loses": ["test_yarn_attention_factor"],
    },
    {
        "name": "yarn_temperature_squared",
        "cell": "yarn_attention_factor",
        "why": "returns 1/t = (0.1 ln s + 1)**2, the logit scale, instead of sqrt(1/t) that multiplies cos and sin",
        "source": """def yarn_attention_factor(factor: float) -> float:
    if factor <= 1.0:
        return 1.0
    return (0.1 * math.log(factor) + 1.0) ** 2
""",
        "loses": ["test_yarn_attention_factor"],
    },
    {
        "name": "yarn_temperature_no_floor",
        "cell": "yarn_attention_factor",
        "why": "applies 0.1 ln s + 1 for every s, so a factor below 1 shrinks the logits",
        "source": """def yarn_attention_factor(factor: float) -> float:
    return 0.1 * math.log(factor) + 1.0
""",
        "loses": ["test_yarn_attention_factor"],
    },
    {
        "name": "longrope_multiplies_factors",
        "cell": "longrope_inv_freq",
        "why": "multiplies the frequencies by the rescale factors instead of dividing",
        "source": """def longrope_inv_freq(head_dim: int, base: float, short_factor: list, long_factor: list,
                      original_max_position: int, seq_len: int) -> torch.Tensor:
    factors = long_factor if seq_len > original_max_position else short_factor
    return rope_inv_freq(head_dim, base) * torch.as_tensor(factors, dtype=torch.float32)
""",
        "loses": ["test_longrope_inv_freq"],
    },
    {
        "name": "longrope_factors_on_base",
        "cell": "longrope_inv_freq",
        "why": "applies each factor to the base, theta_i = (rho_i * base)**(-2i/d), instead of to the frequency",
        "source": """def longrope_inv_freq(head_dim: int, base: float, short_factor: list, long_factor: list,
                      original_max_position: int, seq_len: int) -> torch.Tensor:
    factors = torch.as_tensor(long_factor if seq_len > original_max_position else short_factor)
    exponents = torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim
    return 1.0 / ((factors * base) ** exponents)
""",
        "loses": ["test_longrope_inv_freq"],
    },
    {
        "name": "longrope_long_factors_at_original_length",
        "cell": "longrope_inv_freq",
        "why": "switches to the long factors when seq_len >= original window (off by one: a full window is still short)",
        "source": """def longrope_inv_freq(head_dim: int, base: float, short_factor: list, long_factor: list,
                      original_max_position: int, seq_len: int) -> torch.Tensor:
    factors = long_factor if seq_len >= original_max_position else short_factor
    return rope_inv_freq(head_dim, base) / torch.as_tensor(factors, dtype=torch.float32)
""",
        "loses": ["test_longrope_inv_freq"],
    },
    {
        "name": "longrope_attention_no_sqrt",
        "cell": "longrope_attention_factor",
        "why": "returns 1 + ln s / ln L, forgetting the square root",
        "source": """def longrope_attention_factor(factor: float, original_max_position: int) -> float:
    if factor <= 1.0:
        return 1.0
    return 1.0 + math.log(factor) / math.log(original_max_position)
""",
        "loses": ["test_longrope_attention_factor"],
    },
    {
        "name": "longrope_attention_extended_length",
        "cell": "longrope_attention_factor",
        "why": "divides by the log of the extended length s*L instead of the original window L",
        "source": """def longrope_attention_factor(factor: float, original_max_position: int) -> float:
    if factor <= 1.0:
        return 1.0
    return math.sqrt(1.0 + math.log(factor) / math.log(factor * original_max_position))
""",
        "loses": ["test_longrope_attention_factor"],
    },
    {
        "name": "longrope_attention_uses_yarn_formula",
        "cell": "longrope_attention_factor",
        "why": "reuses YaRN's 0.1 ln s + 1 for LongRoPE",
        "source": """def longrope_attention_factor(factor: float, original_max_position: int) -> float:
    if factor <= 1.0:
        return 1.0
    return 0.1 * math.log(factor) + 1.0
""",
        "loses": ["test_longrope_attention_factor"],
    },
    {
        "name": "longrope_tables_interpolate_first_positions_too",
        "cell": "longrope_cos_sin",
        "why": "ignores n_hat and interpolates every position, so the first positions lose their trained angles",
        "source": """def longrope_cos_sin(inv_freq, factors, positions, n_hat: int = 0, attention_factor: float = 1.0):
    positions = torch.as_tensor(positions, dtype=torch.float32)
    theta = torch.as_tensor(inv_freq, dtype=torch.float32)
    rescaled = theta / torch.as_tensor(factors, dtype=torch.float32)
    angles = positions[:, None] * rescaled[None, :]
    angles = torch.cat([angles, angles], dim=-1)
    return attention_factor * angles.cos(), attention_factor * angles.sin()
""",
        "loses": ["test_longrope_cos_sin"],
    },
    {
        "name": "longrope_tables_n_hat_inclusive",
        "cell": "longrope_cos_sin",
        "why": "keeps positions m <= n_hat un-interpolated (off by one: position n_hat is already interpolated)",
        "source": """def longrope_cos_sin(inv_freq, factors, positions, n_hat: int = 0, attention_factor: float = 1.0):
    positions = torch.as_tensor(positions, dtype=torch.float32)
    theta = torch.as_tensor(inv_freq, dtype=torch.float32)
    rescaled = theta / torch.as_tensor(factors, dtype=torch.float32)
    keep = (positions <= n_hat)[:, None]
    angles = positions[:, None] * torch.where(keep, theta[None, :], rescaled[None, :])
    angles = torch.cat([angles, angles], dim=-1)
    return attention_factor * angles.cos(), attention_factor * angles.sin()
""",
        "loses": ["test_longrope_cos_sin"],
    },
    {
        "name": "longrope_tables_row_index_not_position",
        "cell": "longrope_cos_sin",
        "why": "compares the row index with n_hat instead of the position, wrong for a chunk that starts after a KV cache",
        "source": """def longrope_cos_sin(inv_freq, factors, positions, n_hat: int = 0, attention_factor: float = 1.0):
    positions = torch.as_tensor(positions, dtype=torch.float32)
    theta = torch.as_tensor(inv_freq, dtype=torch.float32)
    rescaled = theta / torch.as_tensor(factors, dtype=torch.float32)
    keep = (torch.arange(len(positions)) < n_hat)[:, None]
    angles = positions[:, None] * torch.where(keep, theta[None, :], rescaled[None, :])
    angles = torch.cat([angles, angles], dim=-1)
    return attention_factor * angles.cos(), attention_factor * angles.sin()
""",
        "loses": ["test_longrope_cos_sin"],
    },
    {
        "name": "longrope_tables_factors_reversed",
        "cell": "longrope_cos_sin",
        "why": "applies the factor list from the slow end (factors[::-1]): the largest factor lands on the fastest pair",
        "source": """def longrope_cos_sin(inv_freq, factors, positions, n_hat: int = 0, attention_factor: float = 1.0):
    positions = torch.as_tensor(positions, dtype=torch.float32)
    theta = torch.as_tensor(inv_freq, dtype=torch.float32)
    rescaled = theta / torch.as_tensor(factors, dtype=torch.float32).flip(0)
    keep = (positions < n_hat)[:, None]
    angles = positions[:, None] * torch.where(keep, theta[None, :], rescaled[None, :])
    angles = torch.cat([angles, angles], dim=-1)
    return attention_factor * angles.cos(), attention_factor * angles.sin()
""",
        "loses": ["test_longrope_cos_sin"],
    },
    {
        "name": "longrope_tables_second_half_not_rescaled",
        "cell": "longrope_cos_sin",
        "why": "rescales only columns 0..d/2-1 and leaves the partner columns i + d/2 at the plain angle",
        "source": """def longrope_cos_sin(inv_freq, factors, positions, n_hat: int = 0, attention_factor: float = 1.0):
    positions = torch.as_tensor(positions, dtype=torch.float32)
    theta = torch.as_tensor(inv_freq, dtype=torch.float32)
    rescaled = theta / torch.as_tensor(factors, dtype=torch.float32)
    keep = (positions < n_hat)[:, None]
    scaled = positions[:, None] * torch.where(keep, theta[None, :], rescaled[None, :])
    angles = torch.cat([scaled, positions[:, None] * theta[None, :]], dim=-1)
    return attention_factor * angles.cos(), attention_factor * angles.sin()
""",
        "loses": ["test_longrope_cos_sin"],
    },
    {
        "name": "longrope_tables_continue_from_n_hat",
        "cell": "longrope_cos_sin",
        "why": "makes the angle continuous at n_hat, n_hat*theta + (m - n_hat)*theta/rho, instead of m*theta/rho",
        "source": """def longrope_cos_sin(inv_freq, factors, positions, n_hat: int = 0, attention_factor: float = 1.0):
    positions = torch.as_tensor(positions, dtype=torch.float32)
    theta = torch.as_tensor(inv_freq, dtype=torch.float32)
    rescaled = theta / torch.as_tensor(factors, dtype=torch.float32)
    m = positions[:, None]
    angles = torch.where(m < n_hat, m * theta[None, :], n_hat * theta[None, :] + (m - n_hat) * rescaled[None, :])
    angles = torch.cat([angles, angles], dim=-1)
    return attention_factor * angles.cos(), attention_factor * angles.sin()
""",
        "loses": ["test_longrope_cos_sin"],
    },
    {
        "name": "longrope_tables_attention_factor_only_interpolated",
        "cell": "longrope_cos_sin",
        "why": "applies the attention factor only to the interpolated positions, not to the first n_hat",
        "source": """def longrope_cos_sin(inv_freq, factors, positions, n_hat: int = 0, attention_factor: float = 1.0):
    positions = torch.as_tensor(positions, dtype=torch.float32)
    theta = torch.as_tensor(inv_freq, dtype=torch.float32)
    rescaled = theta / torch.as_tensor(factors, dtype=torch.float32)
    keep = (positions < n_hat)[:, None]
    angles = positions[:, None] * torch.where(keep, theta[None, :], rescaled[None, :])
    scale = torch.where(keep, 1.0, attention_factor)
    angles = torch.cat([angles, angles], dim=-1)
    return scale * angles.cos(), scale * angles.sin()
""",
        "loses": ["test_longrope_cos_sin"],
    },
    {
        "name": "search_drops_parents",
        "cell": "longrope_next_generation",
        "why": "returns only new candidates (top_k extra mutants instead of the parents), so the best can be lost",
        "source": """def longrope_next_generation(population, scores, top_k, n_mutation, n_crossover, max_factor,
                             max_step=0.5, mutation_prob=0.3, seed=0):
    rng = random.Random(seed)
    order = sorted(range(len(population)), key=lambda j: scores[j])
    parents = [[float(v) for v in population[j]] for j in order[:top_k]]

    def repair(candidate):
        return sorted(min(max(v, 1.0), max_factor) for v in candidate)

    def mutate(parent):
        return repair([v + rng.uniform(-max_step, max_step) if rng.random() < mutation_prob else v for v in parent])

    def cross(a, b):
        return repair([x if rng.random() < 0.5 else y for x, y in zip(a, b)])

    mutants = [mutate(rng.choice(parents)) for _ in range(top_k + n_mutation)]
    children = [cross(*rng.sample(parents, 2)) if len(parents) > 1 else mutate(parents[0]) for _ in range(n_crossover)]
    return mutants + children
""",
        "loses": ["test_longrope_next_generation"],
    },
    {
        "name": "search_keeps_highest_scores",
        "cell": "longrope_next_generation",
        "why": "sorts the scores in decreasing order, keeping the worst candidates as parents (maximises the loss)",
        "source": """def longrope_next_generation(population, scores, top_k, n_mutation, n_crossover, max_factor,
                             max_step=0.5, mutation_prob=0.3, seed=0):
    rng = random.Random(seed)
    order = sorted(range(len(population)), key=lambda j: scores[j], reverse=True)
    parents = [[float(v) for v in population[j]] for j in order[:top_k]]

    def repair(candidate):
        return sorted(min(max(v, 1.0), max_factor) for v in candidate)

    def mutate(parent):
        return repair([v + rng.uniform(-max_step, max_step) if rng.random() < mutation_prob else v for v in parent])

    def cross(a, b):
        return repair([x if rng.random() < 0.5 else y for x, y in zip(a, b)])

    mutants = [mutate(rng.choice(parents)) for _ in range(n_mutation)]
    children = [cross(*rng.sample(parents, 2)) if len(parents) > 1 else mutate(parents[0]) for _ in range(n_crossover)]
    return parents + mutants + children
""",
        "loses": ["test_longrope_next_generation"],
    },
    {
        "name": "search_ignores_monotone_constraint",
        "cell": "longrope_next_generation",
        "why": "clamps mutated factors into the range but never restores rho_i <= rho_(i+1)",
        "source": """def longrope_next_generation(population, scores, top_k, n_mutation, n_crossover, max_factor,
                             max_step=0.5, mutation_prob=0.3, seed=0):
    rng = random.Random(seed)
    order = sorted(range(len(population)), key=lambda j: scores[j])
    parents = [[float(v) for v in population[j]] for j in order[:top_k]]

    def repair(candidate):
        return [min(max(v, 1.0), max_factor) for v in candidate]

    def mutate(parent):
        return repair([v + rng.uniform(-max_step, max_step) if rng.random() < mutation_prob else v for v in parent])

    def cross(a, b):
        return repair([x if rng.random() < 0.5 else y for x, y in zip(a, b)])

    mutants = [mutate(rng.choice(parents)) for _ in range(n_mutation)]
    children = [cross(*rng.sample(parents, 2)) if len(parents) > 1 else mutate(parents[0]) for _ in range(n_crossover)]
    return parents + mutants + children
""",
        "loses": ["test_longrope_next_generation"],
    },
    {
        "name": "search_no_clamp",
        "cell": "longrope_next_generation",
        "why": "sorts the mutated factors but forgets to clamp them into [1, max_factor]",
        "source": """def longrope_next_generation(population, scores, top_k, n_mutation, n_crossover, max_factor,
                             max_step=0.5, mutation_prob=0.3, seed=0):
    rng = random.Random(seed)
    order = sorted(range(len(population)), key=lambda j: scores[j])
    parents = [[float(v) for v in population[j]] for j in order[:top_k]]

    def repair(candidate):
        return sorted(candidate)

    def mutate(parent):
        return repair([v + rng.uniform(-max_step, max_step) if rng.random() < mutation_prob else v for v in parent])

    def cross(a, b):
        return repair([x if rng.random() < 0.5 else y for x, y in zip(a, b)])

    mutants = [mutate(rng.choice(parents)) for _ in range(n_mutation)]
    children = [cross(*rng.sample(parents, 2)) if len(parents) > 1 else mutate(parents[0]) for _ in range(n_crossover)]
    return parents + mutants + children
""",
        "loses": ["test_longrope_next_generation"],
    },
    {
        "name": "search_parents_from_whole_population",
        "cell": "longrope_next_generation",
        "why": "keeps the top_k but mutates and crosses random members of the whole population, not the top_k",
        "source": """def longrope_next_generation(population, scores, top_k, n_mutation, n_crossover, max_factor,
                             max_step=0.5, mutation_prob=0.3, seed=0):
    rng = random.Random(seed)
    order = sorted(range(len(population)), key=lambda j: scores[j])
    parents = [[float(v) for v in population[j]] for j in order[:top_k]]

    def repair(candidate):
        return sorted(min(max(v, 1.0), max_factor) for v in candidate)

    def mutate(parent):
        return repair([v + rng.uniform(-max_step, max_step) if rng.random() < mutation_prob else v for v in parent])

    def cross(a, b):
        return repair([x if rng.random() < 0.5 else y for x, y in zip(a, b)])

    everyone = [[float(v) for v in c] for c in population]
    mutants = [mutate(rng.choice(everyone)) for _ in range(n_mutation)]
    children = [cross(*rng.sample(everyone, 2)) for _ in range(n_crossover)]
    return parents + mutants + children
""",
        "loses": ["test_longrope_next_generation"],
    },
    {
        "name": "search_unseeded_rng",
        "cell": "longrope_next_generation",
        "why": "draws from Python's global random state instead of a generator seeded with `seed`",
        "source": """def longrope_next_generation(population, scores, top_k, n_mutation, n_crossover, max_factor,
                             max_step=0.5, mutation_prob=0.3, seed=0):
    rng = random
    order = sorted(range(len(population)), key=lambda j: scores[j])
    parents = [[float(v) for v in population[j]] for j in order[:top_k]]

    def repair(candidate):
        return sorted(min(max(v, 1.0), max_factor) for v in candidate)

    def mutate(parent):
        return repair([v + rng.uniform(-max_step, max_step) if rng.random() < mutation_prob else v for v in parent])

    def cross(a, b):
        return repair([x if rng.random() < 0.5 else y for x, y in zip(a, b)])

    mutants = [mutate(rng.choice(parents)) for _ in range(n_mutation)]
    children = [cross(*rng.sample(parents, 2)) if len(parents) > 1 else mutate(parents[0]) for _ in range(n_crossover)]
    return parents + mutants + children
""",
        "loses": ["test_longrope_next_generation"],
    },
    {
        "name": "search_keeps_whole_population",
        "cell": "longrope_next_generation",
        "why": "returns the whole old population plus the new candidates, so every generation costs more evaluations",
        "source": """def longrope_next_generation(population, scores, top_k, n_mutation, n_crossover, max_factor,
                             max_step=0.5, mutation_prob=0.3, seed=0):
    rng = random.Random(seed)
    order = sorted(range(len(population)), key=lambda j: scores[j])
    parents = [[float(v) for v in population[j]] for j in order[:top_k]]

    def repair(candidate):
        return sorted(min(max(v, 1.0), max_factor) for v in candidate)

    def mutate(parent):
        return repair([v + rng.uniform(-max_step, max_step) if rng.random() < mutation_prob else v for v in parent])

    def cross(a, b):
        return repair([x if rng.random() < 0.5 else y for x, y in zip(a, b)])

    mutants = [mutate(rng.choice(parents)) for _ in range(n_mutation)]
    children = [cross(*rng.sample(parents, 2)) if len(parents) > 1 else mutate(parents[0]) for _ in range(n_crossover)]
    return [[float(v) for v in c] for c in population] + mutants + children
""",
        "loses": ["test_longrope_next_generation"],
    },
]


# ----------------------------------------------------------------------------------------------- hints
# One sentence per entry for the student who made that mistake, shown under the failed test (issue 23).
# Entries in _HINTS_NOT_SHOWN keep their hint for the class report only: any useful hint would give the fix away.
_HINTS = {
    "inv_freq_exponent_i_over_d": "Your slowest pair's frequency does not come close to 1/base: check the exponent of each pair.",
    "inv_freq_missing_reciprocal": "Your values grow with the pair index, but RoPE's frequencies shrink from 1 towards 1/base.",
    "cos_sin_interleaved_layout": "Your tables use a different pairing of dimensions than the rotate-half layout that apply_rope uses.",
    "cos_sin_ignores_attention_factor": "Your tables ignore the attention factor, so the extension's temperature never reaches the attention logits.",
    "cos_sin_factor_squared": "The attention factor multiplies both q and k, so your tables scale the logits more than intended.",
    "rope_adjacent_pairs": "Your rotation pairs adjacent dimensions, while the cos/sin tables use the half-split layout.",
    "rope_negative_angle": "Your function rotates every pair by the opposite angle.",
    "rope_no_rotate_half": "Your function never rotates: each output coordinate should mix a dimension with its partner.",
    "pi_multiplies_frequencies": "Position interpolation should slow the rotations down, but yours speeds them up.",
    "pi_scales_base": "Position interpolation slows every pair by the same factor; changing the base does something else.",
    "ntk_exponent_d_over_d_minus_1": "With your new base, the slowest pair is not interpolated by exactly the factor s.",
    "ntk_missing_exponent": "Scaling the base by s alone under-interpolates the slowest pair: derive the base that slows it by exactly s.",
    "yarn_ramp_reversed": "Your ramp interpolates the fast pairs and keeps the slow ones, the opposite of YaRN.",
    "yarn_ramp_no_truncation": "Your ramp ignores the truncate flag.",
    "yarn_ramp_missing_2pi": "Your boundaries count rotations in radians instead of full turns.",
    "yarn_ramp_betas_swapped": "Check which beta defines the lower boundary of the ramp and which the upper one.",
    "yarn_interpolates_all_pairs": "Your function interpolates every pair equally, which is plain position interpolation, not YaRN.",
    "yarn_blend_swapped": "Your blend gives the ramp's weight to the wrong one of the two frequencies.",
    "yarn_no_temperature": "Your attention factor never changes with the scale factor.",
    "yarn_temperature_squared": "Your value is the logit scale; the factor here multiplies cos and sin, i.e. both q and k.",
    "yarn_temperature_no_floor": "For a factor of 1 or below, YaRN does not change the logits, but yours does.",
    "longrope_multiplies_factors": "Your rescale factors speed the rotations up instead of slowing them down.",
    "longrope_factors_on_base": "Your rescale factors act on the base; LongRoPE applies each one to its pair's frequency.",
    "longrope_long_factors_at_original_length": "A sequence exactly as long as the original window should still use the short factors.",
    "longrope_attention_no_sqrt": "Your attention factor is the logit scale; the factor multiplying cos and sin is its square root.",
    "longrope_attention_extended_length": "Your attention factor divides by the log of the wrong length.",
    "longrope_attention_uses_yarn_formula": "Your attention factor is YaRN's formula, not LongRoPE's.",
    "longrope_tables_interpolate_first_positions_too": "Your tables interpolate every position, but the first n_hat positions should keep their trained angles.",
    "longrope_tables_n_hat_inclusive": "Check which side of the boundary position n_hat itself belongs to.",
    "longrope_tables_row_index_not_position": "You compare the row index with n_hat instead of the position, which goes wrong for a chunk after a KV cache.",
    "longrope_tables_factors_reversed": "Your rescale factors are applied to the pairs in reverse order.",
    "longrope_tables_second_half_not_rescaled": "Only half of your columns are rescaled: each pair's partner column needs the same angle.",
    "longrope_tables_continue_from_n_hat": "After n_hat your angle continues from the boundary, but LongRoPE's angle is the position times the rescaled frequency.",
    "longrope_tables_attention_factor_only_interpolated": "The attention factor should scale the tables at every position, not only the interpolated ones.",
    "search_drops_parents": "Your next generation does not keep the best candidates, so the best found so far can be lost.",
    "search_keeps_highest_scores": "Your search keeps the candidates with the highest loss as parents.",
    "search_ignores_monotone_constraint": "Your repaired candidates can break the ordering constraint on the rescale factors.",
    "search_no_clamp": "Your repaired candidates can leave the allowed range of factors.",
    "search_parents_from_whole_population": "Your mutations and crossovers draw from the whole population instead of the selected parents.",
    "search_unseeded_rng": "Your search is not reproducible: the `seed` argument has no effect.",
    "search_keeps_whole_population": "Your next generation keeps the whole old population, so it grows every generation.",
}
_HINTS_NOT_SHOWN = {
    "longrope_long_factors_at_original_length",  # boundary off-by-one: any hint names the comparison
    "longrope_tables_n_hat_inclusive",  # boundary off-by-one: any hint names the comparison
}
assert set(_HINTS) == {e["name"] for e in WRONG_IMPLEMENTATIONS}, "one hint per entry, no stale names"
for _wrong in WRONG_IMPLEMENTATIONS:
    _wrong["hint"] = _HINTS[_wrong["name"]]
    if _wrong["name"] in _HINTS_NOT_SHOWN:
        _wrong["show_hint"] = False
