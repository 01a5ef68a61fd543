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


def test_iam_policy_writes_exactly_what_iam_policy_prints(tmp_path: Path) -> None:
    from mlpipe.names import Names
    from mlpipe.policies.operator import operator_policy

    env = operator_environment("iam-policy", True, config, None, tmp_path)
    settings = IamSettings.from_environment(env)
    names = Names(app="house", stage="dev", region="us-east-1", account="123456789012")
    assert settings.enabled and settings.operator_policy == operator_policy(config(), names).to_dict()


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
