"""The scripts beside the benchmarks (ratios.py, accuracy.py, ab.py, kernel_ab.py, short_rows.py) run, and their bookkeeping is right.

Run with the benchmarks (``pytest benchmarks --benchmark-disable``), on tiny
inputs: these check the harness, not csoftmax's speed or accuracy.
"""
import json
import shutil
import subprocess
import types

import numpy as np
import pytest

import ab
import accuracy
import contenders
import kernel_ab
import losses_ratios
import ratios
import short_rows


def _result(function, dtype, label, ratios_, threads=1):
    case = contenders.Case(function, dtype, label, threads)
    return {"function": function, "dtype": dtype, "kind": case.kind, "threads": threads,
            "group": case.group(), "ratios": ratios_}


@pytest.mark.parametrize(("value", "status"), [(0.8, "PASS"), (0.81, "FAIL"), (None, "n/a")])
def test_wide_row_target_is_at_most_0_8_of_the_best_anchor(value, status):
    r = _result("softmax", "float64", "wide1000", {} if value is None else {"best anchor": value})
    [row] = ratios._target_rows([r])
    assert row["target"].startswith("wide rows") and row["status"] == status


@pytest.mark.parametrize(("speedup", "status"), [(1.5, "PASS"), (1.49, "FAIL")])
def test_thread_target_is_a_speed_up_of_at_least_1_5(speedup, status):
    r = _result("softmax", "float32", "wide1000", {"csoftmax-1thread": speedup}, threads=2)
    [row] = ratios._target_rows([r])
    assert row["status"] == status and row["limit"] == ">= 1.5"


def test_every_target_of_issue_3_is_checked():
    results = [_result(c.function, c.dtype, c.label, {}, c.threads) for c in contenders.cases()]
    names = {row["target"].split(":")[0] for row in ratios._target_rows(results)}
    assert names == {"wide rows", "wide rows float32", "tiny rows", "cross_entropy_with_grad",
                     "2 threads", "2 threads, small input", "call overhead"}


def test_cases_cover_the_issue_shapes():
    full = {contenders.shape_text(c.shape("full")) for c in contenders.cases()}
    assert {"1000000x3", "65536x10", "4096x1000", "256x32000", "10"} <= full
    groups = [c.group() for c in contenders.cases()]
    assert len(groups) == len(set(groups))


def test_ratios_script_runs_and_prints_the_targets(capsys, tmp_path):
    argv = ["--small", "--quick", "--repeats", "1", "--only", "^softmax-float64-vec10$"]
    assert ratios.main(argv + ["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    [result] = report["results"]
    assert {"csoftmax", "np.copyto", "np.add"} <= set(result["seconds"])
    assert result["ratios"]["np.add"] == pytest.approx(
        result["seconds"]["csoftmax"] / result["seconds"]["np.add"])
    assert [t["target"] for t in report["targets"]] == ["call overhead: <= 3x np.add"]
    assert ratios.main(argv) == 0
    text = capsys.readouterr().out
    assert "## softmax" in text and "call overhead: <= 3x np.add" in text


def test_ratios_plot(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "ratios.png"
    assert ratios.main(["--small", "--quick", "--repeats", "1",
                        "--only", "^log_softmax-float32-tiny3$", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_accuracy_errors_in_ulps(dtype):
    r = np.array([1.0, 0.3, 1e-3], dtype=np.longdouble) / 3
    rounded = r.astype(dtype)
    assert accuracy.errors(rounded, r, dtype)["max_ulp"] <= 0.5
    one_up = np.nextafter(rounded, np.inf)
    assert 0.5 <= accuracy.errors(one_up, r, dtype)["max_ulp"] <= 1.5


def test_accuracy_near_zero_log_probability():
    r = np.array([-4.248354255291589e-18, -40.0], dtype=np.longdouble)
    got = np.array([0.0, -40.0])
    e = accuracy.errors(got, r, np.float64)
    assert e["max_rel"] == pytest.approx(1.0)
    assert e["max_rel_away_from_zero"] == 0.0


def test_accuracy_script_on_a_small_shape(monkeypatch):
    monkeypatch.setattr(accuracy, "SHAPES", [(20, 7)])
    report = accuracy.run([contenders.csoftmax._kernels.get_isa()])
    assert len(report["rows"]) == len(accuracy.FUNCTIONS) * len(accuracy.DTYPES) * 2
    for row in report["rows"]:
        assert not row["failed"]
        if "reference" in row["errors"]:  # rounded from the oracle itself
            assert row["errors"]["reference"]["max_ulp"] <= 0.5 + 1e-9
    text = accuracy.format_markdown(report)
    assert "## logsumexp float64" in text and "csoftmax <= best?" in text


@pytest.mark.parametrize("statistic", ["median", "min"])
def test_losses_interleaved_times_alternate_and_reduce(statistic, monkeypatch):
    """Every call runs `repeat` times (after one warm-up each), the order
    reversed every other sample, and the reduction is the one asked for.
    The clock is a fake one that each call advances by its own durations
    (real sleeps made the test depend on the machine's load: on a busy CI
    machine an empty call once took more than the 2 ms the test slept)."""
    calls = []
    now = [0.0]
    # each call's durations, sample by sample (the warm-up's first)
    durations = {"a": [9.0, 1.0, 2.0, 3.0, 4.0], "b": [9.0, 10.0, 30.0, 20.0, 40.0],
                 "c": [9.0, 0.5, 0.5, 0.5, 7.0]}
    monkeypatch.setattr(losses_ratios, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))

    def make(name):
        def call():
            calls.append(name)
            now[0] += durations[name][sum(c == name for c in calls) - 1]
        return call

    ta, tb, tc = losses_ratios.interleaved_times([make("a"), make("b"), make("c")], 4, statistic)
    assert calls == list("abc" "abc" "cba" "abc" "cba")
    if statistic == "median":
        assert (ta, tb, tc) == (2.5, 25.0, 0.5)
    else:
        assert (ta, tb, tc) == (1.0, 10.0, 0.5)


def test_losses_script_small_min(capsys):
    pytest.importorskip("torch")
    losses_ratios.main(["--small", "--repeat", "1", "--statistic", "min"])
    out = capsys.readouterr().out
    assert "min of 1 interleaved samples" in out
    assert out.count("xent:") == 2 * len(losses_ratios.XENT_OPTIONS)
    rows = [line.split() for line in out.splitlines() if ":" in line.split(" ")[0]]
    assert rows and all(float(r[-1]) > 0 and float(r[-2]) >= 0 for r in rows)  # x floor, floor ms


def test_losses_tiny_rows_are_every_case():
    """The tiny-row section of the full run: every cross-entropy option, both
    binary cross-entropy cases and the two backward passes per shape, each
    case's calls giving results of the shape (built on a small stand-in)."""
    got = losses_ratios.cases(losses_ratios.TINY_SHAPES)
    assert [(k, n, s) for k, n, s, _ in got] == [
        (k, n, s) for s in losses_ratios.TINY_SHAPES
        for k, n in [("xent", n) for n in losses_ratios.XENT_OPTIONS]
        + [("bce", n) for n in losses_ratios.BCE_OPTIONS]
        + [("backward", n) for n in losses_ratios.BACKWARD]]
    pytest.importorskip("torch")
    for kind, name, shape, build in losses_ratios.cases(((40, 3),)):
        calls = build()
        assert tuple(calls) == losses_ratios.CONTENDERS
        calls["numpy floor"]()  # the inputs' shapes fit its copy or sum
        a, b = calls["csoftmax"](), calls["torch"]()
        if kind in ("xent", "bce"):
            assert a[1].shape == (40, 3) and tuple(b[1].shape) == (40, 3), name
            assert np.allclose(a[0], b[0].item(), rtol=1e-4), name
            assert np.allclose(a[1], b[1].numpy(), rtol=1e-4, atol=1e-6), name
        else:
            assert a.shape == (40, 3) and tuple(b.shape) == (40, 3), name


def test_short_rows_script_gives_every_ratio():
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    r = short_rows.measure(17, np.float32, repeat=1, elements=17 * 40)
    assert r["shape"] == "40x17"
    ratios_ = [v for k, v in r.items() if k != "shape"]
    assert len(ratios_) == 5 and all(np.isfinite(v) and v > 0 for v in ratios_)


def test_ab_cases_cover_every_operation():
    got = ab.cases(np.random.default_rng(0), "float32 32768x32")
    assert sorted({name.split()[0] for name in got}) == sorted(ab.OPS)
    assert all(name.endswith("float32 32768x32") for name in got)


def test_ab_cases_of_the_class_axis_1():
    got = ab.cases(np.random.default_rng(0), "float64 8x21x4096 axis 1")
    assert sorted(got) == sorted(f"{op} float64 8x21x4096 axis 1" for op in (
        "softmax", "log_softmax", "softmax_backward", "cross_entropy", "cross_entropy:loss",
        "cross_entropy:weight", "cross_entropy:smoothing", "cross_entropy:probabilities"))
    loss, grad = got["cross_entropy float64 8x21x4096 axis 1"]()
    assert grad.shape == (8, 21, 4096) and np.isfinite(loss)


def test_ab_script_compares_two_builds(capsys, tmp_path):
    """A/A: the installed extension against a copy of its own file, two rounds
    of one small case; the installed file itself is refused."""
    from csoftmax import _kernels
    copy = tmp_path / "csoftmax" / "_kernels_copy.so"
    copy.parent.mkdir()
    shutil.copy(_kernels.__file__, copy)
    assert ab.main([str(tmp_path), "--only", "softmax float64 65536x10", "--rounds", "2"]) == 0
    out = capsys.readouterr().out
    [row] = [line for line in out.splitlines() if line.startswith("softmax float64 65536x10")]
    ratio = float(row.split()[-2])
    assert 0.1 < ratio < 10
    with pytest.raises(SystemExit, match="installed build"):
        ab.main([_kernels.__file__])
    with pytest.raises(SystemExit, match="no case matches"):
        ab.main([str(tmp_path), "--only", "no such case"])


def _kernel_ab_usable():
    import csoftmax
    git = shutil.which("git") and subprocess.run(
        ["git", "-C", kernel_ab.ROOT, "rev-parse", "HEAD"], capture_output=True).returncode == 0
    return (kernel_ab.have_compiler() and git
            and "avx2" in csoftmax.config()["isa_available"])


@pytest.mark.skipif(not _kernel_ab_usable(), reason="needs gcc, a git checkout and AVX2")
def test_kernel_ab_compares_two_trees(capsys):
    """A/A of the C kernel A/B: HEAD's src_c against this checkout's (the same
    kernels unless the checkout has changes), one round of two kernels on a
    tiny shape: one row each, finite times, a ratio near 1; errors named.
    Compiled at -O0 (seconds instead of a minute per side: the harness is
    under test here, not the kernels' speed)."""
    assert kernel_ab.main(["HEAD", "--shape", "4", "100", "--rounds", "3",
                           "--only", "xent_f", "--opt", "0"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in out[1:]}
    assert set(rows) == {"xent_f32", "xent_f64"}  # the names holding "xent_f"
    for name, row in rows.items():
        assert row[1] == "4x100"
        old, new, ratio = (float(v) for v in row[2:])
        assert old > 0 and new > 0 and 0.1 < ratio < 10, row
    with pytest.raises(SystemExit, match="git archive"):
        kernel_ab.main(["no-such-commit"])
    with pytest.raises(SystemExit, match="no kernel name contains"):
        kernel_ab.main(["HEAD", "--shape", "2", "10", "--rounds", "1", "--only", "nothing",
                        "--opt", "0"])
    with pytest.raises(SystemExit, match="positive"):
        kernel_ab.main(["HEAD", "--shape", "0", "10"])


def test_kernel_ab_compiler_from_cc(monkeypatch):
    """$CC may hold a launcher before the compiler (the CI's "ccache gcc"): split
    as a shell would, and only the first word looked up on PATH."""
    monkeypatch.setenv("CC", "ccache gcc -m64")
    assert kernel_ab.compiler() == ["ccache", "gcc", "-m64"]
    monkeypatch.setenv("CC", "")
    assert kernel_ab.compiler() == ["gcc"]
    monkeypatch.delenv("CC")
    assert kernel_ab.compiler() == ["gcc"]
    monkeypatch.setenv("CC", "no-such-compiler-xyz gcc")
    assert not kernel_ab.have_compiler()
    monkeypatch.setenv("CC", "sh -c")   # sh is on PATH
    assert kernel_ab.have_compiler()
