"""The classification probe's maths: features, per-label sampling, logistic regression, metrics.

numpy in, numpy out, shapes checked (`TypeError`/`ValueError` naming the offending shapes), no
hidden state: every random choice takes an explicit seed.

Decisions (recorded in each result's protocol by the tasks):

- Features: a sentence's embedding `u`, or `[u, v, |u-v|, u*v]` for a pair (InferSent/SentEval),
  from the raw embeddings (no L2 normalisation; the scaling below takes care of magnitude).
- Scaling: each feature is standardised with the mean and standard deviation of the English
  training sample (a constant feature is only centred). Embedding scales differ by orders of
  magnitude between models (unit-norm sentence encoders vs. mean-pooled hidden states), and
  the same C grid must mean the same strength of regularisation for all of them; lbfgs also
  converges faster. Test languages are scaled with the English statistics: nothing about
  them is used, as zero-shot transfer requires.
- Classifier: scikit-learn `LogisticRegression` (lbfgs, multinomial for more than two labels,
  L2 penalty, `max_iter=1000`), regularisation C from `C_GRID` = 0.01, 0.1, 1, 10, 100,
  fitted in ascending order, each fit warm-started from the previous one (same optimum, fewer
  iterations).
- Choosing C: the best accuracy on the English dev split when there is one (the fit on the
  training sample with that C is the probe; dev is never trained on). Without dev, stratified
  k-fold cross-validation on the training sample (k = 5, fewer when the rarest label has fewer
  items; folds shuffled with the seed), then a refit on the whole sample: SentEval's rule for
  its datasets without a dev split. When the rarest label has a single item no CV is possible
  and C = 1 (`DEFAULT_C`). Ties go to the smaller C (the stronger regularisation).
- Per-label sampling (`--probe-train-size N`): N items in total, split as evenly as the labels
  allow (a label with fewer items gives all it has and the rest is shared among the others);
  which items is decided by the seed.
- Macro-F1 averages F1 over the labels that occur in that test set's gold labels; a
  prediction of a label absent from the gold still counts as an error of the true label.
- Spread over seeds: the sample standard deviation (ddof = 1); 0 for a single seed.

Example:
    >>> import numpy as np
    >>> x = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
    >>> y = np.array(["neg", "neg", "neg", "pos", "pos", "pos"])
    >>> probe = train_probe(x, y, seed=0)
    >>> probe.predict(np.array([[0.5], [11.5]])).tolist()
    ['neg', 'pos']
    >>> round(macro_f1(np.array(["a", "a", "b"]), np.array(["a", "b", "b"])), 4)
    0.6667
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

C_GRID: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 100.0)
DEFAULT_C = 1.0
CV_FOLDS = 5
MAX_ITER = 1000


# ---------------------------------------------------------------------------------------------
# Shapes.


def _matrix(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n, d) array, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got dtype {x.dtype}")
    return x


def _vector(y: np.ndarray, name: str, n: int | None = None) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {y.shape}")
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} entries but the features have {n} rows")
    return y


# ---------------------------------------------------------------------------------------------
# Features and sampling.


def pair_features(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """`[u, v, |u - v|, u * v]` per row: (n, d) and (n, d) -> (n, 4d), float32.

    Example:
        >>> pair_features(np.array([[1.0, 2.0]]), np.array([[3.0, -1.0]])).tolist()
        [[1.0, 2.0, 3.0, -1.0, 2.0, 3.0, 3.0, -2.0]]
    """
    u, v = _matrix(u, "u"), _matrix(v, "v")
    if u.shape != v.shape:
        raise ValueError(f"u {u.shape} and v {v.shape} must have the same shape")
    u, v = u.astype(np.float32, copy=False), v.astype(np.float32, copy=False)
    return np.concatenate([u, v, np.abs(u - v), u * v], axis=1)


def sample_per_label(labels: np.ndarray, size: int | None, *, seed: int) -> np.ndarray:
    """Sorted row indices of a sample of `size` items spread as evenly as possible over the labels.

    `size=None` (or at least the number of rows) keeps every row. A label with fewer rows than
    its share gives all of them and the rest goes to the other labels; leftover items after the
    even split go to the labels that sort first. The seed decides which rows, never how many.

    Example:
        >>> y = np.array(["a"] * 6 + ["b"] * 2)
        >>> sample_per_label(y, 4, seed=0).size, sorted(y[sample_per_label(y, 4, seed=0)].tolist())
        (4, ['a', 'a', 'b', 'b'])
    """
    labels = _vector(labels, "labels")
    n = labels.shape[0]
    if size is None or size >= n:
        return np.arange(n)
    classes, inverse = np.unique(labels, return_inverse=True)
    if size < classes.size:
        raise ValueError(f"a sample of {size} cannot hold one item of each of the {classes.size} labels")
    counts = np.bincount(inverse, minlength=classes.size)
    quota = np.zeros_like(counts)
    remaining, open_labels = size, list(range(classes.size))
    # Water-filling: give every open label an equal share; labels that run out close and
    # their unused share is dealt out again among the rest. Every round places at least one
    # item (each open label has room), and size < n guarantees room for all of them.
    while remaining > 0:
        share, extra = divmod(remaining, len(open_labels))
        still_open = []
        for rank, k in enumerate(open_labels):
            take = min(share + (1 if rank < extra else 0), counts[k] - quota[k])
            quota[k] += take
            remaining -= take
            if quota[k] < counts[k]:
                still_open.append(k)
        open_labels = still_open
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(inverse == k), size=int(quota[k]), replace=False) for k in range(classes.size)]
    return np.sort(np.concatenate(chosen))


# ---------------------------------------------------------------------------------------------
# Metrics.


def accuracy(pred: np.ndarray, gold: np.ndarray) -> float:
    """Share of positions where `pred` equals `gold` (a fraction, not x100).

    Example:
        >>> accuracy(np.array([1, 0, 1, 1]), np.array([1, 1, 1, 0]))
        0.5
    """
    gold = _vector(gold, "gold")
    pred = _vector(pred, "pred", gold.shape[0])
    if gold.shape[0] == 0:
        raise ValueError("accuracy of an empty set is undefined")
    return float(np.mean(pred == gold))


def macro_f1(pred: np.ndarray, gold: np.ndarray, *, labels: Sequence | None = None) -> float:
    """Unweighted mean over `labels` (default: those in `gold`) of per-label F1 = 2TP / (2TP + FP + FN).

    A label with no gold item and no prediction would have F1 0/0; it cannot occur with the
    default labels, and with explicit labels it counts as 0.

    Example:
        >>> round(macro_f1(np.array(["a", "a", "b"]), np.array(["a", "b", "b"])), 4)  # F1 2/3 for each label
        0.6667
    """
    gold = _vector(gold, "gold")
    pred = _vector(pred, "pred", gold.shape[0])
    if gold.shape[0] == 0:
        raise ValueError("macro-F1 of an empty set is undefined")
    chosen = np.unique(gold) if labels is None else np.asarray(list(labels))
    scores = []
    for label in chosen:
        tp = np.sum((pred == label) & (gold == label))
        fp = np.sum((pred == label) & (gold != label))
        fn = np.sum((pred != label) & (gold == label))
        denominator = 2 * tp + fp + fn
        scores.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1; 0.0 for a single value).

    Example:
        >>> mean_std([70.0, 72.0, 74.0])
        (72.0, 2.0)
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"mean_std needs a non-empty 1-D sequence, got shape {arr.shape}")
    std = float(np.std(arr, ddof=1)) if arr.size > 1 else 0.0
    return float(np.mean(arr)), std


# ---------------------------------------------------------------------------------------------
# The probe.


@dataclass(frozen=True)
class Scaler:
    """Per-feature standardisation fitted on the training sample."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> "Scaler":
        x = _matrix(x, "x")
        mean = x.mean(axis=0, dtype=np.float64)
        scale = x.std(axis=0, dtype=np.float64)
        scale[scale == 0] = 1.0  # a constant feature is centred, not blown up
        return cls(mean.astype(np.float32), scale.astype(np.float32))

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = _matrix(x, "x")
        if x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"x has {x.shape[1]} features but the scaler was fitted on {self.mean.shape[0]}")
        return (x.astype(np.float32, copy=False) - self.mean) / self.scale


@dataclass(frozen=True)
class Probe:
    """A fitted probe: the scaler, the classifier, and how its C was chosen."""

    scaler: Scaler
    model: object  # sklearn LogisticRegression
    c: float
    selection: str  # "dev", "cv" or "fixed"
    c_scores: dict[float, float] = field(default_factory=dict)  # C -> dev accuracy or mean CV accuracy
    converged: bool = True

    @property
    def classes(self) -> np.ndarray:
        return self.model.classes_  # type: ignore[attr-defined]

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict(self.scaler.transform(x))  # type: ignore[attr-defined]


def _fit(x: np.ndarray, y: np.ndarray, c: float, max_iter: int):
    return _fit_path(x, y, [c], max_iter)[c]


def _fit_path(x: np.ndarray, y: np.ndarray, grid: Sequence[float], max_iter: int) -> dict[float, tuple[object, bool]]:
    """One fitted model (and whether it converged) per C, ascending, each warm-started from the last.

    The problem is convex, so the warm start changes only how many iterations it takes (about
    half as many over the grid), not where it ends.
    """
    import copy

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=max_iter, warm_start=True)
    fits = {}
    for c in sorted(grid):
        model.set_params(C=c)
        with warnings.catch_warnings():
            # Non-convergence is recorded on the probe (and in the result), not printed mid-run.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x, y)
        fits[c] = (copy.deepcopy(model), bool(np.all(np.asarray(model.n_iter_) < max_iter)))
    return fits


def _best(scores: dict[float, float]) -> float:
    best = max(scores.values())
    return min(c for c, s in scores.items() if s == best)  # ties: the stronger regularisation


def train_probe(
    x: np.ndarray,
    y: np.ndarray,
    *,
    dev: tuple[np.ndarray, np.ndarray] | None = None,
    c_grid: Sequence[float] = C_GRID,
    seed: int = 0,
    cv_folds: int = CV_FOLDS,
    max_iter: int = MAX_ITER,
) -> Probe:
    """Fit a standardised logistic-regression probe, choosing C on `dev` or by CV on (x, y).

    Args:
        x: (n, d) training features; y: (n,) labels (at least two distinct ones).
        dev: optional (x_dev, y_dev) to choose C by accuracy; it is never trained on.
        c_grid: the C values to try (a single value means no choice is made).
        seed: shuffles the CV folds (used only without dev).
    """
    x = _matrix(x, "x")
    y = _vector(y, "y", x.shape[0])
    if np.unique(y).size < 2:
        raise ValueError(f"a probe needs at least two labels in training, got {np.unique(y).tolist()}")
    grid = sorted(float(c) for c in c_grid)
    if not grid or any(c <= 0 for c in grid):
        raise ValueError(f"c_grid must hold positive values, got {list(c_grid)}")
    scaler = Scaler.fit(x)
    xs = scaler.transform(x)
    if dev is not None:
        x_dev, y_dev = _matrix(dev[0], "x_dev"), _vector(dev[1], "y_dev")
        if x_dev.shape[1] != x.shape[1] or y_dev.shape[0] != x_dev.shape[0]:
            raise ValueError(f"dev features {x_dev.shape} / labels {y_dev.shape} do not match training features {x.shape}")
        xd = scaler.transform(x_dev)
        fits = _fit_path(xs, y, grid, max_iter)
        scores = {c: accuracy(fits[c][0].predict(xd), y_dev) for c in grid}
        c = _best(scores)
        model, converged = fits[c]
        return Probe(scaler, model, c, "dev", scores, converged)
    _, counts = np.unique(y, return_counts=True)
    folds = min(cv_folds, int(counts.min()))
    if len(grid) == 1 or folds < 2:
        c = grid[0] if len(grid) == 1 else DEFAULT_C
        model, converged = _fit(xs, y, c, max_iter)
        return Probe(scaler, model, c, "fixed", {}, converged)
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = {c: 0.0 for c in grid}
    for train_idx, test_idx in splitter.split(xs, y):
        # Each fold scales with its own training part, as the final probe will.
        fold_scaler = Scaler.fit(x[train_idx])
        xf, xt = fold_scaler.transform(x[train_idx]), fold_scaler.transform(x[test_idx])
        for c, (model, _) in _fit_path(xf, y[train_idx], grid, max_iter).items():
            scores[c] += accuracy(model.predict(xt), y[test_idx]) / folds
    c = _best(scores)
    model, converged = _fit(xs, y, c, max_iter)
    return Probe(scaler, model, c, "cv", scores, converged)


def baselines(gold: np.ndarray, train_labels: Sequence[str], probes: Sequence[Probe]) -> dict[str, float]:
    """What a probe's accuracy is read against, x100: the English training split's most frequent label
    predicted for every item (ties: the first in sorted order), a uniform guess among the labels the
    probes were trained on, and the share of items whose gold label no probe can predict.

    Example:
        >>> class P: classes = np.array(["a", "b"])
        >>> baselines(np.array(["a", "b", "b", "c"]), ["a", "a", "b"], [P()])
        {'majority_baseline': 25.0, 'chance_baseline': 50.0, 'unpredictable_share': 25.0}
    """
    counts = Counter(train_labels)
    majority = min(counts, key=lambda label: (-counts[label], label))
    predictable = set.intersection(*(set(map(str, p.classes.tolist())) for p in probes)) if probes else set(counts)
    gold = np.asarray(gold).astype(str)
    return {
        "majority_baseline": 100.0 * float(np.mean(gold == majority)),
        "chance_baseline": 100.0 / len(predictable) if predictable else 0.0,
        "unpredictable_share": 100.0 * float(np.mean([g not in predictable for g in gold.tolist()])),
    }


def probe_protocol(*, features: str, seeds: Sequence[int], probe_train_size: int | None, has_dev: bool | None) -> dict[str, Any]:
    """How the probe's numbers are produced, for the result (`has_dev` None: the English data is not read yet)."""
    protocol: dict[str, Any] = {
        "name": "probe",
        "train_language": "en",
        "features": features,
        "scaling": "each feature standardised with the mean and std of the English training sample",
        "classifier": f"scikit-learn LogisticRegression (lbfgs, L2, max_iter={MAX_ITER}, warm-started along the C grid)",
        "c_grid": list(C_GRID),
        "seeds": list(seeds),
        "probe_train_size": probe_train_size,
        "sampling": (
            "all English training items (every seed trains on the same data)"
            if probe_train_size is None
            else "probe_train_size items drawn per label by the seed, as evenly as the labels allow"
        ),
        "main": "accuracy x100 on each language's test split, mean over seeds",
        "spread": "sample standard deviation (ddof=1) over seeds, x100",
        "macro_f1": "mean F1 over the labels present in that test split's gold labels",
        "items": "predictions of the first seed",
    }
    if has_dev is not None:
        protocol["c_selection"] = (
            "best accuracy on the English dev split (ties: smaller C)"
            if has_dev
            else f"stratified {CV_FOLDS}-fold CV on the training sample, then refit (ties: smaller C)"
        )
    return protocol


def fit_outcomes(probes: Sequence[Probe], samples: Sequence[np.ndarray]) -> dict[str, list]:
    """What each seed's fit came to: sample size, chosen C, how it was chosen, convergence."""
    return {
        "train_size_per_seed": [int(s.size) for s in samples],
        "chosen_c": [p.c for p in probes],
        "c_selected_by": [p.selection for p in probes],
        "converged": [p.converged for p in probes],
    }
