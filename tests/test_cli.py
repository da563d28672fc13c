"""The command line (`python -m csoftmax info | bench | demo`) and the packaging
that ships with it (type stubs, py.typed).

The commands run in a subprocess from a temporary directory, so they exercise
the installed package (the wheel in CI), not the source tree.
"""
import argparse
import ast
import inspect
import json
import math
import os
import subprocess
import sys
from importlib import machinery, resources

import numpy as np
import pytest

import csoftmax
from csoftmax import _bench, _demo

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_cli(*args, cwd, check=True):
    env = dict(os.environ)
    env.pop("CSOFTMAX_ISA", None)
    proc = subprocess.run([sys.executable, "-m", "csoftmax", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, (
            f"python -m csoftmax {' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


# ---------------------------------------------------------------------------
# info


def test_info_text_names_version_kernel_and_threads(tmp_path):
    out = run_cli("info", cwd=tmp_path).stdout
    fields = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    assert fields["version"] == csoftmax.__version__
    available = [name.strip() for name in fields["isa_available"].split(",")]
    assert fields["isa"] in available
    assert int(fields["threads"]) >= 1
    assert "build_flags" in fields or "compile_args" in fields


def test_info_json_matches_config(tmp_path):
    info = json.loads(run_cli("info", "--json", cwd=tmp_path).stdout)
    config = csoftmax.config()
    # run_cli drops CSOFTMAX_ISA: the kernels can differ only when this process forced one
    forced = "CSOFTMAX_ISA" in os.environ
    for key in ("version", "threads") + (() if forced else ("isa",)):
        assert info[key] == config[key], key
    assert info["isa"] in info["isa_available"]
    assert info["extension"].endswith(tuple(machinery.EXTENSION_SUFFIXES))


@pytest.mark.parametrize("argv", [[], ["nonsense"], ["bench", "--plot"], ["demo", "--bogus"]])
def test_bad_command_lines_exit_with_usage_error(tmp_path, argv):
    proc = run_cli(*argv, cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "usage: python -m csoftmax" in proc.stderr


@pytest.mark.parametrize("command", ["bench", "demo"])
def test_unwritable_plot_path_fails_before_the_run(tmp_path, command):
    """--plot into a missing directory: a usage error at once, not a traceback
    after the whole run (whose results the demo printed only after plotting)."""
    target = tmp_path / "missing" / "x.png"
    proc = run_cli(command, "--plot", str(target), cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert f"--plot {target}: the directory {target.parent} does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


# ---------------------------------------------------------------------------
# bench (the hidden --smoke mode: two tiny shapes, seconds)


@pytest.fixture(scope="module")
def bench_smoke(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("bench")
    plot = cwd / "bench.png"
    proc = run_cli("bench", "--smoke", "--json", "--plot", str(plot), cwd=cwd)
    return json.loads(proc.stdout), proc.stderr, plot


def test_bench_json_covers_every_case(bench_smoke):
    report, _, _ = bench_smoke
    cases = {(r["function"], r["dtype"], tuple(r["shape"])) for r in report["results"]}
    expected = {(f, d, tuple(s)) for f in _bench.FUNCTIONS for d in _bench.DTYPES
                for s in _bench.SHAPES["smoke"]}
    assert cases == expected
    assert report["threads"] == 1
    assert {"copy", "csoftmax"} <= set(report["implementations"])


def test_bench_times_and_ratios_are_consistent(bench_smoke):
    report, _, _ = bench_smoke
    for row in report["results"]:
        ns = row["ns_per_element"]
        assert set(ns) == set(report["implementations"]) - {
            name for name in report["implementations"]
            if f"{name}:{row['function']}:{row['dtype']}" in report["skipped"]}
        for name, value in ns.items():
            assert math.isfinite(value) and value > 0, (name, value)
        for name, ratio in row["ratios"].items():
            if name == "best_anchor":
                continue
            assert ratio == pytest.approx(ns["csoftmax"] / ns[name], rel=1e-9), name


def test_bench_reports_progress_on_stderr(bench_smoke):
    report, stderr, _ = bench_smoke
    total = len(report["results"])
    for index in range(1, total + 1):
        assert f"[{index:2d}/{total}]" in stderr


def test_bench_plot_is_a_png(bench_smoke):
    pytest.importorskip("matplotlib")
    _, _, plot = bench_smoke
    assert plot.read_bytes()[:8] == PNG_MAGIC


def test_bench_table_has_both_tables(bench_smoke):
    report, _, _ = bench_smoke
    out = _bench.format_tables(report)
    assert "time per element, ns" in out
    assert "csoftmax time / other time" in out
    rows = [line for line in out.splitlines() if line.startswith(("softmax ", "log_softmax "))]
    assert len(rows) == 2 * len(_bench.FUNCTIONS) * len(_bench.DTYPES) * len(_bench.SHAPES["smoke"])


def test_measure_case_times_every_callable():
    calls = {"a": lambda: None, "b": lambda: sum(range(100))}
    seconds = _bench.measure_case(calls, repeats=3, min_seconds=0.0)
    assert set(seconds) == {"a", "b"}
    assert all(value > 0 for value in seconds.values())


# ---------------------------------------------------------------------------
# demo


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    cwd = tmp_path_factory.mktemp("demo")
    plot = cwd / "reliability.png"
    proc = run_cli("demo", "--json", "--plot", str(plot), cwd=cwd)
    return json.loads(proc.stdout), proc.stderr, plot


def test_demo_json_keys(demo_run):
    result, _, _ = demo_run
    required = {"accuracy", "sklearn_accuracy", "nll", "ece_before", "ece_after", "temperature"}
    assert required <= set(result)


def test_demo_reaches_the_accuracy_target(demo_run):
    """Issue 6: >= 95% test accuracy on digits, within 3 points of scikit-learn."""
    result, _, _ = demo_run
    assert result["accuracy"] >= 0.95
    assert abs(result["accuracy"] - result["sklearn_accuracy"]) <= 0.03


def test_demo_calibration_numbers_are_sane(demo_run):
    result, _, _ = demo_run
    assert 0.0 <= result["ece_before"] <= 1.0
    assert 0.0 <= result["ece_after"] <= 1.0
    assert result["temperature"] > 0
    assert 0.0 < result["nll"] < math.log(10)
    # the temperature minimises the validation NLL, so the test NLL cannot be far worse
    assert result["nll_after"] <= result["nll"] * 1.25


def test_demo_is_quiet_and_plots(demo_run):
    _, stderr, plot = demo_run
    assert "Warning" not in stderr, stderr
    assert plot.read_bytes()[:8] == PNG_MAGIC


def test_demo_text_output(capsys):
    pytest.importorskip("sklearn")
    args = argparse.Namespace(json=False, plot=None)
    assert _demo.main(args) == 0
    out = capsys.readouterr().out
    for text in ("test accuracy", "LogisticRegression", "test mean NLL", "test ECE", "time:"):
        assert text in out, text


def test_demo_is_deterministic():
    pytest.importorskip("sklearn")
    (x_train, y_train), _, _ = _demo.load_split()
    w1, b1 = _demo.train_softmax_regression(x_train, y_train, classes=10, epochs=3)
    w2, b2 = _demo.train_softmax_regression(x_train, y_train, classes=10, epochs=3)
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(b1, b2)


# the local calibration helpers the demo falls back to without csoftmax.calibration


def _ece_by_loops(probs, labels, n_bins):
    """ECE written independently: one pass per sample, bins (lo, hi]."""
    sums = np.zeros((n_bins, 3))  # count, sum of confidence, sum of correct
    for p, label in zip(probs, labels):
        confidence = p.max()
        b = max(0, math.ceil(confidence * n_bins) - 1)
        sums[b] += (1, confidence, p.argmax() == label)
    n = len(labels)
    return sum(c / n * abs(s_ok / c - s_conf / c) for c, s_conf, s_ok in sums if c)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_bins", [1, 10, 15])
def test_local_ece_matches_a_loop(seed, n_bins):
    rng = np.random.default_rng(seed)
    logits = 2.0 * rng.standard_normal((300, 5))
    probs = csoftmax.softmax(logits)
    labels = rng.integers(0, 5, size=300)
    got = _demo._local_expected_calibration_error(probs, labels, n_bins=n_bins)
    assert got == pytest.approx(_ece_by_loops(probs, labels, n_bins), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 2.5])
def test_local_fit_temperature_matches_scipy(true_temperature):
    optimize = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(7)
    logits = 3.0 * rng.standard_normal((2000, 6))
    labels = np.array([rng.choice(6, p=p) for p in csoftmax.softmax(logits / true_temperature)])
    got = _demo._local_fit_temperature(logits, labels)

    def nll(log_t):
        z = logits / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(labels)), labels]))

    best = optimize.minimize_scalar(nll, bounds=(-4, 4), method="bounded",
                                    options={"xatol": 1e-10})
    assert got == pytest.approx(math.exp(best.x), rel=1e-4)


# ---------------------------------------------------------------------------
# packaging: stubs and py.typed ship with the package and match the code


def test_py_typed_and_stub_are_installed():
    files = resources.files("csoftmax")
    assert files.joinpath("py.typed").is_file()
    assert files.joinpath("__init__.pyi").is_file()


def _stub_tree():
    return ast.parse(resources.files("csoftmax").joinpath("__init__.pyi").read_text())


def test_stub_all_matches_runtime_all():
    declared = None
    for node in _stub_tree().body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__"
                                                for t in node.targets):
            declared = ast.literal_eval(node.value)
    assert declared is not None, "csoftmax/__init__.pyi does not define __all__"
    assert sorted(declared) == sorted(csoftmax.__all__), (
        "csoftmax/__init__.pyi's __all__ differs from csoftmax.__all__: "
        f"missing {sorted(set(csoftmax.__all__) - set(declared))}, "
        f"extra {sorted(set(declared) - set(csoftmax.__all__))}")


def _stub_functions():
    return {node.name: node for node in _stub_tree().body if isinstance(node, ast.FunctionDef)}


def _stub_parameters(node):
    a = node.args
    params = [(p.arg, "POSITIONAL_ONLY") for p in a.posonlyargs]
    params += [(p.arg, "POSITIONAL_OR_KEYWORD") for p in a.args]
    if a.vararg:
        params.append((a.vararg.arg, "VAR_POSITIONAL"))
    params += [(p.arg, "KEYWORD_ONLY") for p in a.kwonlyargs]
    if a.kwarg:
        params.append((a.kwarg.arg, "VAR_KEYWORD"))
    return params


@pytest.mark.parametrize("name", [n for n in csoftmax.__all__ if n != "__version__"])
def test_stub_declares_public_name_with_its_signature(name):
    stubs = _stub_functions()
    assert name in stubs, (f"csoftmax.{name} is public (in __all__) but not declared in "
                           "csoftmax/__init__.pyi: add its signature there")
    runtime = [(p.name, p.kind.name) for p in inspect.signature(getattr(csoftmax, name))
               .parameters.values()]
    assert _stub_parameters(stubs[name]) == runtime, (
        f"csoftmax/__init__.pyi declares {name} with different parameters than the code")
