"""`mlpipe iam-policy`: every AWS call each command really makes is allowed by that command's policy.

The calls are recorded (botocore's before-call event) while the use cases run against the embedded
AWS, then translated to IAM actions; the policy must allow each of them, on no broader resource than
this app's ARNs, and parliament's auditors must find nothing but the one finding explained below.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from local_helpers import wait_for
from parliament import analyze_policy_string
from send_helpers import depth
from virtual_time import VirtualTime

from mlpipe.cli.app import run
from mlpipe.config import Config, load_config
from mlpipe.names import Names
from mlpipe.policies.operator import (
    ADMIN_COMMANDS,
    COMMANDS,
    OPERATOR_COMMANDS,
    UNSCOPED_READS,
    operator_policy,
    parse_commands,
    policies_for,
    split_commands,
)
from mlpipe.reporter import ListReporter

# boto3 operation -> IAM action, where the two differ (the rest map to "<prefix>:<Operation>").
IAM_ACTION = {
    "s3:HeadBucket": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:ListObjectVersions": "s3:ListBucketVersions",
    "s3:DeleteObjects": "s3:DeleteObject",
    "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3:PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3:GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "s3:PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
# parliament: PutLifecycleConfiguration can expire objects, so it counts as deleting them. The
# artifact bucket's lifecycle rule (expire old artifacts) is exactly that, and intended.
ACCEPTED_FINDINGS = {"RESOURCE_POLICY_PRIVILEGE_ESCALATION"}


def _action(model: Any) -> str:
    service = model.service_model
    prefix = {"monitoring": "cloudwatch", "runtime.sagemaker": "sagemaker"}.get(
        service.signing_name, service.signing_name
    )
    name = f"{prefix}:{model.name}"
    return IAM_ACTION.get(name, name)


def _allowed(policy: dict[str, Any]) -> set[str]:
    return {
        a
        for s in policy["Statement"]
        if s["Effect"] == "Allow"
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }


# What each recorded run may use: its own command, plus the admin part where the run does admin
# work (the first train creates the stage's boundary; destroy --pipeline removes the CI/CD and the
# boundaries).
GRANTED_BY = {
    "train": ("train",),
    "deploy": ("deploy",),
    "send": ("send",),
    "tail": ("tail",),
    "status": ("status",),
    "redrive": ("redrive",),
    "bootstrap-pipeline": ("bootstrap-pipeline", "pipeline-roles"),
    "destroy": ("destroy",),
}
ADMIN_TOO = {"train": ("boundary",), "destroy": ("boundary", "destroy-pipeline")}


@pytest.fixture
def recorded(clients: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """IAM actions per command, from a full run: train (local, again, rollback, remote), deploy twice,
    bootstrap twice, send, tail, status, redrive, destroy."""
    from mlpipe.ops.alarms_view import tail_alarms
    from mlpipe.ops.bootstrap import bootstrap
    from mlpipe.ops.deploy import deploy
    from mlpipe.ops.destroy import destroy
    from mlpipe.ops.pipeline_status import pipeline_status
    from mlpipe.ops.redrive import redrive
    from mlpipe.ops.send import SendInput, send
    from mlpipe.ops.status import status
    from mlpipe.ops.tail import tail_dlq, tail_logs
    from mlpipe.ops.train import TrainRequest, rollback, train

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlpipe.yaml").write_text("app: house\n")
    config = load_config(tmp_path / "mlpipe.yaml").config
    calls: dict[str, set[str]] = defaultdict(set)
    current = ["?"]

    def record(model: Any, **_: Any) -> None:  # returns None: anything else would stand in for the response
        if current[0]:  # "": the test's own calls (waiting for state), not a command's
            calls[current[0]].add(_action(model))

    clients.session.events.register("before-call", record)
    r = ListReporter()
    dlq = "house-dev-dlq"
    follow = VirtualTime()  # tail logs -f follows on the test's clock: its calls, without the wait
    virtual = {"sleep": follow.sleep, "clock": follow.clock}
    steps = [
        ("train", lambda: train(config, clients, r)),
        ("train", lambda: train(config, clients, r, TrainRequest(seed=3))),
        ("train", lambda: rollback(config, clients, r)),
        ("train", lambda: train(config, clients, r, TrainRequest(remote=True, seed=4))),
        ("deploy", lambda: deploy(config, clients, r)),
        ("deploy", lambda: deploy(config, clients, r)),
        ("bootstrap-pipeline", lambda: bootstrap(config, clients, r, push=True, config_path=Path("mlpipe.yaml"))),
        ("bootstrap-pipeline", lambda: bootstrap(config, clients, r, push=True, config_path=Path("mlpipe.yaml"))),
        ("send", lambda: send(config, clients, r, SendInput(payload=",".join(["0.01"] * 10)), wait=True)),
        ("send", lambda: send(config, clients, r, SendInput(json_body='{"payload": "x"}', validate=False))),
        # The function dead-letters that message: tail dlq and redrive then have one to show and move.
        ("", lambda: wait_for(lambda: depth(clients, dlq) >= 1, 60, f"the poison message in {dlq}")),
        ("tail", lambda: tail_dlq(config, clients, r)),
        ("tail", lambda: tail_logs(config, clients, r, lambda e: None, 0, follow=True, max_seconds=0.5, **virtual)),
        ("tail", lambda: pipeline_status(config, clients)),
        ("tail", lambda: tail_alarms(config, clients, 0)),
        ("status", lambda: status(config, clients)),
        ("redrive", lambda: redrive(config, clients, r)),
        ("destroy", lambda: destroy(config, clients, r, pipeline=True, force=True)),
    ]
    for command, step in steps:
        current[0] = command
        step()
    return calls


def test_every_call_of_every_command_is_allowed(recorded: dict[str, set[str]], clients: Any) -> None:
    config = Config.model_validate({"app": "house"})
    names = clients.names("house", "dev")
    assert set(recorded) == set(GRANTED_BY)
    for command, actions in recorded.items():
        allowed = set().union(*(_allowed(operator_policy(config, names, (c,)).document) for c in GRANTED_BY[command]))
        if command in ADMIN_TOO:
            allowed |= _allowed(operator_policy(config, names, ADMIN_TOO[command]).document)
        assert actions - allowed == set(), f"{command} calls what its policy does not allow"
    everything = set().union(*(_allowed(p.document) for p in policies_for(config, names)))
    assert set().union(*recorded.values()) <= everything


NAMES = Names(app="house", stage="dev", region="eu-west-1", account="123456789012")
CONFIGS = [
    {"app": "house"},
    {"app": "house", "pipeline": {"stages": ["dev", "prod"]}, "training": {"role_arn": "arn:aws:iam::1:role/x"}},
]


@pytest.mark.parametrize("raw", CONFIGS[:1])
def test_only_reads_on_star_and_every_arn_names_the_app(raw: dict[str, Any]) -> None:
    policy = operator_policy(Config.model_validate(raw), NAMES).document
    for statement in [s for s in policy["Statement"] if s["Effect"] == "Allow"]:
        resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        if resources == ["*"]:
            unscoped = set(statement["Action"]) - UNSCOPED_READS
            assert unscoped <= {"lambda:CreateEventSourceMapping"}, unscoped
            if unscoped:
                assert statement["Condition"]["ArnLike"]["lambda:FunctionArn"] == [NAMES.function_arn]
            continue
        for arn in resources:
            if arn.endswith(":log-group:/aws/sagemaker/TrainingJobs:*"):
                # AWS writes every training job's logs to this one group; FilterLogEvents cannot be
                # scoped to streams: read, for `train --remote` to show its job's log. And the group
                # itself (group-level actions take this `:*` ARN): `train --remote` creates it, or
                # gives it a retention only when it has none (plan/logs.py). No stream write.
                reads = {"logs:FilterLogEvents", "logs:GetLogEvents"}
                assert set(statement["Action"]) <= reads | {"logs:CreateLogGroup", "logs:PutRetentionPolicy"}
                continue
            assert "house" in arn.split(":", 5)[5] or ":event-source-mapping:" in arn, arn
        if any(":event-source-mapping:" in arn for arn in resources):
            # by the function, or (tagging on create, which has no function key) by the stage's tags
            tags = statement["Condition"].get("StringEquals", {})
            by_tags = (
                tags.get("aws:RequestTag/mlpipe:app") == "house" and tags.get("aws:RequestTag/mlpipe:stage") == "dev"
            )
            assert "house-dev-predict" in json.dumps(statement["Condition"]) or by_tags


def test_parliament_finds_nothing_unexpected() -> None:
    config = Config.model_validate({"app": "house"})
    groups = [*split_commands(config, NAMES), *split_commands(config, NAMES, commands=ADMIN_COMMANDS)]
    for commands in [OPERATOR_COMMANDS, ADMIN_COMMANDS, *groups]:
        policy = operator_policy(config, NAMES, commands)
        findings = analyze_policy_string(json.dumps(policy.document)).findings
        assert {f.issue for f in findings} <= ACCEPTED_FINDINGS, [(f.issue, f.detail) for f in findings]
        assert len({s["Sid"] for s in policy.document["Statement"]}) == len(policy.document["Statement"])


def test_split_groups_each_fit_in_a_managed_policy() -> None:
    config = Config.model_validate({"app": "a-rather-long-app-name"})
    groups = [*split_commands(config, NAMES), *split_commands(config, NAMES, commands=ADMIN_COMMANDS)]
    assert sorted(c for g in groups for c in g) == sorted(COMMANDS)
    assert all(operator_policy(config, NAMES, g).size <= 6144 for g in groups)


def test_a_passed_training_role_is_the_only_sagemaker_role_passed() -> None:
    config = Config.model_validate(
        {"app": "house", "training": {"role_arn": "arn:aws:iam::123456789012:role/team-training"}}
    )
    policy = operator_policy(config, NAMES, ("train",)).document
    passes = [s for s in policy["Statement"] if "iam:PassRole" in s["Action"]]
    assert [s["Resource"] for s in passes] == [["arn:aws:iam::123456789012:role/team-training"]]
    assert "iam:CreateRole" not in _allowed(policy)


def test_cli_prints_the_policy_and_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "mlpipe.yaml"
    config.write_text("app: house\nregion: eu-west-1\n")
    argv = ["--config", str(config), "iam-policy", "--account", "123456789012", "--commands", "send,tail"]
    assert run(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert "sqs:SendMessage" in _allowed(printed)
    assert "sagemaker:CreateEndpoint" not in _allowed(printed)
    assert run(["--config", str(config), "iam-policy", "--account", "42"]) == 2
    assert "12 digits" in capsys.readouterr().err
    assert run(["--config", str(config), "iam-policy", "--account", "123456789012", "--commands", "fly"]) == 2
    assert parse_commands("all") == COMMANDS
    assert (
        run(
            [
                "--config",
                str(config),
                "iam-policy",
                "--account",
                "123456789012",
                "--for",
                "operator",
                "--commands",
                "boundary",
            ]
        )
        == 2
    )
    assert "not in the operator part" in capsys.readouterr().err
