"""Plain data across the trust boundary: everything round-trips, nothing else crosses."""

import base64
import json

import numpy as np
import pytest
import torch

from llm901_grader import bridge


@pytest.mark.parametrize(
    "value",
    [
        None, True, 3, -2.5, float("inf"), "héllo", b"\x00\x01", 1 + 2j,
        [1, [2, "x"]], (1, 2.0), {"a": 1, 2: (3,), (1, 2): None},
        torch.arange(12, dtype=torch.float32).reshape(3, 4), torch.zeros(0, 3), torch.tensor(True),
        torch.randn(2, 3, dtype=torch.bfloat16), torch.randn(4, dtype=torch.complex64), torch.tensor(7),
        np.arange(6, dtype=np.int16).reshape(2, 3), np.float64(1.5), torch.float16, torch.Size([2, 3]),
    ],
)  # fmt: skip
def test_round_trip(value):
    back = bridge.loads(bridge.dumps(value))
    if isinstance(value, torch.Tensor):
        assert back.dtype == value.dtype and back.shape == value.shape and torch.equal(back, value)
    elif isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value)
    elif isinstance(value, float) or isinstance(value, np.floating):
        assert back == float(value)
    elif isinstance(value, torch.Size):
        assert back == tuple(value)
    else:
        assert back == value and type(back) is type(value)


def test_non_contiguous_and_grad_tensors():
    t = torch.randn(4, 5, requires_grad=True)
    back = bridge.loads(bridge.dumps((t * 2).t()[1:]))
    assert torch.allclose(back, (t * 2).t()[1:].detach()) and not back.requires_grad
    upper = torch.linalg.cholesky(torch.eye(5) * 2 + 0.1, upper=True)  # a transposed result
    for piece in (upper[3:4, 3:4], upper[:, 2:3], upper[::2, 1]):  # "contiguous" one-element slices too
        assert torch.equal(bridge.loads(bridge.dumps(piece)), piece)


@pytest.mark.parametrize("value", [object(), torch.nn.Linear(2, 2), print, torch, np.array(["a"]), {1, 2}])
def test_not_plain_is_refused(value):
    with pytest.raises(bridge.NotPlain):
        bridge.encode(value)


@pytest.mark.parametrize(
    "payload",
    [
        {"__t": "tensor", "dtype": "float32", "shape": [2, 2], "data": base64.b64encode(b"\x00" * 12).decode()},
        {"__t": "tensor", "dtype": "object", "shape": [1], "data": ""},
        {"__t": "tensor", "dtype": "float32", "shape": [-1], "data": ""},
        {"__t": "tensor", "dtype": "float64", "shape": [1 << 20, 1 << 20], "data": ""},
        {"__t": "ndarray", "dtype": "|O", "shape": [1], "data": ""},
        {"__t": "pickle", "data": "gASV"},
        {"__t": "dict", "v": [[[1], 2]]},
        {"__t": "ref", "ref": 1},
    ],
)
def test_malformed_input_is_refused(payload):
    with pytest.raises(bridge.NotPlain):
        bridge.loads(json.dumps(payload))


def test_deep_nesting_and_size_limits():
    deep = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(bridge.NotPlain):
        bridge.encode(deep)
    with pytest.raises(bridge.NotPlain):
        bridge.encode(torch.zeros(bridge.MAX_BYTES // 4 + 1))
