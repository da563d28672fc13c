"""Shared fixtures: a seeded RNG and a fixture that runs a test under every ISA.

- ``rng``: ``np.random.default_rng(seed)`` with the seed from the environment
  variable CSOFTMAX_TEST_SEED (default below), printed in pytest's header so a
  failure can be replayed: ``CSOFTMAX_TEST_SEED=123 pytest tests``.
- ``isa``: parametrized over ``csoftmax._kernels.available_isas()``; forces that
  instruction-set level for the test and restores the previous one afterwards
  (the idea of SimSIMD's ``keep_one_capability``), so every kernel is tested
  on every level this machine can run.
"""
import os

import numpy as np
import pytest

from csoftmax import _kernels

DEFAULT_SEED = 20240611


def _seed() -> int:
    text = os.environ.get("CSOFTMAX_TEST_SEED", "").strip()
    if not text:
        return DEFAULT_SEED
    try:
        return int(text, 0)
    except ValueError:
        raise pytest.UsageError(f"CSOFTMAX_TEST_SEED={text!r} is not an integer") from None


SEED = _seed()
ISAS = _kernels.available_isas()


def pytest_report_header(config):
    return (f"csoftmax: CSOFTMAX_TEST_SEED={SEED}, ISAs tested: {', '.join(ISAS)} "
            f"(default {_kernels.get_isa()})")


@pytest.fixture
def rng():
    """A fresh generator per test, seeded from CSOFTMAX_TEST_SEED."""
    return np.random.default_rng(SEED)


@pytest.fixture(params=ISAS)
def isa(request):
    """Run the test with the kernels forced to one instruction-set level."""
    previous = _kernels.get_isa()
    _kernels.set_isa(request.param)
    try:
        yield request.param
    finally:
        _kernels.set_isa(previous)


def general_targets(t):
    """Class targets with their bytes swapped (the same values): the loss fast
    paths decline non-native byte order, so a call with these takes the
    general path, which converts them to int64 - the reference the fast
    paths' results are compared with."""
    t = np.asarray(t)
    return t.astype(t.dtype.newbyteorder())
