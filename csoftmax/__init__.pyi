# Type stubs for the public csoftmax namespace. Keep in step with csoftmax/__init__.py:
# tests/test_cli.py checks that __all__ here equals csoftmax.__all__ and that every name is
# declared with the same parameters as the runtime function.
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

__version__: str
__all__ = [
    "__version__",
    "softmax",
    "log_softmax",
    "logsumexp",
    "cross_entropy",
    "cross_entropy_with_grad",
    "nll_loss",
    "softmax_backward",
    "log_softmax_backward",
    "sigmoid",
    "log_sigmoid",
    "binary_cross_entropy",
    "binary_cross_entropy_with_grad",
    "config",
    "show_config",
    "set_num_threads",
    "get_num_threads",
    "predict",
    "one_hot",
    "sample",
    "mixture_softmax",
]

_Reduction = Literal["mean", "sum", "none"]
_Seed = int | np.random.SeedSequence | np.random.BitGenerator | np.random.Generator | None

def softmax(
    x: ArrayLike,
    axis: int = -1,
    *,
    out: NDArray[Any] | None = None,
    temperature: float = 1.0,
    where: ArrayLike | None = None,
) -> NDArray[np.floating[Any]]: ...
def log_softmax(
    x: ArrayLike,
    axis: int = -1,
    *,
    out: NDArray[Any] | None = None,
    temperature: float = 1.0,
    where: ArrayLike | None = None,
) -> NDArray[np.floating[Any]]: ...
def logsumexp(
    x: ArrayLike,
    axis: int = -1,
    *,
    keepdims: bool = False,
    temperature: float = 1.0,
    where: ArrayLike | None = None,
) -> NDArray[np.floating[Any]] | np.floating[Any]: ...
_Float = NDArray[np.floating[Any]]

def cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    axis: int = -1,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: _Reduction = "mean",
    temperature: float = 1.0,
) -> Any: ...
def cross_entropy_with_grad(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    axis: int = -1,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: _Reduction = "mean",
    temperature: float = 1.0,
    out: NDArray[Any] | None = None,
) -> tuple[Any, _Float]: ...
def nll_loss(
    log_probs: ArrayLike,
    target: ArrayLike,
    *,
    axis: int = -1,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: _Reduction = "mean",
) -> Any: ...
def softmax_backward(grad_output: ArrayLike, output: ArrayLike, axis: int = -1, *,
                     out: NDArray[Any] | None = None) -> _Float: ...
def log_softmax_backward(grad_output: ArrayLike, output: ArrayLike, axis: int = -1, *,
                         out: NDArray[Any] | None = None) -> _Float: ...
def sigmoid(x: ArrayLike, *, out: NDArray[Any] | None = None) -> _Float: ...
def log_sigmoid(x: ArrayLike, *, out: NDArray[Any] | None = None) -> _Float: ...
def binary_cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
) -> Any: ...
def binary_cross_entropy_with_grad(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
) -> tuple[Any, _Float]: ...
def config() -> dict[str, Any]: ...
def show_config() -> None: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def predict(x: ArrayLike, axis: int = -1) -> NDArray[np.int64] | np.int64: ...
def one_hot(labels: ArrayLike, num_classes: int, dtype: DTypeLike = ...) -> NDArray[Any]: ...
def sample(
    logits: ArrayLike, *, rng: _Seed = None, temperature: float = 1.0, axis: int = -1
) -> NDArray[np.int64] | np.int64: ...
def mixture_softmax(logits: ArrayLike, mix_logits: ArrayLike, axis: int = -1) -> NDArray[np.floating[Any]]: ...
