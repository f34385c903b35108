"""``import sklearn_lt`` is light: public names load on first use (PEP 562).

Each check runs in a fresh interpreter, since this test process has long
imported torch.
"""

import json
import subprocess
import sys

import pytest

import sklearn_lt

HEAVY = ["torch", "skorch", "pandas", "matplotlib"]

# The public names of sklearn_lt before the lazy __init__, with the module
# each comes from.
PUBLIC = {
    "DoubleCorrectionWarning": "sklearn_lt._base",
    "LinearMarginClassifier": "sklearn_lt.linear",
    "LinearMarginClassifierCV": "sklearn_lt._cv",
    "LogitAdjustedClassifier": "sklearn_lt.posthoc",
    "LogitAdjustedClassifierCV": "sklearn_lt.posthoc",
    "LongTailNet": "sklearn_lt.net",
    "MLPMarginClassifier": "sklearn_lt.mlp",
    "MLPMarginClassifierCV": "sklearn_lt._cv",
    "MetricOptimalClassifierCV": "sklearn_lt.decisions",
    "PriorCalibratedClassifier": "sklearn_lt.prior_calibration",
    "PriorShiftAdapter": "sklearn_lt.prior_shift",
    "embedding_compactness": "sklearn_lt.metrics",
    "expected_calibration_error": "sklearn_lt.metrics",
    "load_digits_lt": "sklearn_lt.datasets",
    "long_tail_counts": "sklearn_lt.datasets",
    "make_long_tailed": "sklearn_lt.datasets",
    "make_long_tailed_classification": "sklearn_lt.datasets",
    "per_class_recall": "sklearn_lt.metrics",
    "shot_accuracy": "sklearn_lt.metrics",
    "worst_class_recall": "sklearn_lt.metrics",
    "worst_class_recall_scorer": "sklearn_lt.metrics",
}


def _loaded_after(code):
    """The HEAVY modules in sys.modules after running ``code`` afresh."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_loads_no_heavy_module():
    assert _loaded_after("import sklearn_lt") == []


@pytest.mark.parametrize("module", ["sklearn_lt.datasets", "sklearn_lt.weights"])
def test_light_submodules_do_not_load_torch(module):
    loaded = _loaded_after(f"import {module}")
    assert "torch" not in loaded
    assert "skorch" not in loaded


def test_metrics_does_not_load_torch():
    loaded = _loaded_after("import sklearn_lt.metrics")
    assert "torch" not in loaded and "skorch" not in loaded


def test_estimator_import_loads_torch_on_demand():
    loaded = _loaded_after("from sklearn_lt import MLPMarginClassifier")
    assert "torch" in loaded and "skorch" in loaded


def test_all_and_dir_list_the_public_names():
    assert sorted(sklearn_lt.__all__) == sorted([*PUBLIC, "__version__"])
    assert set(sklearn_lt.__all__) <= set(dir(sklearn_lt))
    assert set(sklearn_lt._LAZY) == set(PUBLIC)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_each_public_name_resolves_to_its_module(name):
    value = getattr(sklearn_lt, name)
    module = sys.modules[PUBLIC[name]]
    assert value is getattr(module, name)


def test_submodules_load_as_attributes():
    import importlib

    assert sklearn_lt.losses is importlib.import_module("sklearn_lt.losses")
    # losses/ is a package: each loss lives in its family's private module
    assert sklearn_lt.losses.LDAMLoss.__module__.startswith("sklearn_lt.losses.")


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_thing'"):
        sklearn_lt.no_such_thing  # noqa: B018


def test_star_import_gives_every_public_name():
    namespace = {}
    exec("from sklearn_lt import *", namespace)
    assert set(PUBLIC) <= set(namespace)


def test_cli_help_loads_neither_torch_nor_skorch():
    code = (
        "from sklearn_lt.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    loaded = _loaded_after(code)
    assert "torch" not in loaded and "skorch" not in loaded


def test_compare_help_and_package_load_no_heavy_module():
    """``sklearn-lt compare --help`` reads its options without scikit-learn.

    The options live in ``sklearn_lt.compare._options``; the ``compare``
    package loads its public names lazily, so reaching that module imports
    neither torch, pandas, matplotlib nor scikit-learn.
    """
    code = (
        "import sys\n"
        "import sklearn_lt.compare\n"
        "from sklearn_lt.cli import main\n"
        "try:\n    main(['compare', '--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'sklearn' not in sys.modules, 'scikit-learn was loaded'"
    )
    assert _loaded_after(code) == []


def test_compare_package_names_load_on_first_use():
    from sklearn_lt import compare
    from sklearn_lt.compare.run import compare as compare_function
    from sklearn_lt.compare.study import Comparison

    assert compare.compare is compare_function
    assert compare.Comparison is Comparison
    assert set(compare.__all__) <= set(dir(compare))
    with pytest.raises(AttributeError, match="has no attribute 'no_such_thing'"):
        compare.no_such_thing  # noqa: B018
