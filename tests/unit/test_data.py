"""Training data loading: the tutorial's CSV as it is, and every messy-input error names the column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import BOSTON_CSV
from mlpipe.errors import ModelError, UsageError
from mlpipe.model.data import MIN_ROWS, load, load_bundled, load_csv


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
    with pytest.raises(ModelError, match=r"target column 'price' is not in the header \('a', 'b', 'y'\)"):
        load_csv(write(tmp_path, rows_csv("a,b,y")), "price")


def test_too_few_rows(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=f"3 data row\\(s\\); at least {MIN_ROWS}"):
        load_csv(write(tmp_path, rows_csv("a,b,y", n=3)), "y")


def test_non_numeric_value_names_line_column_and_value(tmp_path: Path) -> None:
    text = rows_csv("a,colour,y", row="{i},1.5,{j}").replace("\n4,1.5,", "\n4,red,", 1)
    with pytest.raises(ModelError, match=r"data\.csv:6: column 'colour' is not numeric \(value 'red'\)"):
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


def test_headerless_file_is_detected(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="first row looks like data"):
        load_csv(write(tmp_path, rows_csv("1.5,2.5,3.5")), None)
    headerless_boston = "\n".join(BOSTON_CSV.read_text().splitlines()[1:])
    with pytest.raises(ModelError, match=r"data\.csv:1: the first row looks like data \(74,24\.1,0\.07896,\.\.\.\)"):
        load_csv(write(tmp_path, headerless_boston), "0")
    numbered = load_csv(write(tmp_path, rows_csv(",0,1", row="{i},{i}.5,{j}")), "1")  # integer names are names
    assert numbered.feature_names == ("0",) and numbered.rows == 12


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
