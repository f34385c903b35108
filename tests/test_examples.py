"""The examples in examples/ run (with small settings) and are gallery-ready.

Each example reads ``SKLEARN_LT_EXAMPLE_FAST=1`` to shrink its epochs,
splits and grids; here they run in this process with matplotlib's
non-interactive Agg backend, so nothing is shown or blocks.
"""

import ast
import runpy
import warnings
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
EXPECTED = {
    "plot_compare_svm.py",
    "grid_search_margins.py",
    "imbalanced_learn_pipeline.py",
    "posthoc_adjustment.py",
    "gpu_mlp.py",
}


def test_every_expected_example_is_there():
    assert EXPECTED <= {script.name for script in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_example_has_a_gallery_title(script):
    docstring = ast.get_docstring(ast.parse(script.read_text()), clean=False)
    assert docstring is not None, "a sphinx-gallery example starts with a docstring"
    lines = docstring.strip("\n").splitlines()
    over, title, under = lines[:3]
    assert set(over) == {"="} and over == under
    assert len(over) >= len(title.strip()) > 0
    assert lines[3] == "" and any(line.strip() for line in lines[4:])


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_example_is_split_into_cells_and_reads_the_small_settings(script):
    # The docs build (and CI) runs the gallery with SKLEARN_LT_EXAMPLE_FAST=1:
    # an example that ignores it would run at full size there.
    source = script.read_text()
    assert "# %%" in source, "sphinx-gallery cells start with '# %%'"
    assert "SKLEARN_LT_EXAMPLE_FAST" in source


def test_gallery_has_a_header():
    # sphinx-gallery refuses a gallery directory without one.
    assert (EXAMPLES / "GALLERY_HEADER.rst").is_file()


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_example_runs(script, monkeypatch, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("SKLEARN_LT_EXAMPLE_FAST", "1")
    monkeypatch.chdir(tmp_path)  # anything an example writes lands here
    try:
        with warnings.catch_warnings():
            # plt.show() under Agg, and MLPs stopped early on purpose
            warnings.filterwarnings("ignore", message=".*non-interactive.*")
            warnings.filterwarnings("ignore", message=".*converge.*")
            runpy.run_path(str(script), run_name="__main__")
    finally:
        plt.close("all")
    assert not list(tmp_path.iterdir()), "examples should not write files"
