"""The contenders of a comparison: the default field, names, descriptions.

:func:`default_contenders` lists the default field (scikit-learn,
imbalanced-learn and gradient-boosting baselines, and this package's
classifiers); :func:`resolve_contenders` turns names, ``(name, estimator)``
pairs or a mapping into the ordered ``{name: estimator}`` that
:func:`~sklearn_lt.compare.compare` runs; :func:`_describe_estimator` gives
the one-line description shown by ``sklearn-lt compare --list-contenders``
and in the result table; :func:`_contender_family` tells our classifiers from
the baselines.
"""

import importlib.util
import re
from collections.abc import Mapping

from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    AdaBoostClassifier,
    HistGradientBoostingClassifier,
    VotingClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier

from ..decisions import MetricOptimalClassifierCV
from ..linear import LinearMarginClassifier
from ..mlp import MLPMarginClassifier
from ..posthoc import LogitAdjustedClassifier
from ..prior_calibration import PriorCalibratedClassifier
from ._options import _DECISION_METRICS

__all__ = [
    "default_contenders",
    "resolve_contenders",
]

# One MLP setting shared by every MLP contender, ours and the baselines, so
# that they differ only in the loss or the resampling: same width, epochs,
# minibatch size and step size. The L2 penalty is each estimator's default:
# the two packages scale it differently (MLPClassifier divides alpha by the
# rows, MLPMarginClassifier's alpha="auto" chooses it from them), so one
# number would mean two different penalties.
_MLP_SETTINGS = {
    "hidden_layer_sizes": (128,),
    "batch_size": 64,
    "learning_rate_init": 1e-3,
}
_MLP_EPOCHS = 100

# The depth of the trees boosted inside easy_ensemble's bags (see
# default_contenders): up to 16 leaves, so that one tree can separate several
# classes, as multi-class AdaBoost needs.
_EASY_ENSEMBLE_DEPTH = 4


def _installed(module):
    """Whether an optional package can be imported (without importing it)."""
    return importlib.util.find_spec(module) is not None


#: The targets of the metric-optimal contenders (``metric=``, ``--metric``):
#: names :class:`~sklearn_lt.MetricOptimalClassifierCV` takes.
METRICS = _DECISION_METRICS


def _check_metric(metric):
    """``metric`` if it is one of :data:`METRICS`, else a clear ValueError.

    Examples
    --------
    >>> from sklearn_lt.compare.contenders import _check_metric
    >>> _check_metric("macro_f1")
    'macro_f1'
    """
    if not (isinstance(metric, str) and metric in METRICS):
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}.")
    return metric


def default_contenders(random_state=0, metric="balanced_accuracy"):
    """The default field of contenders, baselines first.

    Every contender is a plain scikit-learn, imbalanced-learn or sklearn_lt
    estimator (scaled by a :class:`~sklearn.preprocessing.StandardScaler`
    where scale matters) that can be copied out of this function and used
    alone. The MLPs, ours and the baselines, share one setting
    (:data:`_MLP_SETTINGS`, ``_MLP_EPOCHS`` epochs): they differ only in the
    loss or in the resampling. On a table with missing values or
    categorical columns, :func:`~sklearn_lt.compare.compare` puts a
    per-fold preprocessing step in front of each
    (:mod:`sklearn_lt.compare.preprocessing`).

    ============================  ====================================================
    name                          estimator
    ============================  ====================================================
    ``logreg``                    ``LogisticRegression``
    ``logreg_balanced``           ``LogisticRegression(class_weight="balanced")``
    ``linear_svc_balanced``       ``LinearSVC(class_weight="balanced")``
    ``svc_rbf_balanced``          ``SVC(kernel="rbf", class_weight="balanced")``
    ``mlp``                       ``MLPClassifier``
    ``hgb``                       ``HistGradientBoostingClassifier``
    ``hgb_balanced``              ``HistGradientBoostingClassifier``, balanced weights
    ``lightgbm``                  ``LGBMClassifier`` (only if LightGBM is installed)
    ``smote_logreg``              ``SMOTE`` then ``LogisticRegression``
    ``oversample_mlp``            ``RandomOverSampler`` then ``MLPClassifier``
    ``balanced_random_forest``    ``BalancedRandomForestClassifier``
    ``easy_ensemble``             ``EasyEnsembleClassifier``, AdaBoost of depth-4 trees
    ``linear_margin_la``          ``LinearMarginClassifier("logit_adjusted")``
    ``mlp_margin_la``             ``MLPMarginClassifier("logit_adjusted")``
    ``mlp_margin_ldam_drw``       ``MLPMarginClassifier("ldam", reweight="drw")``
    ``mlp_margin_elm``            ``MLPMarginClassifier("elm")``
    ``logreg_posthoc_la``         ``LogitAdjustedClassifier`` of ``logreg``
    ``hgb_posthoc_la``            ``LogitAdjustedClassifier`` of ``hgb``
    ``blend_la``                  soft vote of ``mlp_margin_la``,
                                  ``linear_margin_la`` and ``hgb_posthoc_la``
    ``mlp_margin_la_metric_opt``  ``MetricOptimalClassifierCV`` of
                                  ``mlp_margin_la`` (its probabilities at the
                                  training prior), for ``metric``
    ``hgb_metric_opt``            ``MetricOptimalClassifierCV`` of ``hgb``,
                                  for ``metric``
    ============================  ====================================================

    ``blend_la`` averages the balanced probabilities of three logit-adjusted
    models of different kinds (a network, a linear model, boosted trees), so
    its argmax is a balanced decision. On the real tables of
    ``benchmarks/bench_real.py`` it is the best of this package on the
    binary and multi-class groups, ahead of ``easy_ensemble`` and
    ``balanced_random_forest`` (``benchmarks/RESULTS.md``), at about the
    cost of its three members together.

    The two ``*_metric_opt`` contenders learn per-class decision weights
    for ``metric`` on out-of-fold probabilities
    (:class:`~sklearn_lt.MetricOptimalClassifierCV`, 5 inner folds) around
    this package's logit-adjusted MLP (its closed-form probabilities at the
    training prior, which the rule's plug-in starts assume) and around
    gradient boosting, then refit on all the rows: one fit is six fits of
    the model they wrap. On the bundled digits the whole comparison took
    30-39 s with them and 19 s without them (2 cores); ``hgb_metric_opt``
    scored 0.872 balanced accuracy against 0.849 for ``hgb``,
    ``mlp_margin_la_metric_opt`` 0.888 against
    0.905 for ``mlp_margin_la`` (the rule is tuned on out-of-fold rows of
    classes with 6-20 training rows). Leave them out with
    ``drop=["mlp_margin_la_metric_opt", "hgb_metric_opt"]``
    (``--drop mlp_margin_la_metric_opt,hgb_metric_opt``).

    ``easy_ensemble`` is EasyEnsemble (Liu, Wu and Zhou, 2009) as
    imbalanced-learn builds it: 10 bags, each undersampled to the smallest
    class, each an AdaBoost of 10 rounds; imbalanced-learn leaves the inner
    AdaBoost to the user ("you can set the number of inner learners by
    passing your own instance"). Its default AdaBoost boosts depth-1
    stumps, which can tell apart only two classes: multi-class boosting
    (SAMME) needs weak learners better than chance over every class, so on
    the bundled digits (10 classes, bags of 7 rows per class) the default
    scores 0.601 balanced accuracy. Depth-4 trees (up to 16 leaves) score
    0.880, next to ``balanced_random_forest`` (0.875).

    Parameters
    ----------
    random_state : int or None, default=0
        Seed of every randomised contender.

    metric : {"balanced_accuracy", "macro_f1", "gmean", \
            "worst_class_recall"}, default="balanced_accuracy"
        What the two metric-optimal contenders' decision rules maximise.

    Returns
    -------
    contenders : dict
        Ordered mapping from name to (unfitted) estimator.

    Raises
    ------
    ValueError
        For another ``metric``.

    ImportError
        If imbalanced-learn, which provides several baselines, is missing.

    Examples
    --------
    >>> from sklearn_lt.compare import default_contenders
    >>> contenders = default_contenders()
    >>> list(contenders)[:3]
    ['logreg', 'logreg_balanced', 'linear_svc_balanced']
    >>> contenders["svc_rbf_balanced"]
    Pipeline(steps=[('standardscaler', StandardScaler()),
                    ('svc', SVC(class_weight='balanced'))])
    """
    try:
        from imblearn.ensemble import (
            BalancedRandomForestClassifier,
            EasyEnsembleClassifier,
        )
        from imblearn.over_sampling import SMOTE, RandomOverSampler
        from imblearn.pipeline import make_pipeline as make_imb_pipeline
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The default contenders need imbalanced-learn; install it with "
            "`pip install sklearn-lt[compare]` (or `pip install imbalanced-learn`)."
        ) from exc

    _check_metric(metric)
    seed = random_state

    def scaled(estimator):
        return make_pipeline(StandardScaler(), estimator)

    def logreg(**kwargs):
        return LogisticRegression(max_iter=1000, **kwargs)

    def sk_mlp():
        return MLPClassifier(**_MLP_SETTINGS, max_iter=_MLP_EPOCHS, random_state=seed)

    def hgb(**kwargs):
        return HistGradientBoostingClassifier(random_state=seed, **kwargs)

    def our_linear():
        return LinearMarginClassifier("logit_adjusted", random_state=seed)

    def our_mlp(loss, **kwargs):
        return MLPMarginClassifier(
            loss,
            **_MLP_SETTINGS,
            max_iter=_MLP_EPOCHS,
            random_state=seed,
            **kwargs,
        )

    contenders = {
        # scikit-learn baselines
        "logreg": scaled(logreg()),
        "logreg_balanced": scaled(logreg(class_weight="balanced")),
        "linear_svc_balanced": scaled(
            LinearSVC(class_weight="balanced", random_state=seed)
        ),
        "svc_rbf_balanced": scaled(SVC(kernel="rbf", class_weight="balanced")),
        "mlp": scaled(sk_mlp()),
        "hgb": hgb(),
        "hgb_balanced": hgb(class_weight="balanced"),
    }
    if _installed("lightgbm"):  # pragma: no cover - optional extra
        from lightgbm import LGBMClassifier

        contenders["lightgbm"] = LGBMClassifier(random_state=seed, verbose=-1)
    contenders.update(
        {
            # imbalanced-learn baselines
            "smote_logreg": make_imb_pipeline(
                StandardScaler(), SMOTE(random_state=seed), logreg()
            ),
            "oversample_mlp": make_imb_pipeline(
                StandardScaler(), RandomOverSampler(random_state=seed), sk_mlp()
            ),
            "balanced_random_forest": BalancedRandomForestClassifier(
                sampling_strategy="all",
                replacement=True,
                bootstrap=False,
                random_state=seed,
            ),
            "easy_ensemble": EasyEnsembleClassifier(
                n_estimators=10,
                estimator=AdaBoostClassifier(
                    DecisionTreeClassifier(max_depth=_EASY_ENSEMBLE_DEPTH),
                    n_estimators=10,
                ),
                random_state=seed,
            ),
            # sklearn_lt
            "linear_margin_la": scaled(our_linear()),
            "mlp_margin_la": scaled(our_mlp("logit_adjusted")),
            "mlp_margin_ldam_drw": scaled(our_mlp("ldam", reweight="drw")),
            "mlp_margin_elm": scaled(our_mlp("elm")),
            "logreg_posthoc_la": LogitAdjustedClassifier(scaled(logreg())),
            "hgb_posthoc_la": LogitAdjustedClassifier(hgb()),
            "blend_la": scaled(
                VotingClassifier(
                    [
                        ("mlp", our_mlp("logit_adjusted")),
                        ("linear", our_linear()),
                        ("hgb", LogitAdjustedClassifier(hgb())),
                    ],
                    voting="soft",
                )
            ),
            # decision rules tuned for ``metric`` (issue 25)
            # the rule's plug-in starts take training-prior probabilities:
            # the MLP's closed form (PriorCalibratedClassifier, no refit)
            "mlp_margin_la_metric_opt": MetricOptimalClassifierCV(
                PriorCalibratedClassifier(scaled(our_mlp("logit_adjusted"))),
                metric=metric,
            ),
            "hgb_metric_opt": MetricOptimalClassifierCV(hgb(), metric=metric),
        }
    )
    return contenders


def resolve_contenders(
    contenders=None, *, drop=None, random_state=0, metric="balanced_accuracy"
):
    """Turn names, pairs or a mapping into an ordered ``{name: estimator}``.

    Parameters
    ----------
    contenders : None, mapping, or list of str and (name, estimator) pairs, \
            default=None
        None: all of :func:`default_contenders`. A mapping ``{name:
        estimator}`` is used as is. In a list, a string picks that default
        contender by name and a pair ``(name, estimator)`` adds one of your
        own, for example ``["svc_rbf_balanced", ("mine", MyClassifier())]``.

    drop : iterable of str, default=None
        Names to leave out.

    random_state : int or None, default=0
        Seed of the default contenders picked by name.

    metric : str, default="balanced_accuracy"
        Target of the metric-optimal contenders (see
        :func:`default_contenders`); one of :data:`METRICS`.

    Returns
    -------
    contenders : dict
        Ordered mapping from name to estimator.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones), a duplicated
        name, something that is not an estimator, an empty result, or an
        unknown ``metric``.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklearn_lt.compare import default_contenders, resolve_contenders
    >>> list(resolve_contenders(["logreg", ("tree", DecisionTreeClassifier())]))
    ['logreg', 'tree']
    >>> n_default = len(default_contenders())
    >>> len(resolve_contenders(drop=["easy_ensemble"])) == n_default - 1
    True
    """
    _check_metric(metric)
    defaults = None

    def default(name):
        nonlocal defaults
        if defaults is None:
            defaults = default_contenders(random_state=random_state, metric=metric)
        if name not in defaults:
            raise ValueError(
                f"Unknown contender {name!r}; the built-in contenders are: "
                f"{', '.join(defaults)}."
            )
        return defaults[name]

    if contenders is None:
        resolved = dict(default_contenders(random_state=random_state, metric=metric))
    elif isinstance(contenders, Mapping):
        resolved = dict(contenders)
    elif isinstance(contenders, str):
        resolved = {contenders: default(contenders)}
    else:
        resolved = {}
        for item in contenders:
            if isinstance(item, str):
                name, estimator = item, default(item)
            elif isinstance(item, tuple) and len(item) == 2:
                name, estimator = item
            else:
                raise ValueError(
                    "Each contender must be a default contender's name or a "
                    f"(name, estimator) pair; got {item!r}."
                )
            if name in resolved:
                raise ValueError(f"Contender {name!r} is given twice.")
            resolved[name] = estimator
    for name, estimator in resolved.items():
        if not isinstance(name, str) or not hasattr(estimator, "fit"):
            raise ValueError(
                f"Contender {name!r} must be named by a string and be an "
                f"estimator with fit and predict; got {estimator!r}."
            )
    for name in drop or ():
        if name not in resolved:
            raise ValueError(
                f"Cannot drop unknown contender {name!r}; the contenders are: "
                f"{', '.join(resolved)}."
            )
        del resolved[name]
    if not resolved:
        raise ValueError("No contenders left to compare.")
    return resolved


def _contender_family(estimator):
    """``"sklearn_lt"`` if any part of ``estimator`` comes from this package.

    Parameters
    ----------
    estimator : object
        A contender.

    Returns
    -------
    family : {"sklearn_lt", "baseline"}

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_lt import LogitAdjustedClassifier
    >>> from sklearn_lt.compare.contenders import _contender_family
    >>> _contender_family(LogisticRegression())
    'baseline'
    >>> _contender_family(LogitAdjustedClassifier(LogisticRegression()))
    'sklearn_lt'
    """
    parts = [estimator]
    if isinstance(estimator, BaseEstimator):
        parts += list(estimator.get_params(deep=True).values())
    for part in parts:
        if type(part).__module__.split(".")[0] == "sklearn_lt":
            return "sklearn_lt"
    return "baseline"


def _describe_estimator(estimator):
    """A one-line description of an estimator: its repr, pipelines as steps.

    The repr shows only the parameters that differ from the defaults
    (scikit-learn's ``print_changed_only``); a pipeline is written as its
    steps joined by ``->``.

    Parameters
    ----------
    estimator : object
        A contender.

    Returns
    -------
    description : str
        One line, without newlines.

    Examples
    --------
    >>> from sklearn_lt.compare import default_contenders
    >>> from sklearn_lt.compare.contenders import _describe_estimator
    >>> _describe_estimator(default_contenders()["svc_rbf_balanced"])
    "StandardScaler() -> SVC(class_weight='balanced')"
    """
    if isinstance(estimator, Pipeline):
        return " -> ".join(_describe_estimator(step) for _, step in estimator.steps)
    return re.sub(r"\s+", " ", repr(estimator)).strip()
