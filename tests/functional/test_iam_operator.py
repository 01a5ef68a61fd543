"""A least-privilege operator on the embedded AWS: with the operator limited to exactly what
`mlpipe iam-policy` prints (its two parts), every command works and anything else is denied as AWS
denies it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from local_helpers import client
from virtual_time import VirtualTime

from mlpipe.config import load_config
from mlpipe.local.iam.authorizer import IamSettings
from mlpipe.local.iam.operator_setting import iam_policy_document
from mlpipe.reporter import ListReporter


@pytest.fixture
def narrowed_operator(
    request: pytest.FixtureRequest,
    embedded_server: Any,
    endpoint_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """The server's operator limited to `mlpipe iam-policy`'s output for the app in tmp_path (both
    parts, as printed) unless a test asks for "operator" or "admin" alone."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlpipe.yaml").write_text("app: house\n")
    config = load_config(tmp_path / "mlpipe.yaml").config
    state = embedded_server.ctx.state
    part = getattr(request, "param", "both")
    state["iam"] = IamSettings(operator_policy=iam_policy_document(config, "us-east-1", part))
    try:
        yield config
    finally:
        state["iam"] = IamSettings.from_environment()


def test_every_command_works_with_the_iam_policy_and_nothing_else_does(
    narrowed_operator: Any, clients: Any, embedded_server: Any
) -> None:
    from mlpipe.ops.deploy import deploy
    from mlpipe.ops.destroy import destroy
    from mlpipe.ops.redrive import redrive
    from mlpipe.ops.send import SendInput, send
    from mlpipe.ops.status import status
    from mlpipe.ops.tail import tail_dlq, tail_logs
    from mlpipe.ops.train import train

    config, r = narrowed_operator, ListReporter()
    train(config, clients, r)
    deploy(config, clients, r)
    # The Lambda, under its own role, invokes the endpoint: the prediction comes back.
    sent = send(config, clients, r, SendInput(payload=",".join(["0.01"] * 10)), wait=True)
    assert [o.status for o in sent.outcomes] == ["prediction"], sent.outcomes
    tail_dlq(config, clients, r)
    lines: list[Any] = []
    follow = VirtualTime()  # on the test's clock: the calls of a follow, without its wait
    tail_logs(config, clients, r, lines.append, 0, follow=True, max_seconds=0.5, sleep=follow.sleep, clock=follow.clock)
    assert lines
    from mlpipe.ops.alarms_view import tail_alarms

    assert len(tail_alarms(config, clients, 0).alarms) == 3  # DescribeAlarms, DescribeAlarmHistory, mails
    report = status(config, clients)
    assert report is not None
    # A dead letter to move (put there as the emulator: the operator may not send to its DLQ), so the
    # redrive really starts a move task: the DLQ's actions and sqs:SendMessage on the trigger queue.
    internal = embedded_server.ctx.client("sqs")
    dlq = internal.get_queue_url(QueueName=clients.names(config.app, config.stage).dlq)["QueueUrl"]
    internal.send_message(QueueUrl=dlq, MessageBody=json.dumps({"payload": ",".join(["0.01"] * 10), "id": "dead-1"}))
    moved = redrive(config, clients, r)
    assert (moved.status, moved.moved) == ("COMPLETED", 1)
    destroy(config, clients, r, force=True)

    with pytest.raises(botocore.exceptions.ClientError) as caught:
        clients.client("iam").create_user(UserName="mallory")
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert (
        "is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::123456789012:user/mallory"
        in error["Message"]
    )


def test_train_remote_works_with_the_iam_policy_and_gives_the_shared_training_log_group_a_retention(
    narrowed_operator: Any, clients: Any, embedded_server: Any
) -> None:
    """The account's one TrainingJobs log group does not exist yet: train --remote creates it and
    gives it a retention, group-level actions IAM checks on the group's `:*` ARN (a bare ARN grants
    nothing there, on AWS as here)."""
    from mlpipe.ops.train import TrainRequest, train

    train(narrowed_operator, clients, ListReporter(), TrainRequest(remote=True, seed=4))
    logs = embedded_server.ctx.client("logs")
    [group] = logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/TrainingJobs")["logGroups"]
    assert group["retentionInDays"] == 30


@pytest.mark.usefixtures("pypi")  # bootstrap-pipeline builds the wheelhouse from PyPI
def test_the_pipeline_commands_work_with_the_iam_policy(narrowed_operator: Any, clients: Any, tmp_path: Path) -> None:
    from mlpipe.ops.bootstrap import bootstrap
    from mlpipe.ops.destroy import destroy
    from mlpipe.ops.pipeline_status import pipeline_status

    config, r = narrowed_operator, ListReporter()
    bootstrap(config, clients, r, push=True, config_path=tmp_path / "mlpipe.yaml")
    bootstrap(config, clients, r, push=True, config_path=tmp_path / "mlpipe.yaml")
    assert pipeline_status(config, clients) is not None
    destroy(config, clients, r, pipeline=True, force=True)


def test_the_operator_has_full_access_by_default(endpoint_url: str) -> None:
    iam = client(endpoint_url, "iam")
    iam.create_user(UserName="someone")
    assert iam.get_user(UserName="someone")["User"]["UserName"] == "someone"


def test_a_narrowed_operator_is_denied_outside_its_policy(narrowed_operator: Any, endpoint_url: str) -> None:
    sqs = client(endpoint_url, "sqs")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sqs.create_queue(QueueName="not-the-apps")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    sent: list[str] = []
    sqs.meta.events.register("before-send.sqs.CreateQueue", lambda **_: sent.append("CreateQueue"))
    url = sqs.create_queue(QueueName="house-dev-trigger", tags={"mlpipe:app": "house", "mlpipe:stage": "dev"})[
        "QueueUrl"
    ]
    assert sent == ["CreateQueue"]  # allowed at the first attempt: no retry after a denial or a throttle
    assert url.endswith("/house-dev-trigger")


def test_a_narrowed_operator_cannot_redrive_into_another_apps_queue(
    narrowed_operator: Any, endpoint_url: str, embedded_server: Any
) -> None:
    """The review's F5: the operator may start a move task on its DLQ, but the messages may only go
    where it may sqs:SendMessage (its trigger queue), as the SQS Developer Guide documents."""
    internal, sqs = embedded_server.ctx.client("sqs"), client(endpoint_url, "sqs")
    dlq = internal.create_queue(QueueName="house-dev-dlq")["QueueUrl"]
    redrive = json.dumps(
        {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:house-dev-dlq", "maxReceiveCount": 1}
    )
    internal.create_queue(QueueName="house-dev-trigger", Attributes={"RedrivePolicy": redrive})
    other = internal.create_queue(QueueName="other-dev-trigger")["QueueUrl"]
    internal.send_message(QueueUrl=dlq, MessageBody="dead")
    source = "arn:aws:sqs:us-east-1:123456789012:house-dev-dlq"
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sqs.start_message_move_task(
            SourceArn=source, DestinationArn="arn:aws:sqs:us-east-1:123456789012:other-dev-trigger"
        )
    assert "sqs:SendMessage on resource: arn:aws:sqs:us-east-1:123456789012:other-dev-trigger" in str(caught.value)
    assert (
        internal.get_queue_attributes(QueueUrl=other, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        == "0"
    )
    assert sqs.start_message_move_task(SourceArn=source)["TaskHandle"]  # back to its own trigger queue: allowed


@pytest.mark.parametrize("narrowed_operator", ["operator"], indirect=True)
@pytest.mark.parametrize("command", ["train", "deploy"])
def test_an_operators_first_command_on_a_new_stage_creates_nothing_and_names_the_admin_part(
    narrowed_operator: Any, endpoint_url: str, embedded_server: Any, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stage's boundary is the admin part's (review defect 5): the operator's first train/deploy
    is denied at iam:CreatePolicy before it created anything, and the hint says who may do it."""
    from mlpipe.cli.app import run

    code = run(["--endpoint-url", endpoint_url, command])
    err = capsys.readouterr().err
    assert code != 0
    assert "CreatePolicy: access denied" in err and "mlpipe iam-policy --for admin" in err, err
    s3, logs = embedded_server.ctx.client("s3"), embedded_server.ctx.client("logs")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("house-")] == []
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"] if "house" in g["logGroupName"]] == []
    queues = embedded_server.ctx.client("sqs").list_queues().get("QueueUrls", [])
    assert [q for q in queues if "/house-" in q] == []


def test_the_read_mostly_users_policy_runs_send_tail_and_status(
    clients: Any, embedded_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: `mlpipe iam-policy --commands send,tail,status` is "only what a consumer needs": with
    that policy alone, on a trained and deployed stage, each of those commands works (status lists
    train's resources too, send reads the function's feature count)."""
    from mlpipe.names import Names
    from mlpipe.ops.deploy import deploy
    from mlpipe.ops.send import SendInput, send
    from mlpipe.ops.status import status
    from mlpipe.ops.tail import tail_dlq, tail_logs
    from mlpipe.ops.train import train
    from mlpipe.policies.operator import policies_for

    monkeypatch.chdir(tmp_path)
    config, r = load_config_text("app: reader\n", tmp_path), ListReporter()
    train(config, clients, r)
    deploy(config, clients, r)
    names = Names(app="reader", stage="dev", region="us-east-1", account="123456789012")
    [policy] = policies_for(config, names, ("send", "tail", "status"))
    state = embedded_server.ctx.state
    state["iam"] = IamSettings(operator_policy=policy.document)
    try:
        report = status(config, clients)
        assert {row.state for row in [*report.resources, *report.model_resources]} == {"in sync"}
        sent = send(config, clients, r, SendInput(payload=",".join(["0.01"] * 10)))
        assert sent.messages == 1
        tail_dlq(config, clients, r)
        tail_logs(config, clients, r, lambda e: None, 0)
    finally:
        state["iam"] = IamSettings.from_environment()


def load_config_text(text: str, directory: Path) -> Any:
    (directory / "mlpipe.yaml").write_text(text)
    return load_config(directory / "mlpipe.yaml").config
