"""Benchmarks: softmax, log_softmax and logsumexp over axis 0 of C-ordered
arrays (10 x 65536, 1000 x 4096), float32 and float64: the reduction runs
down the columns (csoftmax's column kernels, src_c/columns.h; PyTorch dim=0,
onnxruntime axis=0, SciPy axis=0).

One group per (function, dtype, shape); see contenders.py for what each
contender runs.
"""
import pytest

import contenders

PAIRS = contenders.pairs(contenders.cases(("softmax", "log_softmax", "logsumexp"), kinds=("cols",)))


@pytest.mark.parametrize(("case", "contender"), PAIRS,
                         ids=[f"{case.id}-{name}" for case, name in PAIRS])
def test_axis0(run_contender, case, contender):
    run_contender(case, contender)
