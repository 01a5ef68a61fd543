"""Training data loading: the tutorial's CSV as it is, and every messy-input error names the column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import BOSTON_CSV
from mlpipe.errors import ModelError, UsageError
from mlpipe.model.data import MIN_ROWS, CsvOptions, load, load_bundled, load_csv


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def rows_csv(header: str, n: int = 12, row: str = "{i},{i}.5,{j}") -> str:
    return header + "\n" + "\n".join(row.format(i=i, j=i * 2 % 7) for i in range(n)) + "\n"


def test_boston_csv_loads_without_editing_index_dropped_numeric_target() -> None:
    ds = load(BOSTON_CSV, "0")
    header = BOSTON_CSV.read_text().splitlines()[0].split(",")
    body = [line.split(",") for line in BOSTON_CSV.read_text().splitlines()[1:]]
    assert ds.rows == len(body)
    assert ds.feature_names == tuple(header[2:])  # the unnamed index and the target are not features
    assert ds.target_name == "0"
    assert ds.target[0] == float(body[0][1])
    assert ds.features[0].tolist() == [float(v) for v in body[0][2:]]
    assert any("unnamed first column" in w for w in ds.warnings)
    assert len(ds.sha256) == 64


def test_target_defaults_to_last_column(tmp_path: Path) -> None:
    ds = load_csv(write(tmp_path, rows_csv("a,b,y")), None)
    assert ds.target_name == "y" and ds.feature_names == ("a", "b")


def test_unnamed_column_that_is_not_an_index_is_an_error(tmp_path: Path) -> None:
    text = ",b,y\n" + "\n".join(f"{i % 3}.5,{i},{i % 4}" for i in range(12))
    with pytest.raises(ModelError, match="column 1 has no name"):
        load_csv(write(tmp_path, text), "y")


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"nope\.csv: no such file") as err:
        load(tmp_path / "nope.csv", None)
    assert err.value.hint and "--data" in err.value.hint


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="the file is empty"):
        load_csv(write(tmp_path, "\n\n"), None)


def test_target_not_in_header_lists_the_columns(tmp_path: Path) -> None:
    with pytest.raises(
        ModelError, match=r"target column 'price' is not in the header \('a', 'b', 'y'; read as comma-delimited\)"
    ):
        load_csv(write(tmp_path, rows_csv("a,b,y")), "price")


def test_too_few_rows(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=f"3 data row\\(s\\); at least {MIN_ROWS}"):
        load_csv(write(tmp_path, rows_csv("a,b,y", n=3)), "y")


def test_non_numeric_value_names_line_column_and_value(tmp_path: Path) -> None:
    text = rows_csv("a,colour,y", row="{i},1.5,{j}").replace("\n4,1.5,", "\n4,red,", 1)
    with pytest.raises(
        ModelError, match=r"data\.csv:6: column 'colour' is not numeric \(value 'red'; read as comma-delimited\)"
    ):
        load_csv(write(tmp_path, text), "y")


def test_missing_values_warn_with_column_and_count(tmp_path: Path) -> None:
    text = rows_csv("a,b,y").replace("\n2,2.5,", "\n2,,", 1).replace("\n5,5.5,", "\n5,NA,", 1)
    ds = load_csv(write(tmp_path, text), "y")
    assert "column 'b' has 2 missing value(s): XGBoost treats them as missing" in ds.warnings
    assert int(np.isnan(ds.features[:, 1]).sum()) == 2


def test_constant_column_warns(tmp_path: Path) -> None:
    ds = load_csv(write(tmp_path, rows_csv("a,k,y", row="{i},3,{j}")), "y")
    assert "column 'k' is constant (3): it cannot help the model" in ds.warnings


def test_rows_without_target_are_dropped_with_a_warning(tmp_path: Path) -> None:
    text = rows_csv("a,b,y", n=14).replace("\n3,3.5,6\n", "\n3,3.5,\n", 1)
    ds = load_csv(write(tmp_path, text), "y")
    assert ds.rows == 13
    assert any("1 row(s) with no value in the target column 'y'" in w for w in ds.warnings)


def test_constant_target_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="target column 'y' has a single value"):
        load_csv(write(tmp_path, rows_csv("a,b,y", row="{i},{j},1")), "y")


def test_headerless_file_is_detected_and_keeps_its_first_row(tmp_path: Path) -> None:
    headerless = "\n".join(f"{i},{i * 3 % 7},{i % 5}" for i in range(12)) + "\n"  # integers only
    ds = load_csv(write(tmp_path, headerless), None)
    assert ds.rows == 12 and ds.feature_names == ("0", "1") and ds.target_name == "2"
    assert any("no header row (line 1 is data)" in w for w in ds.warnings)
    headerless_boston = "\n".join(BOSTON_CSV.read_text().splitlines()[1:])
    ds = load_csv(write(tmp_path, headerless_boston), "1")
    assert ds.rows == len(BOSTON_CSV.read_text().splitlines()) - 1
    numbered = load_csv(write(tmp_path, rows_csv(",0,1", row="{i},{i}.5,{j}")), "1")  # integer names are names
    assert numbered.feature_names == ("0",) and numbered.rows == 12
    with pytest.raises(ModelError, match=r"data\.csv:1: column '0' is not numeric \(value 'a'"):
        load_csv(write(tmp_path, rows_csv("a,b,y")), None, CsvOptions(header=False))  # --no-header: line 1 is data


DIALECTS = {
    "comma": "a,b,y\n" + "".join(f"{i}.5,{i % 3},{i % 4}\n" for i in range(12)),
    "semicolon, decimal comma": "a;b;y\n" + "".join(f"{i},5;{i % 3};{i % 4}\n" for i in range(12)),
    "tab": "a\tb\ty\n" + "".join(f"{i}.5\t{i % 3}\t{i % 4}\n" for i in range(12)),
    "pipe": "a|b|y\n" + "".join(f"{i}.5|{i % 3}|{i % 4}\n" for i in range(12)),
    "quoted, BOM, CRLF, spaces, exponents": '\ufeff"a","b","y"\r\n'
    + "".join(f'" {i}.5e0 ","{i % 3}",{i % 4}\r\n' for i in range(12)),
    "trailing delimiter": "a,b,y,\n" + "".join(f"{i}.5,{i % 3},{i % 4},\n" for i in range(12)),
}


@pytest.mark.parametrize("name", DIALECTS)
def test_dialects_read_the_same(tmp_path: Path, name: str) -> None:
    ds = load_csv(write(tmp_path, DIALECTS[name]), None)
    assert ds.feature_names == ("a", "b") and ds.rows == 12
    assert ds.features[3].tolist() == [3.5, 0.0] and ds.target[3] == 3.0


def test_dialect_errors_name_the_delimiter_and_the_option(tmp_path: Path) -> None:
    text = "a;b;y\n" + "".join(f"{i},5;{i % 3};{i % 4}\n" for i in range(12))
    with pytest.raises(ModelError, match=r"read as comma-delimited") as err:
        load_csv(write(tmp_path, text), None, CsvOptions(delimiter=","))
    assert err.value.hint and "--delimiter ';'" in err.value.hint
    with pytest.raises(ModelError, match=r"data\.csv:4: column 'a' is not finite \(value 'inf'"):
        load_csv(write(tmp_path, "a,b,y\n" + "".join(f"{'inf' if i == 2 else i},1,{i % 2}\n" for i in range(12))), "y")


def test_class_names_in_the_target_are_encoded(tmp_path: Path) -> None:
    text = "a,b,kind\n" + "".join(f"{i},{i % 3},{['cat', 'dog', 'emu'][i % 3]}\n" for i in range(12))
    ds = load_csv(write(tmp_path, text), None)
    assert ds.classes == ("cat", "dog", "emu") and ds.target[:3].tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("name", [*DIALECTS, "class names", "missing"])
def test_the_columnar_reader_reads_as_the_python_one(tmp_path: Path, name: str) -> None:
    text = {
        "class names": "a,b,kind\n" + "".join(f"{i},{i % 3},{['cat', 'dog'][i % 2]}\n" for i in range(12)),
        "missing": "a,b,y\n" + "".join(f"{i}.5,{['', 'NA', '?', 'null', '1'][i % 5]},{i % 4}\n" for i in range(12)),
    }.get(name) or DIALECTS[name]
    path = write(tmp_path, text)
    python, arrow = load_csv(path, None, CsvOptions(columnar=False)), load_csv(path, None, CsvOptions(columnar=True))
    assert arrow.features.dtype == np.float32
    np.testing.assert_array_equal(python.features.astype(np.float32), arrow.features)
    np.testing.assert_array_equal(python.target, arrow.target)
    assert (python.feature_names, python.classes, python.sha256) == (arrow.feature_names, arrow.classes, arrow.sha256)


def test_the_columnar_reader_names_the_line_of_a_bad_value(tmp_path: Path) -> None:
    text = "a,colour,y\n" + "".join(f"{i},{'red' if i == 7 else 1.5},{i % 2}\n" for i in range(12))
    with pytest.raises(ModelError, match=r"data\.csv:9: column 'colour' is not numeric \(value 'red'; read as comma"):
        load_csv(write(tmp_path, text), "y", CsvOptions(columnar=True))


def test_ragged_row_and_duplicate_names(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"data\.csv:3: 2 fields, but the header has 3"):
        load_csv(write(tmp_path, rows_csv("a,b,y").replace("\n1,1.5,2\n", "\n1,1.5\n", 1)), "y")
    with pytest.raises(ModelError, match="duplicate column name\\(s\\): a"):
        load_csv(write(tmp_path, rows_csv("a,a,y")), "y")


def test_bundled_dataset_is_offline_diabetes() -> None:
    ds = load_bundled()
    assert (ds.rows, len(ds.feature_names), ds.target_name) == (442, 10, "progression")
    with pytest.raises(UsageError, match="bundled dataset"):
        load(None, "price")


def test_the_columnar_reader_drops_the_index_column_too() -> None:
    python, arrow = load(BOSTON_CSV, "0", CsvOptions(columnar=False)), load(BOSTON_CSV, "0", CsvOptions(columnar=True))
    assert python.feature_names == arrow.feature_names
    np.testing.assert_array_equal(python.features.astype(np.float32), arrow.features)
    np.testing.assert_array_equal(python.target, arrow.target)


@pytest.mark.parametrize("name", ["comma", "quoted, BOM, CRLF, spaces, exponents", "trailing delimiter"])
def test_the_columnar_reader_reads_a_file_piece_by_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    import mlpipe.model.columnar as columnar

    monkeypatch.setattr(columnar, "CHUNK_BYTES", 40)  # pieces of a few lines, cut at line ends
    head, _, body = DIALECTS[name].partition("\n")
    path = write(tmp_path, head + "\n" + body * 3)
    python, arrow = load_csv(path, None, CsvOptions(columnar=False)), load_csv(path, None, CsvOptions(columnar=True))
    np.testing.assert_array_equal(python.features.astype(np.float32), arrow.features)
    np.testing.assert_array_equal(python.target, arrow.target)
