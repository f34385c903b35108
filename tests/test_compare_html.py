"""Tests of sklearn_lt.compare.html: the HTML parsed back with the standard library."""

import base64
import re
import struct
import zlib
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from sklearn_lt.compare.html import write_html_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def tiny_png(width=3, height=2):
    """A valid PNG written by hand (no matplotlib needed)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class Page(HTMLParser):
    """Collects what the tests look at: tags, attributes, rows, text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []  # (tag, attrs dict)
        self.rows = []  # (class attribute, [cell texts]) of <tbody> rows
        self.text = []
        self._tbody = 0
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "tbody":
            self._tbody += 1
        elif tag == "tr" and self._tbody:
            self._row = (attrs.get("class", ""), [])
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._tbody -= 1
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "td" and self._cell is not None:
            self._row[1].append(" ".join(" ".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def result_rows(page):
    # the first table is the result table: its rows have the family class
    return [row for row in page.rows if re.search(r"\b(ours|baseline)\b", row[0])]


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "contender": ["ours_la", "<script>alert(1)</script>", "smote", "part"],
            "family": ["sklearn_lt", "baseline", "baseline", "sklearn_lt"],
            "estimator": ["LogitAdjusted(LR)", "LR(C=1)", "SMOTE+LR", "MLP"],
            "n_splits": [5, 5, 5, 5],
            "n_failed": [0, 0, 5, 2],
            "error": ["", "", "ValueError: Input X contains NaN & <inf>.", "OOM"],
            "balanced_accuracy_mean": [0.9, 0.85, np.nan, 0.8],
            "balanced_accuracy_std": [0.01, 0.02, np.nan, 0.03],
            "f1_macro_mean": [0.89, 0.84, np.nan, 0.79],
            "f1_macro_std": [0.01, 0.02, np.nan, 0.03],
            "diff_vs_best_baseline": [0.05, np.nan, np.nan, -0.05],
            "p_value": [0.031, np.nan, np.nan, 0.5],
        }
    )


@pytest.fixture
def per_class():
    return pd.DataFrame(
        {
            "contender": ["ours_la"] * 2 + ["smote"] * 2,
            "split": [0, 0, 0, 0],
            "class": ["head", "tail"] * 2,
            "train_count": [90, 3, 90, 3],
            "recall": [0.95, 0.5, np.nan, np.nan],
        }
    )


META = {
    "command": "sklearn-lt compare --data 'a&b.csv' --target label",
    "data": "a&b.csv: 101 rows, 3 classes",
    "machine": "Linux x86_64, 2 CPU core(s)",
    "settings": "5 splits, seed 0",
    "class_counts": "a: 71, b: 22, c: 8",
    "failures": "smote failed on 5/5 splits (ValueError).",
    "statistics": "ours_la vs best baseline: +0.050, Wilcoxon p = 0.031.",
    "wall_time": "",
}


def write(tmp_path, table, per_class, meta=META, images=True):
    if images:
        (tmp_path / "balanced_accuracy.png").write_bytes(tiny_png())
        (tmp_path / "per_class_recall.png").write_bytes(tiny_png(5, 4))
    return write_html_report(tmp_path / "report.html", table, per_class, meta)


def test_one_row_per_contender_in_order_and_failed_rows_show_their_error(
    tmp_path, table, per_class
):
    page = parse(write(tmp_path, table, per_class))
    rows = result_rows(page)
    assert len(rows) == len(table)
    assert [cells[1] for _, cells in rows] == [
        "ours_la LogitAdjusted(LR)",
        "<script>alert(1)</script> LR(C=1)",
        "smote SMOTE+LR",
        "part MLP",
    ]
    classes = [css.split() for css, _ in rows]
    assert "failed" in classes[2] and "baseline" in classes[2]
    assert "partial" in classes[3] and "ours" in classes[3]
    assert not {"failed", "partial"} & {*classes[0], *classes[1]}
    failed = " | ".join(rows[2][1])
    assert "failed (5/5 splits)" in failed
    assert "ValueError: Input X contains NaN & <inf>." in failed
    partial = " | ".join(rows[3][1])
    assert "2/5 splits failed" in partial and "OOM" in partial
    assert "0.800 ± 0.030" in partial  # a partly failed row keeps its score
    # the scores, the paired difference and the p-value, as given
    assert rows[0][1][3:6] == ["0.900 ± 0.010", "+0.050", "0.031"]
    assert rows[1][1][4:6] == ["", ""]  # no difference nor p for a baseline


def test_embedded_images_are_the_png_files_beside_the_report(
    tmp_path, table, per_class
):
    page = parse(write(tmp_path, table, per_class))
    sources = [attrs["src"] for tag, attrs in page.tags if tag == "img"]
    assert len(sources) == 2
    expected = [
        (tmp_path / "balanced_accuracy.png").read_bytes(),
        (tmp_path / "per_class_recall.png").read_bytes(),
    ]
    for source, data in zip(sources, expected):
        prefix = "data:image/png;base64,"
        assert source.startswith(prefix)
        decoded = base64.b64decode(source[len(prefix) :], validate=True)
        assert decoded.startswith(PNG_SIGNATURE)
        assert decoded == data


def test_no_external_references(tmp_path, table, per_class):
    path = write(tmp_path, table, per_class)
    page = parse(path)
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not value.startswith(("http://", "https://", "//")), (tag, value)
        assert tag not in ("script", "link", "iframe")
    assert "url(" not in path.read_text(encoding="utf-8")  # no CSS fetches


def test_user_strings_are_escaped(tmp_path, table, per_class):
    text = write(tmp_path, table, per_class).read_text(encoding="utf-8")
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "NaN &amp; &lt;inf&gt;." in text
    assert "&#x27;a&amp;b.csv&#x27;" in text  # in the command


def test_meta_fields_shown_and_empty_ones_skipped(tmp_path, table, per_class):
    page = parse(write(tmp_path, table, per_class))
    text = " ".join(page.text)
    for key, value in META.items():
        if value:
            assert value in text, key
    labels = [
        data.strip()
        for data in page.text
        if data.strip() in ("Command", "Data", "Machine", "Wall time")
    ]
    assert labels == ["Command", "Data", "Machine"]  # no empty "Wall time"
    assert page.tags[0][0] == "html" and any(tag == "title" for tag, _ in page.tags)


def test_per_class_table_classes_smallest_first(tmp_path, table, per_class):
    page = parse(write(tmp_path, table, per_class))
    recall_rows = [cells for css, cells in page.rows if not css]
    assert recall_rows == [["ours_la", "0.50", "0.95"], ["smote", "failed", "failed"]]


def test_without_images_meta_or_optional_columns(tmp_path):
    table = pd.DataFrame(
        {
            "contender": ["a", "b"],
            "balanced_accuracy_mean": [0.7, 0.6],
            "balanced_accuracy_std": [0.1, 0.1],
        }
    )
    path = write_html_report(tmp_path / "report.html", table, None, None)
    page = parse(path)
    assert not [tag for tag, _ in page.tags if tag == "img"]
    assert [cells[1] for _, cells in result_rows(page)] == ["a", "b"]
    assert "failures" not in [data.strip() for data in page.text]  # none failed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_file_that_is_not_a_png_is_not_embedded(tmp_path, table):
    (tmp_path / "balanced_accuracy.png").write_bytes(b"<html>not a png</html>")
    page = parse(write_html_report(tmp_path / "r.html", table, None, {}))
    assert not [tag for tag, _ in page.tags if tag == "img"]


def test_bad_arguments(tmp_path, table):
    with pytest.raises(TypeError, match="table must be a pandas DataFrame"):
        write_html_report(tmp_path / "r.html", table.to_numpy(), None, {})
    with pytest.raises(ValueError, match="'contender'"):
        write_html_report(tmp_path / "r.html", table.drop(columns="contender"))
    with pytest.raises(TypeError, match="meta must be a mapping"):
        write_html_report(tmp_path / "r.html", table, None, ["command"])
    assert list(tmp_path.iterdir()) == []


def test_with_real_plots(tmp_path):
    pytest.importorskip("matplotlib")
    from sklearn_lt.compare.plots import write_plots

    table = pd.DataFrame(
        {
            "contender": ["ours", "base"],
            "family": ["sklearn_lt", "baseline"],
            "balanced_accuracy_mean": [0.88, np.nan],
            "balanced_accuracy_std": [0.01, np.nan],
        }
    )
    per_class = pd.DataFrame(
        {
            "contender": ["ours", "ours", "base", "base"],
            "split": 0,
            "class": [0, 1, 0, 1],
            "train_count": [50, 5, 50, 5],
            "recall": [0.9, 0.86, np.nan, np.nan],
        }
    )
    written = write_plots(tmp_path, table, per_class)
    page = parse(write_html_report(tmp_path / "report.html", table, per_class, {}))
    sources = [attrs["src"] for tag, attrs in page.tags if tag == "img"]
    assert len(sources) == len(written) == 2
    for source, path in zip(sources, written):
        assert base64.b64decode(source.split(",", 1)[1]) == path.read_bytes()


def test_headline_names_the_best_of_each_family_unless_statistics_given(
    tmp_path, table
):
    page = parse(write_html_report(tmp_path / "r.html", table, None, {}))
    text = " ".join(" ".join(page.text).split())
    # the failed "smote" has no score: the best scored baseline is the 0.85 one
    assert (
        "Best sklearn_lt contender: ours_la (0.900); "
        "best baseline: <script>alert(1)</script> (0.850)."
    ) in text
    meta = {"statistics": "ours_la vs best baseline: +0.050."}
    page = parse(write_html_report(tmp_path / "r.html", table, None, meta))
    text = " ".join(" ".join(page.text).split())
    assert "ours_la vs best baseline: +0.050." in text
    assert "Best sklearn_lt contender" not in text


def test_not_applicable_and_failed_cells_read_differently(tmp_path):
    """A shot group without a class is n/a; a failed contender's score failed."""
    table = pd.DataFrame(
        {
            "contender": ["ok", "broken"],
            "family": ["baseline", "baseline"],
            "n_splits": [2, 2],
            "n_failed": [0, 2],
            "error": ["", "ValueError: boom"],
            "balanced_accuracy_mean": [0.8, np.nan],
            "balanced_accuracy_std": [0.0, np.nan],
            "many_shot_recall_mean": [0.9, np.nan],
            "few_shot_recall_mean": [np.nan, np.nan],  # ok: no few-shot class
            "fit_seconds_mean": [0.1, 0.2],
        }
    )
    per_class = pd.DataFrame(
        {
            "contender": ["ok", "ok", "broken", "broken"],
            "split": 0,
            "class": ["a", "b"] * 2,
            "train_count": [10, 5] * 2,
            "recall": [np.nan, 0.5, np.nan, np.nan],  # ok: no test row of a
        }
    )
    page = parse(write(tmp_path, table, per_class, meta={}, images=False))
    rows = {cells[1]: cells for _, cells in result_rows(page)}
    assert rows["ok"][3:6] == ["0.800 ± 0.000", "0.900", "no class"]
    assert rows["broken"][3:6] == ["failed (2/2 splits)", "failed", "failed"]
    assert "–" not in "".join(page.text)
    recall_rows = [cells for css, cells in page.rows if not css]
    # classes smallest first: b (5), a (10)
    assert recall_rows == [["ok", "0.50", "n/a"], ["broken", "failed", "failed"]]


def test_images_given_in_memory_are_embedded(tmp_path, table):
    path = write_html_report(
        tmp_path / "report.html",
        table,
        None,
        images={"per_class_recall.png": tiny_png()},
    )
    sources = [attrs["src"] for tag, attrs in parse(path).tags if tag == "img"]
    assert len(sources) == 1
    assert base64.b64decode(sources[0].split(",", 1)[1]) == tiny_png()
    assert list(tmp_path.iterdir()) == [path]  # nothing written beside it
