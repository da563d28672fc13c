"""Benchmarks: softmax on two threads (4096 x 1000 and a small 64 x 100 input, float32), against one
thread.

One group per (function, dtype, shape); see contenders.py for what each
contender runs.
"""
import pytest

import contenders

PAIRS = contenders.pairs(contenders.cases(("softmax",), kinds=("threads",)))


@pytest.mark.parametrize(("case", "contender"), PAIRS,
                         ids=[f"{case.id}-{name}" for case, name in PAIRS])
def test_threads(run_contender, case, contender):
    run_contender(case, contender)
