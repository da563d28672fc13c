"""Benchmarks: fused loss + gradient (every cross-entropy option, BCE) against
PyTorch forward + backward, and the softmax / log_softmax backward passes
against the kernels PyTorch's autograd runs, and a NumPy call with the same
memory traffic (the floor). float32, one thread; one group per (case, shape).
Cases and contenders live in losses_ratios.py (which also prints the
side-by-side ratios). Under --benchmark-disable small shapes are used and
each call runs once.
"""
import numpy as np
import pytest

import losses_ratios

pytest.importorskip("torch")


def _cases(shapes):
    return [(kind, name, shape, build) for kind, name, shape, build in losses_ratios.cases(shapes)]


FULL = _cases(losses_ratios.FULL_SHAPES)
IDS = [f"{kind}-{name}-{shape[0]}x{shape[1]}" for kind, name, shape, _ in FULL]


@pytest.fixture
def shapes(request):
    small = request.config.getoption("benchmark_disable")
    return losses_ratios.SMALL_SHAPES if small else losses_ratios.FULL_SHAPES


@pytest.mark.parametrize("contender", losses_ratios.CONTENDERS)
@pytest.mark.parametrize("index", range(len(FULL)), ids=IDS)
def test_losses(benchmark, shapes, index, contender):
    losses_ratios.pin_single_thread()
    kind, name, shape, _ = FULL[index]
    position = losses_ratios.FULL_SHAPES.index(shape)
    small_shape = shapes[position]
    build = [b for k, n, s, b in losses_ratios.cases((small_shape,)) if (k, n) == (kind, name)][0]
    benchmark.group = f"{kind}:{name} {small_shape[0]}x{small_shape[1]} float32"
    result = benchmark(build()[contender])
    assert result is not None or contender == "numpy floor"  # np.copyto returns None


# PyTorch's (N, C, d) input, the classes on axis 1: every cross-entropy option
# and the backward passes (the column kernels, src_c/columns.h)
SEGMENTATION = _cases(losses_ratios.SEGMENTATION_SHAPES)
SEGMENTATION_SMALL = (2, 5, 64)


@pytest.mark.parametrize("contender", losses_ratios.CONTENDERS)
@pytest.mark.parametrize("index", range(len(SEGMENTATION)),
                         ids=[f"{kind}-{name}-{'x'.join(map(str, shape))}"
                              for kind, name, shape, _ in SEGMENTATION])
def test_losses_class_axis_1(benchmark, request, index, contender):
    losses_ratios.pin_single_thread()
    kind, name, shape, _ = SEGMENTATION[index]
    if request.config.getoption("benchmark_disable"):
        shape = SEGMENTATION_SMALL
    build = [b for k, n, s, b in losses_ratios.cases((shape,)) if (k, n) == (kind, name)][0]
    benchmark.group = f"{kind}:{name} {'x'.join(map(str, shape))} axis 1 float32"
    result = benchmark(build()[contender])
    assert result is not None or contender == "numpy floor"
