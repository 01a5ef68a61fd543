"""`mlpipe train` from the command line: metrics table, importance bars, metrics JSON, --output json,
and one-line errors with their exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import BOSTON_CSV
from mlpipe.cli.app import run


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "mlpipe.yaml").write_text("app: house\nmodel:\n  num_round: 40\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_train_prints_metrics_and_importances_and_writes_metrics_json(
    project: Path, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["--endpoint-url", endpoint_url, "train", "--data", str(BOSTON_CSV), "--target", "0"])
    out = capsys.readouterr().out
    assert code == 0
    assert "validation metrics" in out and "rmse" in out and "r2" in out
    assert "LSTAT" in out and "█" in out  # the bar chart of feature importances
    assert "endpoint house-dev created" in out
    written = json.loads((project / "mlpipe-metrics.json").read_text())
    assert set(written["metrics"]) == {"rmse", "mae", "r2"} and written["rows"]["total"] == 339


def test_json_output_and_metrics_out(project: Path, endpoint_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--endpoint-url", endpoint_url, "-o", "json", "train", "--data", str(BOSTON_CSV), "--target", "0"]
    assert run([*argv, "--metrics-out", "out/m.json", "--param", "max_depth=3"]) == 2  # no such directory
    assert "cannot write the metrics: No such file or directory; nothing was trained" in capsys.readouterr().err
    assert run([*argv, "--metrics-out", "m.json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["endpoint_status"] == "InService" and result["action"] == "created"  # the first did nothing
    assert json.loads((project / "m.json").read_text())["metrics"] == result["metrics"]


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--data", "nope.csv"], 2, "nope.csv: no such file"),
        (["--data", str(BOSTON_CSV), "--target", "price"], 8, "target column 'price' is not in the header"),
        (["--data", str(BOSTON_CSV), "--target", "0", "--param", "max_depth"], 2, "expected key=value"),
        (["--rollback", "--data", str(BOSTON_CSV)], 2, "--rollback trains nothing"),
        (["--rollback"], 7, "no model trained for house-dev"),
    ],
)
def test_bad_inputs_give_one_line_and_an_exit_code(
    project: Path, endpoint_url: str, capsys: pytest.CaptureFixture[str], args: list[str], code: int, fragment: str
) -> None:
    assert run(["--endpoint-url", endpoint_url, "train", *args]) == code
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err
    assert err.startswith("Error: ") or "\nError: " in err


def test_model_data_in_config_is_relative_to_the_config_file(
    tmp_path: Path, endpoint_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "boston.csv").write_bytes(BOSTON_CSV.read_bytes())
    (project / "mlpipe.yaml").write_text(
        "app: house\nmodel:\n  data: data/boston.csv\n  target: '0'\n  num_round: 20\n"
    )
    monkeypatch.chdir(tmp_path)  # not the project directory
    assert run(["--endpoint-url", endpoint_url, "-c", "project/mlpipe.yaml", "-o", "json", "train"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert Path(result["data_source"]).resolve() == (project / "data" / "boston.csv").resolve()
    assert result["rows"] == 339


def test_an_unwritable_metrics_file_fails_before_aws_changes(
    project: Path, endpoint_url: str, clients: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "mlpipe-metrics.json").mkdir()  # not writable as a file, even for root
    code = run(["--endpoint-url", endpoint_url, "train", "--data", str(BOSTON_CSV), "--target", "0"])
    assert code == 2
    assert "mlpipe-metrics.json: cannot write the metrics" in capsys.readouterr().err
    assert clients.client("sagemaker").list_endpoints()["Endpoints"] == []
    assert clients.client("s3").list_buckets()["Buckets"] == []


def test_classifier_cli_shows_the_confusion_table_and_dry_run_names_the_dataset(
    project: Path, endpoint_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from sklearn.datasets import load_iris

    iris = load_iris()
    rows = [",".join([*map(str, x), iris.target_names[t]]) for x, t in zip(iris.data, iris.target, strict=True)]
    (project / "iris.csv").write_text("sl;sw;pl;pw;species\n".replace(";", ",") + "\n".join(rows) + "\n")
    dry = ["--endpoint-url", endpoint_url, "train", "--data", "iris.csv", "--objective", "multi:softprob", "--dry-run"]
    assert run(dry) == 0
    assert "dataset: iris.csv (150 rows, 4 features)" in capsys.readouterr().out
    assert run(dry[:-1]) == 0
    out = capsys.readouterr().out
    assert "validation confusion (rows: actual, columns: predicted)" in out and "versicolor" in out
    assert {"accuracy", "mlogloss"} <= set(json.loads((project / "mlpipe-metrics.json").read_text())["metrics"])
    assert run(["--endpoint-url", endpoint_url, "train", "--objective", "multi:hinge"]) == 2
    assert "--objective multi:hinge: unknown objective" in capsys.readouterr().err
