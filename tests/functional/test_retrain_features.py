"""Retraining on another feature set (review defect 4): the deployed function keeps checking the
count `deploy` gave it, so `train` says that deploy must follow, and `send` checks rows against what
the function accepts, refusing while the function and the served model disagree."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import BOSTON_CSV
from mlpipe.aws.clients import Clients
from mlpipe.cli.app import run
from mlpipe.config import Config
from mlpipe.ops.deploy import deploy
from mlpipe.ops.send import SendInput, send
from mlpipe.ops.train import TrainRequest, train
from mlpipe.reporter import ListReporter

ROW_13 = ",".join(["0.1"] * 13)
ROW_10 = ",".join(["0.01"] * 10)


def test_train_on_other_features_says_deploy_must_follow_and_send_checks_the_functions_count(
    clients: Clients,
    endpoint_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = Config.model_validate({"app": "retrain", "target": "local"})
    train(config, clients, ListReporter())  # the bundled dataset: 10 features
    deploy(config, clients, ListReporter())

    planned = train(config, clients, ListReporter(), TrainRequest(data=str(BOSTON_CSV), target="0", dry_run=True))
    assert [w for w in planned.warnings if "this model would take 13: `mlpipe deploy` must follow" in w]
    r = ListReporter()
    retrained = train(config, clients, r, TrainRequest(data=str(BOSTON_CSV), target="0"))  # 13 features

    [note] = [w for w in r.messages("warn") if "retrain-dev-predict" in w]
    assert "deployed for 10 features per row" in note and "takes 13" in note and "run `mlpipe deploy`" in note
    assert note in retrained.warnings

    (tmp_path / "mlpipe.yaml").write_text("app: retrain\ntarget: local\n")
    monkeypatch.chdir(tmp_path)
    for row in (ROW_13, ROW_10):  # neither can succeed: the function refuses one, the endpoint the other
        code = run(["--endpoint-url", endpoint_url, "send", "--payload", row])
        err = capsys.readouterr().err
        assert code == 7, err
        assert "function retrain-dev-predict is deployed for 10 features per row" in err
        assert "Hint: run `mlpipe deploy`" in err

    deploy(config, clients, ListReporter())
    code = run(["--endpoint-url", endpoint_url, "send", "--payload", ROW_10])
    assert code == 2 and "the deployed model expects 13 features" in capsys.readouterr().err
    sent = send(config, clients, ListReporter(), SendInput(payload=ROW_13), wait=True, timeout_s=30)
    assert [o.status for o in sent.outcomes] == ["prediction"], sent.outcomes


def test_train_says_nothing_when_the_function_takes_the_models_count(clients: Clients) -> None:
    config = Config.model_validate({"app": "retrain", "target": "local"})
    train(config, clients, ListReporter())
    deploy(config, clients, ListReporter())
    r = ListReporter()
    again = train(config, clients, r)
    assert not [w for w in r.messages("warn") if "predict" in w] and not again.warnings
