"""Benchmarks: cross_entropy_with_grad (fused loss + gradient) against csoftmax.softmax on the same
logits and PyTorch's F.cross_entropy forward + backward.

One group per (function, dtype, shape); see contenders.py for what each
contender runs.
"""
import pytest

import contenders

PAIRS = contenders.pairs(contenders.cases(("cross_entropy_with_grad",), kinds=("tiny", "mid", "wide")))


@pytest.mark.parametrize(("case", "contender"), PAIRS,
                         ids=[f"{case.id}-{name}" for case, name in PAIRS])
def test_cross_entropy(run_contender, case, contender):
    run_contender(case, contender)
