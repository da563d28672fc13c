"""Benchmarks: log_softmax on tiny and wide rows, float32 and float64.

One group per (function, dtype, shape); see contenders.py for what each
contender runs.
"""
import pytest

import contenders

PAIRS = contenders.pairs(contenders.cases(("log_softmax",), kinds=("tiny", "mid", "wide")))


@pytest.mark.parametrize(("case", "contender"), PAIRS,
                         ids=[f"{case.id}-{name}" for case, name in PAIRS])
def test_log_softmax(run_contender, case, contender):
    run_contender(case, contender)
