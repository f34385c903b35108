"""Sphinx configuration of the sklearn_lt documentation.

Build (from the repository root)::

    pip install -e ".[docs]" && python -m sphinx -W -b html docs docs/_build/html

The gallery (``examples/``) is executed during the build; with
``SKLEARN_LT_EXAMPLE_FAST=1`` in the environment the examples run at their
small settings (as in CI and ``tests/test_examples.py``).

The API pages are generated at every build from the modules' ``__all__``
(see :func:`write_api_pages`), so a new public name gets its page without an
edit here.
"""

import importlib
import inspect
import os
import sys
from pathlib import Path

import sklearn_lt

DOCS = Path(__file__).resolve().parent

project = "sklearn_lt"
author = "the sklearn_lt developers"
copyright = "2026, the sklearn_lt developers"
version = release = sklearn_lt.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    # Vendors MathJax 3 into _static, so formulas render without a network.
    "sphinx-mathjax-offline",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/*.ipynb", "**/*.zip"]
root_doc = "index"
default_role = "literal"

# -- API pages ---------------------------------------------------------------
# Modules whose ``__all__`` gets an API section, in the order shown. A module
# that does not exist (yet) is skipped, so the list can run ahead of the code.
API_MODULES = [
    ("sklearn_lt", "Estimators and top-level names"),
    ("sklearn_lt.losses", "Losses (plain PyTorch)"),
    ("sklearn_lt.weights", "Class weights and the DRW schedule"),
    ("sklearn_lt.schedules", "Learning-rate schedules"),
    ("sklearn_lt.early_stopping", "Early stopping"),
    ("sklearn_lt.metrics", "Metrics"),
    ("sklearn_lt.datasets", "Datasets"),
    ("sklearn_lt.compare", "Comparison harness"),
    ("sklearn_lt.compare.preprocessing", "Per-fold preprocessing of mixed tables"),
    ("sklearn_lt.compare.plots", "Plots of a comparison"),
    ("sklearn_lt.compare.html", "HTML report of a comparison"),
    ("sklearn_lt.persistence", "Safe saving and loading"),
    ("sklearn_lt.net", "skorch building blocks"),
    ("sklearn_lt.modules", "PyTorch modules"),
    ("sklearn_lt.accelerate", "Hugging Face Accelerate"),
    ("sklearn_lt.cli", "The sklearn-lt command line"),
]


def _kind(obj):
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "data"


def write_api_pages(out_dir=DOCS / "api", warn=print, generated_dir=DOCS / "generated"):
    """Write one reST page per module of :data:`API_MODULES` from its ``__all__``.

    Names of the top-level package that are re-exports of a documented
    submodule link to the submodule's page instead of getting a second one.
    Stale autosummary stubs in ``generated_dir`` are removed.
    ``tests/test_docs_api.py`` checks that the pages list exactly the public
    surface.
    """
    out_dir.mkdir(exist_ok=True)
    documented = []
    for name, _ in API_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # not written yet
            warn(f"API page of {name} skipped: cannot import it ({exc}).")
            continue
        except ImportError as exc:
            warn(f"API page of {name} skipped: cannot import it ({exc}).")
            continue
        if not hasattr(module, "__all__"):
            warn(f"API page of {name} skipped: the module has no __all__.")
            continue
        documented.append((name, module))
    submodules = {name for name, _ in documented if name != "sklearn_lt"}
    pages, stubs = [], set()
    for name, module in documented:
        title = dict(API_MODULES)[name]
        heading = f":mod:`{name}`: {title}"
        lines = [
            f".. _api_{name.replace('.', '_')}:",
            "",
            heading,
            "=" * len(heading),
            "",
            f".. automodule:: {name}",
            "   :no-members:",
            "   :no-inherited-members:",
            "",
            f".. currentmodule:: {name}",
            "",
        ]
        groups = {"class": [], "function": [], "data": []}
        aliases = []
        for public in module.__all__:
            if public.startswith("__"):
                continue
            obj = getattr(module, public)
            home = next(
                (
                    sub
                    for sub, submodule in documented
                    if sub in submodules
                    and public in getattr(submodule, "__all__", ())
                    and getattr(submodule, public) is obj
                ),
                None,
            )
            if name == "sklearn_lt" and home is not None:
                aliases.append((public, home, _kind(obj)))
                continue
            groups[_kind(obj)].append(public)
        stubs.update(
            f"{name}.{public}" for group in groups.values() for public in group
        )
        for kind, title_ in [
            ("class", "Classes"),
            ("function", "Functions"),
            ("data", "Constants"),
        ]:
            if not groups[kind]:
                continue
            template = {"class": "class.rst", "function": "function.rst"}.get(
                kind, "base.rst"
            )
            lines += [
                title_,
                "-" * len(title_),
                "",
                ".. autosummary::",
                "   :toctree: ../generated",
                f"   :template: {template}",
                "",
                *[f"   {public}" for public in sorted(groups[kind])],
                "",
            ]
        if aliases:
            lines += [
                "Also importable from ``sklearn_lt``",
                "------------------------------------",
                "",
                "These names are re-exported by the package; their pages are",
                "with their module.",
                "",
            ]
            role = {"class": "class", "function": "func", "data": "data"}
            for public, home, kind in sorted(aliases):
                lines.append(
                    f"* ``sklearn_lt.{public}``: :{role[kind]}:`{home}.{public}`"
                )
            lines.append("")
        page = out_dir / f"{name}.rst"
        text = "\n".join(lines)
        if not page.exists() or page.read_text() != text:
            page.write_text(text)
        pages.append(name)
    # autosummary writes stubs but never removes them: drop those of names
    # that are gone, or -W fails on a page in no toctree.
    for stale in Path(generated_dir).glob("*.rst"):
        if stale.stem not in stubs:
            stale.unlink()
    for stale in out_dir.glob("*.rst"):
        if stale.stem not in pages and stale.stem != "index":
            stale.unlink()
    index = [
        "API reference",
        "=============",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    index += [f"   {page}" for page in pages]
    text = "\n".join(index) + "\n"
    if (
        not (out_dir / "index.rst").exists()
        or (out_dir / "index.rst").read_text() != text
    ):
        (out_dir / "index.rst").write_text(text)


autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()  # rendering warnings still fail -W
numpydoc_xref_param_type = False


# -- Gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Execute every example, not only plot_*.py.
    "filename_pattern": r".*\.py$",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "plot_gallery": "True",
    # Links from each API page to the examples that use it.
    "doc_module": ("sklearn_lt",),
    "backreferences_dir": "generated",
    "reference_url": {"sklearn_lt": None},
    "show_memory": False,
    "abort_on_example_error": True,
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_lt {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 5,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    # The decision guide's result tables need the width.
    "secondary_sidebar_items": {
        "**": ["page-toc"],
        "user_guide/which_loss": [],
    },
}
html_sidebars = {"index": []}
html_show_sourcelink = False


def _skip_foreign_member(app, what, name, obj, skip, options):
    """Document a class's own members and those of its sklearn_lt bases only.

    Methods inherited from scikit-learn, skorch or PyTorch (``get_params``,
    ``set_fit_request``, ``Module.eval``, ...) are documented by those
    projects; their docstrings cross-reference labels of their own sites.
    """
    if what != "class":
        return None
    target = getattr(obj, "fget", obj)  # properties
    module = getattr(target, "__module__", None)
    if module is not None and not module.startswith("sklearn_lt"):
        return True
    return None


def write_cli_help(out_dir=DOCS / "generated"):
    """Write ``sklearn-lt compare --help`` for the user guide to include."""
    import subprocess

    out_dir.mkdir(exist_ok=True)
    env = {**os.environ, "COLUMNS": "80"}
    help_text = subprocess.run(
        [sys.executable, "-m", "sklearn_lt", "compare", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    page = out_dir / "cli_compare_help.txt"
    if not page.exists() or page.read_text() != help_text:
        page.write_text(help_text)


def _write_api_pages(app):
    from sphinx.util import logging

    write_api_pages(warn=logging.getLogger("sklearn_lt.docs").warning)
    write_cli_help()
    # An environment loaded from an earlier build does not know new pages yet;
    # autosummary generates stubs only for the pages the environment lists.
    app.env.find_files(app.config, app.builder)


def setup(app):
    # Before autosummary (priority 500) reads the pages it generates stubs for.
    app.connect("builder-inited", _write_api_pages, priority=100)
    app.connect("autodoc-skip-member", _skip_foreign_member)
