"""Benchmarks: softmax on tiny rows (1,000,000 x 3, 65536 x 10) and wide rows (4096 x 1000, 256 x
32000), float32 and float64.

One group per (function, dtype, shape); see contenders.py for what each
contender runs.
"""
import pytest

import contenders

PAIRS = contenders.pairs(contenders.cases(("softmax",), kinds=("tiny", "mid", "wide")))


@pytest.mark.parametrize(("case", "contender"), PAIRS,
                         ids=[f"{case.id}-{name}" for case, name in PAIRS])
def test_softmax(run_contender, case, contender):
    run_contender(case, contender)
