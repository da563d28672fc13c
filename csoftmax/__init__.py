"""csoftmax: fast, accurate softmax, log_softmax, logsumexp and fused cross-entropy for NumPy."""
from ._version import __version__
from ._api import (
    config,
    get_num_threads,
    log_softmax,
    logsumexp,
    set_num_threads,
    show_config,
    softmax,
)
from ._losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_grad,
    cross_entropy,
    cross_entropy_with_grad,
    log_sigmoid,
    log_softmax_backward,
    nll_loss,
    sigmoid,
    softmax_backward,
)
from ._inference import mixture_softmax, one_hot, predict, sample
from . import calibration  # noqa: E402  (csoftmax.calibration; matplotlib loaded lazily)
from . import special  # noqa: E402  (csoftmax.special: scipy.special drop-in; never imports SciPy)
from . import reference  # noqa: E402  (csoftmax.reference: the plain NumPy long-double reference)

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
