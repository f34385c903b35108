"""Reading tables the way people write them (sklearn_lt.compare.tables).

Every table shape of issue 21 is generated here: decimal commas, stray
strings, an ID column, labels ``01`` and ``1``, a class named ``NA``, a
header-only file, Parquet lists, timedeltas, datetimes, and compressed files
(a decompression bomb among them). Expected values are written by hand or
come from pandas reading the same numbers written with a decimal point.
"""

import bz2
import gzip
import inspect
import io
import lzma
import re
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

from sklearn_lt.cli import main
from sklearn_lt.compare.tables import (
    _DEFAULT_MAX_BYTES,
    _NUMERIC_FRACTION,
    TableTooLargeError,
    TableWarning,
    read_table,
)

QUIET = ["--n-jobs", "1", "--no-plots", "--no-progress"]


def _table(n=60, seed=0):
    """A 3-class table: two float features, a text one and an integer one."""
    rng = np.random.RandomState(seed)
    label = np.repeat(["cat", "dog", "eel"], [n // 2, n // 3, n - n // 2 - n // 3])
    shift = pd.Series(label).map({"cat": 0.0, "dog": 2.5, "eel": 5.0}).to_numpy()
    return pd.DataFrame(
        {
            "weight": (rng.normal(size=n) + shift).round(4),
            "height": (rng.normal(100, 20, size=n) + 10 * shift).round(2),
            "colour": rng.choice(["red", "green", "blue"], n),
            "legs": rng.randint(0, 5, n),
            "label": label,
        }
    )


def _read(data, target="label", **kwargs):
    """read_table, and the messages of its TableWarnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X, y = read_table(data, target, **kwargs)
    messages = [str(w.message) for w in caught if issubclass(w.category, TableWarning)]
    return X, y, messages


def _run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


# -- decimal commas and thousands separators -------------------------------------------


def test_decimal_comma_table_reads_as_the_same_table_with_points(tmp_path):
    frame = _table()
    frame.to_csv(tmp_path / "point.csv", sep=";", index=False)
    frame.to_csv(tmp_path / "comma.csv", sep=";", index=False, decimal=",")
    assert "0,4002" in (tmp_path / "comma.csv").read_text()  # as a spreadsheet writes
    X_point, y_point, notes_point = _read(tmp_path / "point.csv")
    X_comma, y_comma, notes_comma = _read(tmp_path / "comma.csv")
    assert notes_point == notes_comma == []
    pd.testing.assert_frame_equal(X_comma, X_point)
    np.testing.assert_array_equal(y_comma, y_point)
    # the numbers are the ones written, not categories
    np.testing.assert_allclose(X_comma["weight"], frame["weight"])
    assert X_comma["weight"].dtype == np.float64
    assert X_comma["legs"].dtype == np.int64
    assert X_comma.attrs == {"separator": ";", "decimal": ","}
    assert X_point.attrs == {"separator": ";", "decimal": "."}


def test_decimal_comma_with_thousands_separators(tmp_path):
    text = (
        "amount;rate;label\n1.234,5;0,5;a\n12.345.678,25;1,25;b\n7;2;a\n"
        "-2.000,0;3,5;b\n"
    )
    X, _, notes = _read(io.BytesIO(text.encode()))
    assert notes == []
    assert X["amount"].tolist() == [1234.5, 12345678.25, 7.0, -2000.0]
    assert X["rate"].tolist() == [0.5, 1.25, 2.0, 3.5]


def test_excel_csv_with_byte_order_mark_and_decimal_commas(tmp_path):
    # Excel's "CSV UTF-8" starts with a byte order mark; here the target is the
    # first column, so its name carries the mark in the raw bytes
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufefflabel;x\r\nNA;1,5\r\nb;2,25\r\nNA;-0,5\r\n".encode())
    X, y, notes = _read(path)
    assert notes == []
    assert y.tolist() == ["NA", "b", "NA"]
    assert X["x"].tolist() == [1.5, 2.25, -0.5]


def test_points_with_thousands_separators(tmp_path):
    text = 'amount,rate,label\n"1,234.5",0.5,a\n"12,345,678.25",1.25,b\n7,2,a\n'
    X, _, notes = _read(io.BytesIO(text.encode()))
    assert notes == []
    assert X["amount"].tolist() == [1234.5, 12345678.25, 7.0]


def test_decimal_option_decides_an_ambiguous_table():
    # "1,250" is 1250 with a decimal point and 1.25 with a decimal comma
    text = "price;label\n1,250;a\n2,500;b\n3,750;a\n"
    X, _, _ = _read(io.BytesIO(text.encode()))
    assert X["price"].tolist() == [1250.0, 2500.0, 3750.0]
    X, _, _ = _read(io.BytesIO(text.encode()), decimal=",")
    assert X["price"].tolist() == [1.25, 2.5, 3.75]
    assert X.attrs["decimal"] == ","


def test_cli_decimal_comma_table_gives_the_balanced_accuracy_of_the_point_table(
    capsys, tmp_path
):
    frame = _table(90)
    frame.to_csv(tmp_path / "point.csv", sep=";", index=False)
    frame.to_csv(tmp_path / "comma.csv", sep=";", index=False, decimal=",")
    scores = {}
    for name in ("point", "comma"):
        out = tmp_path / f"out_{name}"
        status, stdout, err = _run(
            capsys, "compare", "--data", str(tmp_path / f"{name}.csv"),
            "--target", "label", "--contenders", "logreg_balanced", "--cv", "3",
            *QUIET, "--out", str(out),
        )  # fmt: skip
        assert status == 0, err
        assert "warning" not in err
        scores[name] = pd.read_csv(out / "results.csv")["balanced_accuracy_mean"]
    np.testing.assert_array_equal(scores["comma"], scores["point"])
    assert scores["comma"].iloc[0] > 0.7  # not the 0.5 of features read as categories
    assert "read with ';' separator and ',' decimal mark" in stdout


# -- stray strings in numeric columns --------------------------------------------------


def test_stray_strings_in_a_numeric_column_become_missing_with_a_warning(tmp_path):
    frame = _table(100).astype({"weight": object})
    frame.loc[[3, 10, 20], "weight"] = ["?", "1,5", "?"]
    frame.loc[30, "weight"] = "n/a"  # pandas' missing marker: missing, no warning
    frame.to_csv(tmp_path / "stray.csv", index=False)
    X, _, notes = _read(tmp_path / "stray.csv")
    assert X["weight"].dtype == np.float64
    assert X["weight"].isna().tolist() == [i in (3, 10, 20, 30) for i in range(100)]
    kept = ~X["weight"].isna()
    np.testing.assert_allclose(X["weight"][kept], frame["weight"][kept].astype(float))
    assert len(notes) == 1
    assert re.fullmatch(
        r"column 'weight' holds numbers, but 3 of its 99 non-missing cells are not "
        r"\(e\.g\. '\?', '1,5'\); they are read as missing values",
        notes[0],
    ), notes[0]


def test_numeric_threshold_is_95_percent_of_non_missing_cells():
    assert _NUMERIC_FRACTION == 0.95
    label = ["a", "b"] * 10
    numbers = [str(i % 5) for i in range(20)]
    # 19 of 20 cells are numbers: numeric
    X, _, notes = _read(pd.DataFrame({"x": numbers[:19] + ["?"], "label": label}))
    assert X["x"].dtype == np.float64 and X["x"].isna().sum() == 1
    assert "1 of its 20 non-missing cells are not (e.g. '?')" in notes[0]
    # 18 of 20: text, with a warning saying why
    X, _, notes = _read(pd.DataFrame({"x": numbers[:18] + ["?", "x"], "label": label}))
    assert not pd.api.types.is_numeric_dtype(X["x"])
    assert X["x"].tolist()[-2:] == ["?", "x"]
    assert notes == [
        "column 'x' is read as text (categories): 18 of its 20 non-missing cells "
        "are numbers, fewer than the 95% needed to read it as numbers (others: "
        "'?', 'x')"
    ]


def test_text_columns_stay_text_without_a_warning():
    frame = _table()
    X, _, notes = _read(frame)
    assert notes == []
    assert X["colour"].tolist() == frame["colour"].tolist()


# -- labels ----------------------------------------------------------------------------


def test_labels_01_and_1_stay_two_classes(tmp_path):
    frame = _table().assign(label=["01", "1"] * 30)
    frame.to_csv(tmp_path / "labels.csv", index=False)
    _, y, _ = _read(tmp_path / "labels.csv")
    assert y.dtype == object and all(isinstance(label, str) for label in y)
    assert y.tolist() == ["01", "1"] * 30


def test_cli_labels_01_and_1_are_two_classes(capsys, tmp_path):
    frame = _table().assign(label=np.repeat(["01", "1"], 30))
    frame.to_csv(tmp_path / "labels.csv", index=False)
    out = tmp_path / "out"
    status, stdout, err = _run(
        capsys, "compare", "--data", str(tmp_path / "labels.csv"), "--target",
        "label", "--contenders", "logreg_balanced", "--cv", "2", *QUIET,
        "--out", str(out),
    )  # fmt: skip
    assert status == 0, err
    assert "2 classes" in stdout
    recalls = pd.read_csv(out / "per_class_recall.csv", dtype=str)
    assert set(recalls["class"]) == {"01", "1"}


@pytest.mark.parametrize("name", ["NA", "None", "null", "nan"])
def test_a_class_named_like_a_missing_value_stays_a_class(tmp_path, name):
    frame = _table().assign(label=[name, "other"] * 30)
    frame.to_csv(tmp_path / "na.csv", index=False)
    _, y, notes = _read(tmp_path / "na.csv")
    assert notes == []
    assert y.tolist() == [name, "other"] * 30


def test_empty_labels_leave_their_rows_out_with_a_warning(tmp_path):
    frame = _table().astype({"label": object})
    frame.loc[[4, 7], "label"] = ""
    frame.loc[9, "label"] = "  "  # spaces only: empty too
    frame.to_csv(tmp_path / "empty.csv", index=False)
    X, y, notes = _read(tmp_path / "empty.csv")
    kept = [i for i in range(60) if i not in (4, 7, 9)]
    assert y.tolist() == frame["label"][kept].tolist()
    np.testing.assert_allclose(X["weight"], frame["weight"][kept])
    assert X.index.equals(pd.RangeIndex(57))
    assert notes == [
        "the target column 'label' is empty on 3 of 60 rows (data rows 5, 8, 10); "
        "those rows are left out"
    ]


def test_short_rows_without_a_label_leave_their_rows_out():
    text = "x,y,label\n1,2,a\n3,4\n5,6,b\n7,8,a\n"
    X, y, notes = _read(io.BytesIO(text.encode()))
    assert y.tolist() == ["a", "b", "a"] and X["x"].tolist() == [1, 5, 7]
    assert "empty on 1 of 4 rows (data rows 2)" in notes[0]


def test_dataframe_with_duplicate_column_names_is_refused():
    frame = pd.DataFrame([[1, 2, "a"], [3, 4, "b"]], columns=["x", "x", "label"])
    with pytest.raises(ValueError, match=r"more than one column named 'x'; rename"):
        read_table(frame, "label")


def test_missing_labels_of_a_dataframe_leave_their_rows_out():
    frame = _table().astype({"label": object})
    frame.loc[2, "label"] = None
    X, y, notes = _read(frame)
    assert len(y) == len(X) == 59 and "data rows 3" in notes[0]


def test_numeric_labels_of_a_dataframe_become_their_text():
    frame = _table().assign(label=np.tile([1.0, 2.0, 10.0], 20))
    _, y, _ = _read(frame)
    assert y.tolist() == ["1", "2", "10"] * 20


@pytest.mark.parametrize(
    "labels, pattern",
    [
        (np.linspace(0, 1, 60).round(3), r"holds continuous values \(60 distinct\)"),
        (["cat"] * 60, r"has a single class \('cat'\)"),
        ([""] * 60, r"is empty on every row"),
    ],
    ids=["continuous", "one-class", "empty"],
)
def test_targets_that_are_not_classes_are_refused(labels, pattern):
    with pytest.raises(ValueError, match=pattern):
        read_table(_table().assign(label=labels), "label")


def test_continuous_target_written_with_decimal_commas_is_refused_too(tmp_path):
    frame = _table().assign(label=np.linspace(0, 1, 60).round(3))
    frame.to_csv(tmp_path / "comma.csv", sep=";", decimal=",", index=False)
    with pytest.raises(ValueError, match=r"holds continuous values \(60 distinct\)"):
        read_table(tmp_path / "comma.csv", "label")


# -- row identifiers and dropped columns -----------------------------------------------


def test_id_like_columns_are_named_in_a_warning(tmp_path):
    frame = _table()
    frame.insert(0, "rownames", np.arange(1, 61))  # as R's write.csv numbers rows
    frame["name"] = [f"animal {i}" for i in range(60)]
    frame.to_csv(tmp_path / "ids.csv", index=False)
    X, _, notes = _read(tmp_path / "ids.csv")
    assert list(X.columns) == ["rownames", "weight", "height", "colour", "legs", "name"]
    assert notes == [
        "column(s) 'rownames' (integers increasing from 1 to 60); 'name' (a "
        "different value on every row) look like row identifiers, not features: "
        "a model can only memorise them; leave them out with --drop-columns "
        "rownames,name (drop_columns=)"
    ]


def test_pandas_index_written_to_csv_is_an_id_column(tmp_path):
    _table().to_csv(tmp_path / "indexed.csv")  # header "" -> "Unnamed: 0"
    _, _, notes = _read(tmp_path / "indexed.csv")
    assert (
        len(notes) == 1
        and "'Unnamed: 0' (integers increasing from 0 to 59)" in (notes[0])
    )


def test_no_id_warning_for_features_that_merely_differ_per_row():
    # continuous floats differ on every row; unsorted unique integers are a feature
    frame = _table().assign(code=np.random.RandomState(1).permutation(60))
    _, _, notes = _read(frame)
    assert notes == []


def test_drop_columns_leaves_them_out(tmp_path):
    frame = _table()
    frame.insert(0, "rownames", np.arange(1, 61))
    X, _, notes = _read(frame, drop_columns=["rownames", "colour"])
    assert list(X.columns) == ["weight", "height", "legs"]
    assert notes == []


@pytest.mark.parametrize(
    "drop, pattern",
    [
        (["colour", "nope", "zz"], r"cannot drop column\(s\) 'nope', 'zz': not in "),
        (["label"], r"cannot drop the target column 'label'"),
    ],
)
def test_drop_columns_refuses_unknown_columns_and_the_target(drop, pattern):
    with pytest.raises(ValueError, match=pattern):
        read_table(_table(), "label", drop_columns=drop)


def test_cli_drop_columns_and_warnings_are_one_line_each(capsys, tmp_path):
    frame = _table()
    frame.insert(0, "id", np.arange(60))
    frame.to_csv(tmp_path / "ids.csv", index=False)
    base = ["compare", "--data", str(tmp_path / "ids.csv"), "--target", "label",
            "--contenders", "logreg_balanced", "--cv", "2", *QUIET]  # fmt: skip
    status, stdout, err = _run(capsys, *base, "--out", str(tmp_path / "a"))
    assert status == 0, err
    [line] = [line for line in err.splitlines() if "warning" in line]
    assert line.startswith("sklearn-lt compare: warning: column(s) 'id' (integers")
    assert "5 features" in stdout
    status, stdout, err = _run(
        capsys, *base, "--drop-columns", "id", "--out", str(tmp_path / "b")
    )
    assert status == 0, err
    assert "warning" not in err and "4 features" in stdout
    status, _, err = _run(
        capsys, *base, "--drop-columns", "id,idd", "--out", str(tmp_path / "c")
    )
    assert status == 2
    assert err.splitlines() == [
        "sklearn-lt compare: error: cannot drop column(s) 'idd': not in ids.csv; its "
        "columns are: id, weight, height, colour, legs, label"
    ]


# -- shapes that used to crash ---------------------------------------------------------


def test_header_only_csv_is_a_one_line_error(capsys, tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("weight,colour,label\n")
    with pytest.raises(ValueError, match=r"^header.csv has a header but no rows$"):
        read_table(path, "label")
    status, _, err = _run(capsys, "compare", "--data", str(path), "--target", "label")
    assert status == 2
    assert err == "sklearn-lt compare: error: header.csv has a header but no rows\n"


def test_parquet_column_of_lists_is_named_in_the_error(capsys, tmp_path):
    pytest.importorskip("pyarrow")
    frame = _table().assign(tags=[[1, 2]] * 30 + [[3]] * 30)
    path = tmp_path / "lists.parquet"
    frame.to_parquet(path)
    message = (
        "column 'tags' holds lists (e.g. [1, 2]), not one value per row: leave it "
        "out (--drop-columns tags, or drop_columns=) or flatten it"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        read_table(path, "label")
    status, _, err = _run(capsys, "compare", "--data", str(path), "--target", "label")
    assert status == 2 and err == f"sklearn-lt compare: error: {message}\n"
    X, _, _ = _read(path, drop_columns=["tags"])
    assert "tags" not in X


def test_dataframe_column_of_dicts_is_named_in_the_error():
    colours = [{"r": 1} if i == 5 else "red" for i in range(60)]
    frame = _table().assign(colour=pd.Series(colours, dtype=object))
    with pytest.raises(ValueError, match=r"column 'colour' holds dicts \(e.g. \{'r'"):
        read_table(frame, "label")


def test_timedelta_column_is_read_as_seconds(tmp_path):
    pytest.importorskip("pyarrow")
    seconds = np.arange(60) * 90.5
    frame = _table().assign(duration=pd.to_timedelta(seconds, unit="s"))
    frame.to_parquet(tmp_path / "durations.parquet")
    X, _, notes = _read(tmp_path / "durations.parquet")
    assert X["duration"].dtype == np.float64
    np.testing.assert_allclose(X["duration"], seconds)
    assert notes == []


def test_timedelta_text_in_a_csv_is_read_as_seconds(tmp_path):
    frame = _table().assign(duration=pd.to_timedelta(np.arange(60) - 3, unit="h"))
    frame.to_csv(tmp_path / "durations.csv", index=False)  # "-1 days +22:00:00"
    X, _, notes = _read(tmp_path / "durations.csv")
    np.testing.assert_allclose(X["duration"], (np.arange(60) - 3) * 3600.0)
    assert notes == [
        "column 'duration' holds durations or times of day (such as "
        "'-1 days +21:00:00'); read as seconds"
    ]


def test_cli_timedelta_column_is_scored(capsys, tmp_path):
    pytest.importorskip("pyarrow")
    frame = _table(90)
    frame["duration"] = pd.to_timedelta(frame["weight"] * 60, unit="s")
    frame.to_parquet(tmp_path / "durations.parquet")
    out = tmp_path / "out"
    status, _, err = _run(
        capsys, "compare", "--data", str(tmp_path / "durations.parquet"),
        "--target", "label", "--contenders", "logreg_balanced,hgb", "--cv", "3",
        *QUIET, "--out", str(out),
    )  # fmt: skip
    assert status == 0, err
    assert pd.read_csv(out / "results.csv")["n_failed"].tolist() == [0, 0]


def test_datetime_columns_are_read_as_seconds_with_a_warning(tmp_path):
    when = pd.Timestamp("2024-03-01T12:00:00") + pd.to_timedelta(np.arange(60), "D")
    expected = (when - pd.Timestamp("1970-01-01")).total_seconds().to_numpy()
    frame = _table().assign(when=when)
    frame.to_csv(tmp_path / "dates.csv", index=False)
    X, _, notes = _read(tmp_path / "dates.csv")
    np.testing.assert_allclose(X["when"], expected)
    assert notes == ["column 'when' holds dates; read as seconds since 1970-01-01 UTC"]
    X, _, notes = _read(frame)
    np.testing.assert_allclose(X["when"], expected)
    assert notes == [
        "column 'when' holds dates and times; read as seconds since 1970-01-01 UTC"
    ]


def test_datetime_with_time_zones_is_read_in_utc():
    frame = _table(20).assign(
        when=["2024-01-01T10:00:00+02:00", "2024-01-01T08:00:00Z"] * 10
    )
    X, _, _ = _read(frame)
    assert X["when"].nunique() == 1
    assert X["when"].iloc[0] == pd.Timestamp("2024-01-01T08:00:00Z").timestamp()


# -- separators and compressed files ---------------------------------------------------


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_separator_is_detected(tmp_path, sep):
    frame = _table()
    frame.to_csv(tmp_path / "t.csv", sep=sep, index=False)
    X, y, _ = _read(tmp_path / "t.csv")
    assert X.attrs["separator"] == sep
    pd.testing.assert_frame_equal(X, _read(frame)[0].astype(X.dtypes.to_dict()))


@pytest.mark.parametrize("kind", ["gzip", "bz2", "xz", "zip"])
def test_compressed_csv_reads_as_the_plain_file(tmp_path, kind):
    frame = _table()
    plain = tmp_path / "t.csv"
    frame.to_csv(plain, index=False, sep=";", decimal=",")
    content = plain.read_bytes()
    packed = tmp_path / "t.data"  # the content decides, not the name
    if kind == "zip":
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("t.csv", content)
    else:
        packed.write_bytes(
            {"gzip": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[kind](
                content
            )
        )
    pd.testing.assert_frame_equal(_read(packed)[0], _read(plain)[0])


def test_zip_with_two_files_is_refused(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "x,label\n1,a\n")
        archive.writestr("b.csv", "x,label\n1,a\n")
    with pytest.raises(ValueError, match=r"must hold exactly one file; it holds 2"):
        read_table(path, "label")


# -- bounded reads ---------------------------------------------------------------------


def _gzip_bomb(path, gigabytes):
    """A gzip file of ``gigabytes`` GiB of CSV rows, from a few MB on disk.

    A gzip file may hold many members one after the other; the same small
    member (1 MiB of rows, compressed to about 1 KiB) is written again and
    again.
    """
    rows = b"1,2,a\n" * (1024**2 // 6)
    member = gzip.compress(rows, compresslevel=9)
    with open(path, "wb") as handle:
        handle.write(gzip.compress(b"x,z,label\n"))
        for _ in range(gigabytes * 1024):
            handle.write(member)


def test_gzip_bomb_stops_at_max_bytes_while_decompressing(capsys, tmp_path):
    path = tmp_path / "bomb.csv.gz"
    _gzip_bomb(path, gigabytes=16)  # 16 GiB of text: reading it all would swap
    assert path.stat().st_size < 64 * 1024**2
    with pytest.raises(TableTooLargeError, match=r"larger than the 1 MiB allowed"):
        read_table(path, "label", max_bytes=1024**2)
    status, _, err = _run(
        capsys, "compare", "--data", str(path), "--target", "label",
        "--max-bytes", "1M",
    )  # fmt: skip
    assert status == 2
    assert err == (
        f"sklearn-lt compare: error: cannot read '{path}': it is larger than the "
        "1 MiB allowed uncompressed (raise the limit with --max-bytes or max_bytes=)\n"
    )


@pytest.mark.parametrize("kind", ["bz2", "xz", "zip"])
def test_other_compressions_are_bounded_too(tmp_path, kind):
    content = b"x,label\n" + b"1,a\n2,b\n" * (1536 * 1024 // 8)  # 1.5 MiB
    path = tmp_path / "big.data"
    if kind == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("big.csv", content)
    else:
        path.write_bytes({"bz2": bz2.compress, "xz": lzma.compress}[kind](content))
    with pytest.raises(TableTooLargeError, match=r"larger than the 1 MiB allowed"):
        read_table(path, "label", max_bytes=1024**2)
    X, _, _ = _read(path, max_bytes=2 * 1024**2)
    assert len(X) == 1536 * 1024 // 8 * 2


def test_default_limit_is_2_gib():
    assert _DEFAULT_MAX_BYTES == 2 * 1024**3
    assert inspect.signature(read_table).parameters["max_bytes"].default == 2 * 1024**3


def test_plain_file_larger_than_max_bytes_is_refused_before_reading(tmp_path):
    path = tmp_path / "t.csv"
    _table().to_csv(path, index=False)
    size = path.stat().st_size
    assert size > 1024
    expected = f"it has {size / 1024:.3g} KiB, more than the 1 KiB allowed"
    with pytest.raises(TableTooLargeError, match=re.escape(expected)):
        read_table(path, "label", max_bytes=1024)
    X, _, _ = _read(path, max_bytes=size)
    assert len(X) == 60


def test_parquet_larger_than_max_bytes_is_refused(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "t.parquet"
    _table().to_parquet(path)
    with pytest.raises(TableTooLargeError, match=r"uncompressed, more than the 100"):
        read_table(path, "label", max_bytes=100)


# -- the rest of the contract ----------------------------------------------------------


def test_the_dataframe_passed_is_not_modified():
    frame = _table().astype({"weight": object})
    frame.loc[3, "weight"] = "?"
    frame.insert(0, "rownames", np.arange(60))
    before = frame.copy()
    _read(frame, drop_columns=["rownames"])
    pd.testing.assert_frame_equal(frame, before)


def test_parquet_gives_the_csv_frame(tmp_path):
    pytest.importorskip("pyarrow")
    frame = _table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    X_csv, y_csv, _ = _read(tmp_path / "t.csv")
    X_parquet, y_parquet, _ = _read(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(
        X_parquet, X_csv, check_dtype=False, check_index_type=False
    )
    np.testing.assert_array_equal(y_parquet, y_csv)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"decimal": ";"}, r"decimal must be '\.' or ','"),
        ({"sep": ";;"}, r"sep must be one character"),
        ({"max_bytes": 0}, r"max_bytes must be at least 1"),
        ({"max_bytes": 1.5}, r"max_bytes must be an integer"),
    ],
)
def test_bad_arguments_are_refused(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        read_table(_table(), "label", **kwargs)


@pytest.mark.parametrize(
    "content, pattern",
    [
        (None, r"cannot read '.*nope.csv': no such file"),
        (b"", r"cannot read '.*nope.csv': it is empty"),
        (b"x,y,label\n1,2,a\n1,2,3,4\n", r"cannot read '.*nope.csv': .*Expected 3"),
        (
            "café,label\n1,a\n".encode("latin-1"),
            r"cannot read '.*nope.csv': it is not UTF-8 text \(it has the byte 0xe9\); "
            r"save it as UTF-8 \(in Excel: CSV UTF-8\)$",
        ),
        (b"x,y\n1,2\n", r"the target column 'label' is not in nope.csv; its columns "),
    ],
    ids=["missing", "empty", "ragged", "latin-1", "no-target"],
)
def test_unreadable_files_are_one_line_errors(tmp_path, content, pattern):
    path = tmp_path / "nope.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=pattern) as error:
        read_table(path, "label")
    assert "\n" not in str(error.value)
