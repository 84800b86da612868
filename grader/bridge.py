"""Plain data across the trust boundary.

The grader never unpickles anything that comes out of a student's kernel. Values cross as JSON:
numbers, strings, lists, tuples, dicts, None, bytes, and dense tensors / numpy arrays as (dtype, shape,
raw bytes). Anything else (a module, a function, an nn.Module) stays in the kernel and is referred
to by a numbered handle.

This file has two readers. The grader imports it (`encode`, `decode`). The kernel gets its *source*
sent and executed in a private module (see `kernel.py`), where `serve` answers one request. It
therefore imports only the standard library at the top, and torch/numpy only if they are loaded.
"""

from __future__ import annotations

import base64
import json
import sys

MIME = "application/vnd.llm901.bridge+json"
MAX_BYTES = 64 << 20  # per message, tensors included
MAX_DEPTH = 32

TORCH_DTYPES = (
    "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
    "uint8", "int8", "int16", "int32", "int64", "bool",
)  # fmt: skip
NUMPY_KINDS = "biufc"


class NotPlain(TypeError):
    """A value that cannot cross as plain data."""


class _Budget:
    def __init__(self, limit: int):
        self.left = limit

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise NotPlain(f"the value is larger than the {MAX_BYTES >> 20} MiB the grader accepts")


def _b64(raw: bytes, budget: _Budget) -> str:
    budget.spend(len(raw))
    return base64.b64encode(raw).decode("ascii")


def encode(obj, budget: _Budget | None = None, depth: int = 0):
    """Python value -> JSON-able structure; raises NotPlain for anything that is not plain data."""
    budget = budget or _Budget(MAX_BYTES)
    if depth > MAX_DEPTH:
        raise NotPlain("the value is nested too deeply")
    if obj is None or type(obj) in (bool, int, float, str):
        if isinstance(obj, str):
            budget.spend(len(obj))
        return obj
    torch = sys.modules.get("torch")
    np = sys.modules.get("numpy")
    if type(obj) is list:
        return [encode(x, budget, depth + 1) for x in obj]
    if type(obj) is tuple or (torch is not None and type(obj) is torch.Size):
        return {"__t": "tuple", "v": [encode(x, budget, depth + 1) for x in obj]}
    if type(obj) is dict:
        return {"__t": "dict", "v": [[encode(k, budget, depth + 1), encode(v, budget, depth + 1)] for k, v in obj.items()]}
    if type(obj) is complex:
        return {"__t": "complex", "v": [obj.real, obj.imag]}
    if type(obj) is bytes:
        return {"__t": "bytes", "data": _b64(obj, budget)}
    if torch is not None:
        if isinstance(obj, torch.Tensor):
            t = obj.detach()
            if t.layout != torch.strided or t.is_quantized or t.device.type == "meta":
                raise NotPlain("only dense tensors can be checked (call .to_dense() / .dequantize())")
            dtype = str(t.dtype).removeprefix("torch.")
            if dtype not in TORCH_DTYPES:
                raise NotPlain(f"tensors of dtype {t.dtype} cannot be checked")
            # a fresh, densely strided copy: torch calls a one-element slice "contiguous" with any stride
            # (U[3:4, 3:4] of a 5x5 matrix has strides (5, 1)... or (1, 5)), and view(uint8) refuses those
            flat = t.cpu().reshape(-1).clone(memory_format=torch.contiguous_format)
            raw = flat.view(torch.uint8).numpy().tobytes() if t.numel() else b""
            return {"__t": "tensor", "dtype": dtype, "shape": list(t.shape), "data": _b64(raw, budget)}
        if isinstance(obj, torch.dtype):
            return {"__t": "dtype", "v": str(obj).removeprefix("torch.")}
    if np is not None:
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in NUMPY_KINDS:
                raise NotPlain(f"numpy arrays of dtype {obj.dtype} cannot be checked")
            arr = np.ascontiguousarray(obj)
            return {"__t": "ndarray", "dtype": arr.dtype.str, "shape": list(arr.shape), "data": _b64(arr.tobytes(), budget)}
        if isinstance(obj, np.generic) and obj.dtype.kind in NUMPY_KINDS:
            return encode(obj.item(), budget, depth + 1)
    raise NotPlain(f"a value of type {type(obj).__module__}.{type(obj).__qualname__} is not plain data")


def _shape(value) -> list[int]:
    if not isinstance(value, list) or len(value) > 64 or not all(type(d) is int and 0 <= d for d in value):
        raise NotPlain("malformed array shape")
    return value


def _raw(obj, budget: _Budget, expected: int) -> bytes:
    data = obj.get("data")
    if not isinstance(data, str) or len(data) > 4 * (MAX_BYTES // 3) + 4:
        raise NotPlain("malformed array data")
    raw = base64.b64decode(data, validate=True)
    budget.spend(len(raw))
    if len(raw) != expected:
        raise NotPlain("array data does not match its shape")
    return raw


def decode(obj, budget: _Budget | None = None, depth: int = 0):
    """Inverse of `encode`, validating everything (the input is untrusted)."""
    budget = budget or _Budget(MAX_BYTES)
    if depth > MAX_DEPTH:
        raise NotPlain("the value is nested too deeply")
    if obj is None or type(obj) in (bool, int, float, str):
        return obj
    if type(obj) is list:
        return [decode(x, budget, depth + 1) for x in obj]
    if type(obj) is not dict:
        raise NotPlain("malformed value")
    kind = obj.get("__t")
    if kind == "tuple":
        return tuple(decode(x, budget, depth + 1) for x in obj.get("v", []))
    if kind == "dict":
        out = {}
        for pair in obj.get("v", []):
            if not (type(pair) is list and len(pair) == 2):
                raise NotPlain("malformed dict")
            key = decode(pair[0], budget, depth + 1)
            try:
                out[key] = decode(pair[1], budget, depth + 1)
            except TypeError:
                raise NotPlain("dict key is not hashable") from None
        return out
    if kind == "complex":
        re, im = obj["v"]
        return complex(float(re), float(im))
    if kind == "bytes":
        data = obj.get("data", "")
        raw = base64.b64decode(data, validate=True) if isinstance(data, str) else b""
        budget.spend(len(raw))
        return raw
    if kind == "tensor":
        import torch

        dtype_name = obj.get("dtype")
        if dtype_name not in TORCH_DTYPES:
            raise NotPlain(f"unsupported tensor dtype {dtype_name!r}")
        dtype = getattr(torch, dtype_name)
        shape = _shape(obj.get("shape"))
        numel = 1
        for d in shape:
            numel *= d
        itemsize = torch.empty((), dtype=dtype).element_size()
        if numel * itemsize > MAX_BYTES:
            raise NotPlain("tensor too large")
        raw = _raw(obj, budget, numel * itemsize)
        if numel == 0:
            return torch.empty(shape, dtype=dtype)
        return torch.frombuffer(bytearray(raw), dtype=dtype).reshape(shape).clone()
    if kind == "ndarray":
        import numpy as np

        try:
            dtype = np.dtype(obj.get("dtype"))
        except TypeError:
            raise NotPlain("unsupported array dtype") from None
        if dtype.kind not in NUMPY_KINDS:
            raise NotPlain("unsupported array dtype")
        shape = _shape(obj.get("shape"))
        numel = 1
        for d in shape:
            numel *= d
        if numel * dtype.itemsize > MAX_BYTES:
            raise NotPlain("array too large")
        raw = _raw(obj, budget, numel * dtype.itemsize)
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if kind == "dtype":
        import torch

        if obj.get("v") not in TORCH_DTYPES:
            raise NotPlain("unsupported dtype")
        return getattr(torch, obj["v"])
    if kind == "ref":
        raise NotPlain("a handle cannot be decoded as data")
    raise NotPlain("malformed value")


def dumps(value) -> str:
    return json.dumps(encode(value))


def loads(text: str):
    if len(text) > 2 * MAX_BYTES:
        raise NotPlain("message too large")
    return decode(json.loads(text))


# ---------------------------------------------------------------------------------------------
# Kernel side. Everything below runs inside the student's kernel (as a private module), so it
# can only ever influence the student's own answers, never a verdict: verdicts are computed by
# the grader on the decoded data.
# ---------------------------------------------------------------------------------------------
_refs: dict[int, object] = {}


def _register(obj) -> dict:
    ref = next((r for r, known in _refs.items() if known is obj), None)
    if ref is None:
        ref = len(_refs) + 1
        _refs[ref] = obj
    kind = "class" if isinstance(obj, type) else "function" if callable(obj) else "object"
    return {"__t": "ref", "ref": ref, "kind": kind, "type": type(obj).__qualname__}


def _student_traceback(exc: BaseException) -> list[str]:
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != "<llm901-bridge>"]
    lines = traceback.format_list(frames) if frames else []
    return ["Traceback (most recent call last):\n", *lines, *traceback.format_exception_only(type(exc), exc)]


def _answer(request: dict, user_ns: dict) -> dict:
    op = request["op"]
    if op == "describe":
        name = request["name"]
        if name not in user_ns:
            return {"ok": True, "value": {"__t": "missing"}}
        obj = user_ns[name]
        try:
            return {"ok": True, "value": encode(obj)}
        except NotPlain:
            return {"ok": True, "value": _register(obj)}
    target = _refs[request["ref"]]
    if op == "getattr":
        obj = getattr(target, request["attr"])
        try:
            return {"ok": True, "value": encode(obj)}
        except NotPlain:
            return {"ok": True, "value": _register(obj)}
    if op == "call":
        args = decode(request["args"])
        kwargs = decode(request["kwargs"])
        try:
            result = target(*args, **kwargs)
        except Exception as exc:
            return {"ok": False, "error": {"ename": type(exc).__name__, "evalue": str(exc)[:2000],
                                           "traceback": _student_traceback(exc)}}
        try:
            return {"ok": True, "value": encode(result)}
        except NotPlain as exc:
            if isinstance(target, type) or any(result is known for known in _refs.values()):
                return {"ok": True, "value": _register(result)}
            return {"ok": False, "notplain": str(exc)}
    raise ValueError(f"unknown request {op!r}")


def serve(request_json: str, user_ns: dict) -> None:
    """Answer one request from the grader with a display message of our own MIME type."""
    try:
        reply = _answer(json.loads(request_json), user_ns)
        text = json.dumps(reply)
    except NotPlain as exc:
        text = json.dumps({"ok": False, "notplain": str(exc)})
    except Exception as exc:
        text = json.dumps({"ok": False, "error": {"ename": type(exc).__name__, "evalue": str(exc)[:2000],
                                                  "traceback": _student_traceback(exc)}})
    from IPython.display import publish_display_data

    publish_display_data({MIME: text})
