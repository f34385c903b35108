"""The API reference lists exactly the public surface: ``__all__`` of each module.

``docs/conf.py`` writes the API pages from the modules' ``__all__`` at every
build. These tests run that writer into a temporary folder and read the pages
back as text, so that the pages, the package's ``__all__`` and each public
module's ``__all__`` cannot drift apart: a name in an ``__all__`` that no page
lists, a page entry that no ``__all__`` holds, or a public module with an
``__all__`` that no page covers fails here.
"""

import importlib
import importlib.util
import pkgutil
import re
from pathlib import Path

import pytest

import sklearn_lt

CONF = Path(__file__).resolve().parents[1] / "docs" / "conf.py"


@pytest.fixture(scope="module")
def conf():
    spec = importlib.util.spec_from_file_location("_sklearn_lt_docs_conf", CONF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pages(conf, tmp_path_factory):
    """``{module name: (entries with a page of their own, aliases)}``."""
    out = tmp_path_factory.mktemp("api")
    warnings = []
    conf.write_api_pages(
        out_dir=out, warn=warnings.append, generated_dir=out / "generated"
    )
    assert warnings == []
    read = {}
    for page in out.glob("*.rst"):
        if page.stem == "index":
            continue
        text = page.read_text()
        # autosummary entries: indented names after the directive's options
        entries = set(re.findall(r"^   ([A-Za-z_][\w]*)$", text, re.MULTILINE))
        # "* ``sklearn_lt.Name``: :role:`home.Name`" lines
        aliases = dict(
            re.findall(r"^\* ``sklearn_lt\.(\w+)``: :\w+:`([\w.]+)`$", text, re.M)
        )
        read[page.stem] = (entries, aliases)
    return read


def _public(module):
    return {name for name in module.__all__ if not name.startswith("__")}


def test_every_listed_module_has_a_page_and_the_index_lists_them(conf, pages):
    listed = [name for name, _ in conf.API_MODULES]
    missing = [
        name
        for name in listed
        if name not in pages and importlib.util.find_spec(name) is not None
    ]
    assert missing == []
    assert set(pages) <= set(listed)


def test_each_page_lists_exactly_its_modules_all(conf, pages):
    for name, (entries, aliases) in pages.items():
        module = importlib.import_module(name)
        assert entries | set(aliases) == _public(module), name


def test_top_level_aliases_point_at_the_same_object(pages):
    _, aliases = pages["sklearn_lt"]
    for public, target in aliases.items():
        home, _, attr = target.rpartition(".")
        assert home in pages, target
        assert attr in pages[home][0], target
        assert getattr(importlib.import_module(home), attr) is getattr(
            sklearn_lt, public
        )


def test_the_package_all_is_what_the_package_exports():
    # every name of __all__ resolves, and dir() shows it
    for name in sklearn_lt.__all__:
        assert getattr(sklearn_lt, name) is not None
    assert set(sklearn_lt.__all__) <= set(dir(sklearn_lt))
    assert len(sklearn_lt.__all__) == len(set(sklearn_lt.__all__))


def _public_modules():
    """Every module of the package with no underscore part in its name."""
    names = ["sklearn_lt"]
    for info in pkgutil.walk_packages(sklearn_lt.__path__, "sklearn_lt."):
        parts = info.name.split(".")[1:]
        if any(part.startswith("_") for part in parts):
            continue
        names.append(info.name)
    return names


def test_every_public_name_of_every_public_module_has_a_page(pages):
    """A public module's ``__all__`` is documented: on its page or its package's.

    A name counts as documented where some page lists the same object (a
    submodule such as ``sklearn_lt.compare.run`` whose names the
    ``sklearn_lt.compare`` page lists needs no page of its own).
    """
    documented = set()
    for name, (entries, _) in pages.items():
        module = importlib.import_module(name)
        documented |= {id(getattr(module, entry)) for entry in entries}
    undocumented = []
    for name in _public_modules():
        module = importlib.import_module(name)
        if not hasattr(module, "__all__"):
            undocumented.append(f"{name} has no __all__")
            continue
        undocumented += [
            f"{name}.{public}"
            for public in _public(module)
            if id(getattr(module, public)) not in documented
        ]
    assert undocumented == []


def test_public_functions_and_classes_of_the_modules_are_in_all():
    """Within the modules whose surface is reviewed, what is not in ``__all__``
    is private: every class or function a module defines without an underscore
    is exported."""
    reviewed = [
        "sklearn_lt.cli",
        "sklearn_lt.datasets",
        "sklearn_lt.decisions",
        "sklearn_lt.early_stopping",
        "sklearn_lt.metrics",
        "sklearn_lt.persistence",
        "sklearn_lt.posthoc",
        "sklearn_lt.prior_calibration",
        "sklearn_lt.prior_shift",
        "sklearn_lt.schedules",
        *(name for name in _public_modules() if name.startswith("sklearn_lt.compare")),
    ]
    stray = []
    for name in reviewed:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if attr.startswith("_") or getattr(value, "__module__", None) != name:
                continue
            if (isinstance(value, type) or callable(value)) and attr not in getattr(
                module, "__all__", ()
            ):
                stray.append(f"{name}.{attr}")
    assert stray == []
