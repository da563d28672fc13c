"""Benchmark cases and contenders, shared by the pytest-benchmark files and ``ratios.py``.

A *case* is one (function, dtype, shape, threads) group: softmax, log_softmax,
logsumexp and cross_entropy_with_grad on tiny rows (1,000,000 x 3 and
65536 x 10), rows of 32 columns (32768 x 32: a classifier with a few dozen
classes; the issues set no target there) and wide rows (4096 x 1000 and 256 x 32000) in float32 and
float64, the call overhead on a 10-element float64 vector, softmax on two
threads (4096 x 1000 and a small 64 x 100 input, float32), and softmax,
log_softmax and logsumexp over axis 0 of C-ordered arrays (10 x 65536: ten
classes stored class-major; 1000 x 4096), where the reduction runs down the
columns.

A *contender* turns a case and its pre-allocated inputs into a :class:`Bench`:
a zero-argument ``call`` (what is timed; it returns the result so that it can
be checked), and a ``setup`` run before each timed sample, outside the timing,
that pins the thread count the contender needs. Contenders:

``csoftmax``
    the function under test, writing into a preallocated ``out`` where the
    API has one (softmax, log_softmax).
``csoftmax-1thread``
    only in the two-thread groups: csoftmax pinned to one thread.
``csoftmax.softmax``
    only in the cross_entropy_with_grad groups: softmax of the same logits
    (issue 3: the fused loss + gradient within 1.6x of it).
``reference``
    ``csoftmax.reference`` (extended precision, slow): small shapes only.
``scipy``
    ``scipy.special``; for cross_entropy_with_grad the loss and gradient
    composed from ``scipy.special.logsumexp`` and NumPy.
``torch``
    ``torch.softmax`` / ``log_softmax`` / ``logsumexp`` on ``torch.from_numpy``
    tensors with ``out=``; ``F.cross_entropy`` forward + backward.
``onnxruntime``
    a single-op ``Softmax`` / ``LogSoftmax`` / ``ReduceLogSumExp`` model
    (opset 13, axis -1) built in memory with ``onnx.helper``, run through an
    I/O binding into a preallocated output; no cross-entropy gradient
    (onnxruntime inference has no backward pass).
``np.copyto``
    a copy of the same array into a preallocated one: the floor of a
    one-read-one-write kernel.
``np.add``
    only in the call-overhead groups: ``np.add(x, x, out=out)``.

A contender that cannot run (library not installed, op unsupported) raises
:class:`Unavailable`; the pytest files skip it, ``ratios.py`` leaves it out.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

import csoftmax

FUNCTIONS = ("softmax", "log_softmax", "logsumexp", "cross_entropy_with_grad")
DTYPES = ("float32", "float64")
ROW_FUNCTIONS = ("softmax", "log_softmax")  # the ones that take out=

# Shapes by label. "full" is what the issues' targets are stated on; "small"
# keeps the same kinds of rows but runs in milliseconds (pytest
# --benchmark-disable, the CI smoke run).
SHAPES = {
    "full": {
        "tiny3": (1_000_000, 3),
        "tiny10": (65536, 10),
        "mid32": (32768, 32),
        "mid128": (8192, 128),  # attention scores over 128 positions
        "wide1000": (4096, 1000),
        "wide32000": (256, 32000),
        "vec10": (10,),
        "small": (64, 100),
        "cols10": (10, 65536),  # axis 0
        "cols1000": (1000, 4096),  # axis 0
    },
    "small": {
        "tiny3": (1000, 3),
        "tiny10": (512, 10),
        "mid32": (256, 32),
        "mid128": (64, 128),
        "wide1000": (16, 1000),
        "wide32000": (2, 32000),
        "vec10": (10,),
        "small": (64, 100),
        "cols10": (10, 512),
        "cols1000": (16, 256),
    },
}
KINDS = {"tiny3": "tiny", "tiny10": "tiny", "mid32": "mid", "mid128": "mid", "wide1000": "wide", "wide32000": "wide",
         "vec10": "overhead", "small": "small", "cols10": "cols", "cols1000": "cols"}
# the reduced axis of each kind's cases: the last one, except for "cols"
AXES = {"cols": 0}
# csoftmax.reference works in extended precision: only where the full shape is small
REFERENCE_MAX_ELEMENTS = 1_000_000
ANCHORS = ("torch", "onnxruntime")
CONTENDERS = ("csoftmax", "csoftmax-1thread", "csoftmax.softmax", "reference", "scipy",
              "torch", "onnxruntime", "np.copyto", "np.add")


class Unavailable(Exception):
    """This contender cannot run this case here (the message says why)."""


def shape_text(shape) -> str:
    return "x".join(str(n) for n in shape)


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark group: a function, a dtype, a shape label and a thread count."""

    function: str
    dtype: str
    label: str
    threads: int = 1

    @property
    def kind(self) -> str:
        """"tiny", "mid", "wide", "overhead", "small" or "cols"."""
        return KINDS[self.label]

    @property
    def axis(self) -> int:
        """The reduced axis: -1, or 0 for the "cols" cases."""
        return AXES.get(self.kind, -1)

    def shape(self, scale: str = "full") -> tuple:
        return SHAPES[scale][self.label]

    @property
    def id(self) -> str:
        suffix = f"-{self.threads}threads" if self.threads != 1 else ""
        suffix += "-axis0" if self.axis == 0 else ""
        return f"{self.function}-{self.dtype}-{self.label}{suffix}"

    def group(self, scale: str = "full") -> str:
        """The pytest-benchmark group name, e.g. ``softmax float32 4096x1000``
        (``softmax float32 1000x4096 axis 0`` for the "cols" cases)."""
        suffix = f" {self.threads} threads" if self.threads != 1 else ""
        suffix += " axis 0" if self.axis == 0 else ""
        return f"{self.function} {self.dtype} {shape_text(self.shape(scale))}{suffix}"


def cases(functions=FUNCTIONS, kinds=("tiny", "mid", "wide", "overhead", "threads", "cols")) -> list:
    """Every benchmark case of the given functions and kinds, in a fixed order."""
    found = []
    if "tiny" in kinds or "mid" in kinds or "wide" in kinds:
        for function in functions:
            for dtype in DTYPES:
                for label in ("tiny3", "tiny10", "mid32", "mid128", "wide1000", "wide32000"):
                    if KINDS[label] in kinds:
                        found.append(Case(function, dtype, label))
    if "overhead" in kinds:  # the call overhead: a 10-element float64 vector
        found += [Case(f, "float64", "vec10") for f in functions if f != "cross_entropy_with_grad"]
    if "threads" in kinds and "softmax" in functions:
        found += [Case("softmax", "float32", "wide1000", threads=2),
                  Case("softmax", "float32", "small", threads=2)]
    if "cols" in kinds:  # axis 0 (no cross-entropy: its class axis is the last)
        found += [Case(f, dtype, label) for f in functions if f != "cross_entropy_with_grad"
                  for dtype in DTYPES for label in ("cols10", "cols1000")]
    return found


def applies(name: str, case: Case) -> bool:
    """Whether contender `name` belongs in `case`'s group at all."""
    if name == "csoftmax-1thread":
        return case.threads != 1
    if name == "csoftmax.softmax":
        return case.function == "cross_entropy_with_grad"
    if name == "np.add":
        return case.kind == "overhead"
    if name == "reference":
        return case.threads == 1 and int(np.prod(case.shape("full"))) <= REFERENCE_MAX_ELEMENTS
    if name == "onnxruntime":
        return case.function != "cross_entropy_with_grad"
    return name in CONTENDERS


def pairs(case_list) -> list:
    """(case, contender name) for every contender that belongs in each case."""
    return [(case, name) for case in case_list for name in CONTENDERS if applies(name, case)]


# ---------------------------------------------------------------------------
# inputs


@dataclasses.dataclass
class Inputs:
    x: np.ndarray  # logits, C-contiguous, never written
    target: np.ndarray | None  # int64 class indices (cross-entropy only)


def make_inputs(case: Case, scale: str = "full", seed: int = 0) -> Inputs:
    """Seeded inputs: logits 3 * N(0, 1) in the case's dtype, uniform class targets."""
    rng = np.random.default_rng(seed)
    shape = case.shape(scale)
    x = (3.0 * rng.standard_normal(shape)).astype(case.dtype)
    target = None
    if case.function == "cross_entropy_with_grad":
        target = rng.integers(0, shape[-1], size=shape[:-1], dtype=np.int64)
    return Inputs(x=x, target=target)


# ---------------------------------------------------------------------------
# contenders


@dataclasses.dataclass
class Bench:
    call: Callable[[], object]  # timed; returns the result
    setup: Callable[[], None] = lambda: None  # before each timed sample, untimed


def _pin_csoftmax(n: int) -> Callable[[], None]:
    return lambda: csoftmax.set_num_threads(n)


def _csoftmax(case, inputs):
    x, axis = inputs.x, case.axis
    f = getattr(csoftmax, case.function)
    if case.function in ROW_FUNCTIONS:
        out = np.empty_like(x)
        call = lambda: f(x, axis=axis, out=out)  # noqa: E731
    elif case.function == "logsumexp":
        call = lambda: f(x, axis=axis)  # noqa: E731
    else:
        target = inputs.target
        call = lambda: f(x, target)  # noqa: E731
    return Bench(call, _pin_csoftmax(case.threads))


def _csoftmax_1thread(case, inputs):
    bench = _csoftmax(case, inputs)
    return Bench(bench.call, _pin_csoftmax(1))


def _csoftmax_softmax(case, inputs):
    x, out = inputs.x, np.empty_like(inputs.x)
    return Bench(lambda: csoftmax.softmax(x, out=out), _pin_csoftmax(case.threads))


def _reference(case, inputs):
    try:
        from csoftmax import reference
    except ImportError as exc:
        raise Unavailable(f"csoftmax.reference is not importable: {exc}") from None
    f = getattr(reference, case.function, None)
    if f is None:
        raise Unavailable(f"csoftmax.reference has no {case.function}")
    x = inputs.x
    if case.function == "cross_entropy_with_grad":
        target = inputs.target
        return Bench(lambda: f(x, target))
    return Bench(lambda: f(x, axis=case.axis))


def _scipy(case, inputs):
    try:
        import scipy.special as special
    except ImportError as exc:
        raise Unavailable(f"scipy is not installed: {exc}") from None
    x = inputs.x
    if case.function != "cross_entropy_with_grad":
        f = getattr(special, case.function)
        return Bench(lambda: f(x, axis=case.axis))
    target = inputs.target
    rows = np.arange(x.shape[0])

    def call():  # mean loss and its gradient, composed from scipy.special.logsumexp
        lse = special.logsumexp(x, axis=-1)
        n = x.shape[0]
        loss = np.mean(lse - x[rows, target])
        grad = np.exp(x - lse[:, None])
        grad[rows, target] -= 1
        grad /= n
        return loss, grad
    return Bench(call)


def _torch_module():
    try:
        import torch
    except ImportError as exc:
        raise Unavailable(f"PyTorch is not installed: {exc}") from None
    return torch


def _torch(case, inputs):
    torch = _torch_module()
    threads = case.threads
    setup = lambda: torch.set_num_threads(threads)  # noqa: E731
    x = inputs.x
    if case.function == "cross_entropy_with_grad":
        import torch.nn.functional as F
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        tt = torch.from_numpy(inputs.target)

        def call():  # forward + backward, the gradient with respect to the logits
            tx.grad = None
            loss = F.cross_entropy(tx, tt)
            loss.backward()
            return loss, tx.grad
        return Bench(call, setup)
    f = getattr(torch, case.function)
    tx = torch.from_numpy(x)
    out = np.empty(_reduced_shape(x, case.axis) if case.function == "logsumexp" else x.shape,
                   dtype=x.dtype)
    tout = torch.from_numpy(out)
    axis = case.axis
    return Bench(lambda: f(tx, axis, out=tout), setup)


def _reduced_shape(x, axis: int) -> tuple:
    return tuple(n for i, n in enumerate(x.shape) if i != axis % x.ndim)


_ORT_OPS = {"softmax": "Softmax", "log_softmax": "LogSoftmax", "logsumexp": "ReduceLogSumExp"}
_ort_sessions: dict = {}


def onnxruntime_session(function: str, dtype: str, ndim: int, threads: int = 1, axis: int = -1):
    """A cached onnxruntime session running one Softmax / LogSoftmax / ReduceLogSumExp
    node (opset 13, over `axis`) on a `ndim`-dimensional `dtype` input ``x``, output ``y``."""
    key = (function, dtype, ndim, threads, axis)
    if key in _ort_sessions:
        return _ort_sessions[key]
    try:
        import onnx
        import onnxruntime
        from onnx import TensorProto, helper
    except ImportError as exc:
        raise Unavailable(f"onnxruntime / onnx are not installed: {exc}") from None
    if function not in _ORT_OPS:
        raise Unavailable(f"no onnxruntime op for {function}")
    element = {"float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE}[dtype]
    dims = [f"d{i}" for i in range(ndim)]
    if function == "logsumexp":
        node = helper.make_node("ReduceLogSumExp", ["x"], ["y"], axes=[axis], keepdims=0)
        out_dims = [d for i, d in enumerate(dims) if i != axis % ndim]
    else:
        node = helper.make_node(_ORT_OPS[function], ["x"], ["y"], axis=axis)
        out_dims = dims
    graph = helper.make_graph(
        [node], f"csoftmax_bench_{function}",
        [helper.make_tensor_value_info("x", element, dims)],
        [helper.make_tensor_value_info("y", element, out_dims)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = min(model.ir_version, 9)  # what older onnxruntime releases accept
    onnx.checker.check_model(model)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # its worker threads spin-wait after each run by default, which takes the
    # other core from whatever is timed next (csoftmax's 2-thread samples ran at
    # its 1-thread speed in the same group): they sleep instead
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    try:
        session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                               providers=["CPUExecutionProvider"])
    except Exception as exc:  # e.g. an op without a kernel for this dtype
        raise Unavailable(f"onnxruntime cannot run {_ORT_OPS[function]} on {dtype}: "
                          f"{exc}") from None
    _ort_sessions[key] = session
    return session


def _onnxruntime(case, inputs):
    import onnxruntime  # importable: onnxruntime_session checked

    x = inputs.x
    session = onnxruntime_session(case.function, case.dtype, x.ndim, case.threads, case.axis)
    out = np.empty(_reduced_shape(x, case.axis) if case.function == "logsumexp" else x.shape,
                   dtype=x.dtype)
    binding = session.io_binding()
    binding.bind_ortvalue_input("x", onnxruntime.OrtValue.ortvalue_from_numpy(x))
    binding.bind_ortvalue_output("y", onnxruntime.OrtValue.ortvalue_from_numpy(out))
    run = session.run_with_iobinding

    def call():
        run(binding)
        return out
    return Bench(call)


def _copyto(case, inputs):
    x, out = inputs.x, np.empty_like(inputs.x)

    def call():
        np.copyto(out, x)
        return out
    return Bench(call)


def _add(case, inputs):
    x, out = inputs.x, np.empty_like(inputs.x)
    return Bench(lambda: np.add(x, x, out=out))


_FACTORIES = {
    "csoftmax": _csoftmax,
    "csoftmax-1thread": _csoftmax_1thread,
    "csoftmax.softmax": _csoftmax_softmax,
    "reference": _reference,
    "scipy": _scipy,
    "torch": _torch,
    "onnxruntime": _onnxruntime,
    "np.copyto": _copyto,
    "np.add": _add,
}


def make_bench(name: str, case: Case, inputs: Inputs) -> Bench:
    """The :class:`Bench` of contender `name` on `case`, or :class:`Unavailable`."""
    if not applies(name, case):
        raise Unavailable(f"{name} does not belong in the {case.id} group")
    return _FACTORIES[name](case, inputs)


# ---------------------------------------------------------------------------
# result checks: the harness must time the right computation


def _as_numpy(value):
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().numpy()
    return np.asarray(value)


def expected(name: str, case: Case, inputs: Inputs):
    """What contender `name` must return, computed in float64 with plain NumPy."""
    x = inputs.x
    if name == "np.copyto":
        return x
    if name == "np.add":
        return x + x
    function = "softmax" if name == "csoftmax.softmax" else case.function
    z = x.astype(np.float64)
    m = z.max(axis=case.axis, keepdims=True)
    lse = m + np.log(np.sum(np.exp(z - m), axis=case.axis, keepdims=True))
    if function == "softmax":
        return np.exp(z - lse)
    if function == "log_softmax":
        return z - lse
    if function == "logsumexp":
        return np.squeeze(lse, axis=case.axis)
    rows = np.arange(z.shape[0])
    n = z.shape[0]
    loss = np.mean(lse[:, 0] - z[rows, inputs.target])
    grad = np.exp(z - lse)
    grad[rows, inputs.target] -= 1
    return loss, grad / n


def check(name: str, case: Case, inputs: Inputs, result) -> None:
    """Raise AssertionError unless `result` is what contender `name` must compute.

    The tolerance is loose (this is about the harness, not accuracy: see
    accuracy.py): relative 1e-4 in float32, 1e-10 in float64.
    """
    want = expected(name, case, inputs)
    tolerance = 1e-4 if case.dtype == "float32" else 1e-10
    if isinstance(want, tuple):
        assert isinstance(result, tuple) and len(result) == 2, \
            f"{name} on {case.id} returned {type(result).__name__}, expected (loss, grad)"
        pairs_ = [("loss", result[0], want[0]), ("grad", result[1], want[1])]
    else:
        pairs_ = [("result", result, want)]
    for what, got, ref in pairs_:
        got = _as_numpy(got)
        assert got.shape == np.shape(ref), \
            f"{name} on {case.id}: {what} has shape {got.shape}, expected {np.shape(ref)}"
        scale = max(1.0, float(np.max(np.abs(ref)))) if np.size(ref) else 1.0
        np.testing.assert_allclose(got.astype(np.float64), ref, rtol=tolerance,
                                   atol=tolerance * scale / 100,
                                   err_msg=f"{name} on {case.id}: wrong {what}")


def pin_single_thread() -> None:
    """csoftmax (and PyTorch, if imported) on one thread."""
    csoftmax.set_num_threads(1)
    import sys
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
