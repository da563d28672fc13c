"""``python -m csoftmax demo``: softmax regression on scikit-learn's digits.

The main job of csoftmax, end to end on real data that ships with
scikit-learn (no download): train a multinomial logistic regression with the
fused loss and gradient of :func:`csoftmax.cross_entropy_with_grad`, compare
its test accuracy with scikit-learn's ``LogisticRegression`` on the same split,
then calibrate it with temperature scaling fitted on a held-out validation set
and report the mean negative log-likelihood and the expected calibration error
(ECE) before and after.

Needs the ``demo`` extra: ``pip install "csoftmax[demo]"`` (scikit-learn, and
matplotlib for ``--plot``).
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

import csoftmax

SEED = 0
N_BINS = 15
BATCH_SIZE = 64
EPOCHS = 60
LEARNING_RATE = 0.1
MOMENTUM = 0.9
L2 = 1e-3


# ---------------------------------------------------------------------------
# calibration: csoftmax.calibration when it is importable, else local helpers


def _calibration_module():
    try:
        from csoftmax import calibration
    except ImportError:
        return None
    needed = ("fit_temperature", "expected_calibration_error")
    return calibration if all(hasattr(calibration, n) for n in needed) else None


def _local_expected_calibration_error(probs, labels, n_bins=N_BINS):
    """LOCAL HELPER (used only when csoftmax.calibration is not importable).

    Expected calibration error with equal-width confidence bins (lo, hi], as
    in Guo et al. 2017: sum over bins of |accuracy - mean confidence| weighted
    by the fraction of samples in the bin.
    """
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bin b holds edges[b] < confidence <= edges[b + 1]; confidence 0 goes to bin 0
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        members = bins == b
        if members.any():
            ece += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(ece)


def _local_fit_temperature(logits, labels):
    """LOCAL HELPER (used only when csoftmax.calibration is not importable).

    The temperature T minimising the mean NLL of ``softmax(logits / T)``,
    found by golden-section search over log T in [-4, 4] (the NLL is convex
    in 1/T, so unimodal in log T).
    """
    def nll(log_t):
        return float(csoftmax.cross_entropy(logits / np.exp(log_t), labels))

    lo, hi = -4.0, 4.0
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(a), nll(b)
    while hi - lo > 1e-7:
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2.0))


def _reliability(probs, labels, n_bins=N_BINS):
    """(mean confidence, accuracy, count) per bin, from csoftmax.calibration
    when it has ``reliability_curve``, else computed here."""
    module = _calibration_module()
    if module is not None and hasattr(module, "reliability_curve"):
        confidence, accuracy, count = module.reliability_curve(probs, labels, n_bins=n_bins)
        return np.asarray(confidence, float), np.asarray(accuracy, float), np.asarray(count)
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(bins, weights=conf, minlength=n_bins) / count
        accuracy = np.bincount(bins, weights=correct, minlength=n_bins) / count
    return mean_conf, accuracy, count


# ---------------------------------------------------------------------------
# data and model


def load_split(seed=SEED):
    """Digits split 60/15/25 into train/validation/test (stratified, fixed seed),
    features standardised with the training set's mean and standard deviation."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=0.25, random_state=seed, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=0.2, random_state=seed, stratify=y_rest)
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0  # constant pixels (always blank in training) stay 0
    scale = lambda a: (a - mean) / std  # noqa: E731
    return (scale(x_train), y_train), (scale(x_val), y_val), (scale(x_test), y_test)


def train_softmax_regression(x, y, *, classes, epochs=EPOCHS, batch_size=BATCH_SIZE,
                             learning_rate=LEARNING_RATE, momentum=MOMENTUM, l2=L2,
                             seed=SEED, log=None):
    """Mini-batch gradient descent with momentum on mean cross-entropy + l2/2 ||W||^2.

    Loss and gradient with respect to the logits come from one fused call to
    :func:`csoftmax.cross_entropy_with_grad`; the chain rule to the weights is
    one matrix product. Returns (weights, bias).
    """
    rng = np.random.default_rng(seed)
    n, features = x.shape
    weights = np.zeros((features, classes))
    bias = np.zeros(classes)
    velocity_w = np.zeros_like(weights)
    velocity_b = np.zeros_like(bias)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            xb = x[batch]
            loss, grad_logits = csoftmax.cross_entropy_with_grad(xb @ weights + bias, y[batch])
            total += float(loss) * len(batch)
            grad_w = xb.T @ grad_logits + l2 * weights
            grad_b = grad_logits.sum(axis=0)
            velocity_w = momentum * velocity_w - learning_rate * grad_w
            velocity_b = momentum * velocity_b - learning_rate * grad_b
            weights += velocity_w
            bias += velocity_b
        if log is not None and (epoch == 1 or epoch % 20 == 0 or epoch == epochs):
            log(f"  epoch {epoch:3d}  train loss {total / n:.4f}")
    return weights, bias


def run(*, plot=None, log=None, started=None) -> dict:
    """Run the demo; return the results dict (see ``python -m csoftmax demo --json``)."""
    say = log if log is not None else (lambda message: None)
    if started is None:
        started = time.perf_counter()
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_split()
    classes = int(y_train.max()) + 1
    say(f"csoftmax {csoftmax.__version__} demo: softmax regression on scikit-learn's digits "
        f"(8x8 images, {classes} classes)")
    say(f"data: {len(y_train) + len(y_val) + len(y_test)} images, {len(y_train)} train, "
        f"{len(y_val)} validation (for the temperature), {len(y_test)} test; "
        f"standardised features; seed {SEED}")
    say(f"training: mini-batch gradient descent, batch {BATCH_SIZE}, lr {LEARNING_RATE}, "
        f"momentum {MOMENTUM}, L2 {L2:g}, {EPOCHS} epochs; loss and gradient from "
        "csoftmax.cross_entropy_with_grad")
    t0 = time.perf_counter()
    weights, bias = train_softmax_regression(x_train, y_train, classes=classes, log=log)
    train_seconds = time.perf_counter() - t0

    from sklearn.linear_model import LogisticRegression
    reference_model = LogisticRegression(max_iter=2000).fit(x_train, y_train)
    sklearn_accuracy = float(reference_model.score(x_test, y_test))

    logits_val = x_val @ weights + bias
    logits_test = x_test @ weights + bias
    accuracy = float(np.mean(csoftmax.softmax(logits_test).argmax(axis=1) == y_test))

    module = _calibration_module()
    if module is not None:
        fit_temperature = module.fit_temperature
        ece = module.expected_calibration_error
        source = "csoftmax.calibration"
    else:
        fit_temperature = _local_fit_temperature
        ece = _local_expected_calibration_error
        source = "local helper (csoftmax.calibration is not importable)"
    temperature = float(fit_temperature(logits_val, y_val))
    probs_before = csoftmax.softmax(logits_test)
    probs_after = csoftmax.softmax(logits_test / temperature)
    nll_before = float(csoftmax.cross_entropy(logits_test, y_test))
    nll_after = float(csoftmax.cross_entropy(logits_test / temperature, y_test))
    ece_before = float(ece(probs_before, y_test, n_bins=N_BINS))
    ece_after = float(ece(probs_after, y_test, n_bins=N_BINS))

    if plot is not None:
        _plot_reliability(plot, probs_before, probs_after, y_test, temperature,
                          ece_before, ece_after)
    result = {
        "accuracy": accuracy,
        "sklearn_accuracy": sklearn_accuracy,
        "nll": nll_before,
        "nll_after": nll_after,
        "ece_before": ece_before,
        "ece_after": ece_after,
        "temperature": temperature,
        "n_bins": N_BINS,
        "calibration": source,
        "n_train": int(len(y_train)),
        "n_validation": int(len(y_val)),
        "n_test": int(len(y_test)),
        "train_seconds": train_seconds,
        "seconds": time.perf_counter() - started,
    }
    return result


def _plot_reliability(path, probs_before, probs_after, labels, temperature,
                      ece_before, ece_after):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharey=True)
    width = 1.0 / N_BINS
    centres = (np.arange(N_BINS) + 0.5) * width
    panels = [(probs_before, "before: T = 1", ece_before),
              (probs_after, f"after: T = {temperature:.3f}", ece_after)]
    for ax, (probs, title, ece) in zip(axes, panels):
        confidence, accuracy, count = _reliability(probs, labels)
        filled = np.asarray(count) > 0
        ax.bar(centres[filled], accuracy[filled], width=width, edgecolor="black",
               color="tab:blue", label="accuracy")
        low = np.minimum(confidence[filled], accuracy[filled])
        gap = np.abs(confidence[filled] - accuracy[filled])
        ax.bar(centres[filled], gap, bottom=low, width=width, color="none",
               edgecolor="tab:red", hatch="//", label="gap to mean confidence")
        ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence (max probability)")
        ax.set_title(f"{title}   ECE {ece:.4f}")
    axes[0].set_ylabel("accuracy")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle(f"csoftmax demo: digits test set, {N_BINS} bins")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(args) -> int:
    started = time.perf_counter()
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("csoftmax demo needs scikit-learn: pip install \"csoftmax[demo]\"", file=sys.stderr)
        return 2
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("--plot needs matplotlib: pip install \"csoftmax[plot]\"", file=sys.stderr)
            return 2
    log = None if args.json else print
    result = run(plot=args.plot, log=log, started=started)
    if args.json:
        print(json.dumps(result))
        return 0
    r = result
    print(f"temperature: fitted on the validation set with {r['calibration']}; "
          f"ECE ({r['n_bins']} equal-width bins) from {r['calibration']}")
    print()
    print(f"  test accuracy     csoftmax {100 * r['accuracy']:.2f} %    "
          f"scikit-learn LogisticRegression {100 * r['sklearn_accuracy']:.2f} % (same split)")
    print(f"                    T = 1          T = {r['temperature']:.4f}")
    print(f"  test mean NLL     {r['nll']:.4f}         {r['nll_after']:.4f}")
    print(f"  test ECE          {r['ece_before']:.4f}         {r['ece_after']:.4f}")
    print()
    if args.plot:
        print(f"reliability diagram saved to {args.plot}")
    print(f"time: {r['seconds']:.2f} s in all (scikit-learn imports and fit included), "
          f"{r['train_seconds']:.3f} s training with csoftmax")
    return 0
