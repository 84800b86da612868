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
        "why": "applies each factor to the base, theta_i = (lambda_i * base)**(-2i/d), instead of to the frequency",
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
]
