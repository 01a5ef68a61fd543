"""`mlpipe local up --operator-policy` / `--no-iam`: the server environment they produce, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlpipe.config import Config
from mlpipe.errors import UsageError
from mlpipe.local.iam.authorizer import IamSettings
from mlpipe.local.iam.operator_setting import operator_environment


def config() -> Config:
    return Config.model_validate({"app": "house"})


@pytest.mark.parametrize("part", ["both", "operator", "admin"])
def test_iam_policy_writes_exactly_what_iam_policy_prints(tmp_path: Path, part: str) -> None:
    from mlpipe.names import Names
    from mlpipe.policies.operator import AUDIENCES, COMMANDS, policies_for

    value = "iam-policy" if part == "both" else f"iam-policy:{part}"
    settings = IamSettings.from_environment(operator_environment(value, True, config, None, tmp_path))
    names = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
    printed = policies_for(config(), names, COMMANDS if part == "both" else AUDIENCES[part])
    assert settings.enabled and settings.operator_policy is not None
    statements = settings.operator_policy["Statement"]
    assert [{k: v for k, v in s.items() if k != "Sid"} for s in statements] == [
        {k: v for k, v in s.items() if k != "Sid"} for p in printed for s in p.document["Statement"]
    ]
    assert len({s["Sid"] for s in statements}) == len(statements)


def test_an_unknown_part_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such part"):
        operator_environment("iam-policy:everyone", True, config, None, tmp_path)


def test_full_off_and_a_file(tmp_path: Path) -> None:
    assert (
        IamSettings.from_environment(operator_environment(None, True, config, None, tmp_path)).operator_policy is None
    )
    assert not IamSettings.from_environment(operator_environment("full", False, config, None, tmp_path)).enabled
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
    (tmp_path / "p.json").write_text(json.dumps(policy))
    env = operator_environment(str(tmp_path / "p.json"), True, config, None, tmp_path)
    assert IamSettings.from_environment(env).operator_policy == policy


@pytest.mark.parametrize("content", [None, "not json", '{"Version": "2012-10-17"}'])
def test_a_bad_file_is_one_clear_error(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "policy.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError) as caught:
        operator_environment(str(path), True, config, None, tmp_path)
    assert str(path) in str(caught.value) and "iam-policy" in (caught.value.hint or "")
