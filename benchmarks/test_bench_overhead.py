"""Benchmarks: call overhead on a 10-element float64 vector, against np.add on the same vector.

One group per (function, dtype, shape); see contenders.py for what each
contender runs.
"""
import pytest

import contenders

PAIRS = contenders.pairs(contenders.cases(contenders.FUNCTIONS, kinds=("overhead",)))


@pytest.mark.parametrize(("case", "contender"), PAIRS,
                         ids=[f"{case.id}-{name}" for case, name in PAIRS])
def test_overhead(run_contender, case, contender):
    run_contender(case, contender)
