"""`mlpipe deploy` against the embedded AWS: what it creates, and that it is idempotent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from deploy_support import CallLog, tagged_inventory, variant_package

from mlpipe.aws.clients import Clients
from mlpipe.config import Config
from mlpipe.errors import ForeignResourceError
from mlpipe.lambda_package import build_package
from mlpipe.ops import model_store
from mlpipe.ops.deploy import deploy
from mlpipe.reporter import ListReporter

CUSTOM = {
    "app": "house",
    "stage": "test",
    "queue": {"visibility_timeout_s": 240, "retention_s": 3600, "max_receive_count": 4, "results_queue": True},
    "function": {
        "timeout_s": 40,
        "memory_mb": 512,
        "batch_size": 50,
        "batching_window_s": 5,
        "max_concurrency": 3,
        "reserved_concurrency": 7,
        "log_retention_days": 14,
        "environment": {"EXTRA": "yes"},
    },
    "alarm": {"dlq_threshold": 3, "notify": ["ops@example.com"]},
}


def test_deploy_creates_every_resource_with_the_configured_values(clients: Clients) -> None:
    config = Config.model_validate(CUSTOM)
    reporter = ListReporter()
    result = deploy(config, clients, reporter)
    names = result.names
    # 3 queues, the stage's permissions boundary, role, log group, function, mapping, topic, its
    # subscription, 3 alarms
    assert result.plan.summary()["create"] == 13
    assert any("no trained model" in w for w in reporter.messages("warn"))

    sqs = clients.client("sqs")
    trigger_url = sqs.get_queue_url(QueueName=names.trigger_queue)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=trigger_url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "240"
    assert attrs["MessageRetentionPeriod"] == "3600"
    assert attrs["SqsManagedSseEnabled"] == "true"
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == names.queue_arn(names.dlq)
    assert int(redrive["maxReceiveCount"]) == 4
    dlq_url = sqs.get_queue_url(QueueName=names.dlq)["QueueUrl"]
    dlq_attrs = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["MessageRetentionPeriod"])["Attributes"]
    assert dlq_attrs["MessageRetentionPeriod"] == str(14 * 86400)
    results_url = sqs.get_queue_url(QueueName=names.results_queue)["QueueUrl"]

    lam = clients.client("lambda")
    fn = lam.get_function_configuration(FunctionName=names.function)
    assert (fn["Runtime"], fn["Handler"], fn["Timeout"], fn["MemorySize"]) == ("python3.12", "handler.handler", 40, 512)
    assert fn["Role"] == names.role_arn(names.lambda_role)
    role = clients.client("iam").get_role(RoleName=names.lambda_role)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == names.boundary_arn
    assert fn["CodeSha256"] == build_package().sha256
    assert fn["Environment"]["Variables"] == {
        "EXTRA": "yes",
        "MLPIPE_ENDPOINT_NAME": "house-test",
        "MLPIPE_FEATURE_COUNT": "0",
        "MLPIPE_DLQ_URL": dlq_url,
        "MLPIPE_RESULTS_QUEUE_URL": results_url,
    }
    assert lam.get_function(FunctionName=names.function)["Concurrency"]["ReservedConcurrentExecutions"] == 7

    (mapping,) = lam.list_event_source_mappings(FunctionName=names.function)["EventSourceMappings"]
    assert mapping["EventSourceArn"] == names.queue_arn(names.trigger_queue)
    assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]) == (50, 5)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 3}

    policy = clients.client("iam").get_role_policy(RoleName=names.lambda_role, PolicyName="mlpipe")["PolicyDocument"]
    policy = json.loads(policy) if isinstance(policy, str) else policy
    resources = {a: s["Resource"] for s in policy["Statement"] for a in s["Action"]}
    assert resources["sqs:ReceiveMessage"] == [names.queue_arn(names.trigger_queue)]
    assert resources["sqs:SendMessage"] == [names.queue_arn(names.dlq), names.queue_arn(names.results_queue)]
    assert resources["sagemaker:InvokeEndpoint"] == [names.endpoint_arn]
    assert all("*" not in r or r.endswith(":*") for rs in resources.values() for r in rs)

    logs = clients.client("logs").describe_log_groups(logGroupNamePrefix=names.log_group)["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in logs] == [(names.log_group, 14)]
    (alarm,) = clients.client("cloudwatch").describe_alarms(AlarmNames=[names.dlq_alarm])["MetricAlarms"]
    assert (alarm["MetricName"], alarm["Threshold"]) == ("ApproximateNumberOfMessagesVisible", 3.0)
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": names.dlq}]
    topic = names.topic_arn(names.alarm_topic)
    alarms = clients.client("cloudwatch").describe_alarms(AlarmNames=list(names.alarms))["MetricAlarms"]
    assert {a["MetricName"]: (a["AlarmActions"], a["OKActions"]) for a in alarms} == {
        m: ([topic], [topic]) for m in ("ApproximateNumberOfMessagesVisible", "Errors", "ApproximateAgeOfOldestMessage")
    }
    sns = clients.client("sns")
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "ops@example.com")
    topic_policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    publish, deny = topic_policy["Statement"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publish["Condition"]["ArnEquals"]["aws:SourceArn"] == [names.alarm_arn(a) for a in names.alarms]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    assert (
        len(tagged_inventory(clients, names)) == 12
    )  # all tagged, the boundary too (the mapping is listed untagged-checked)


def test_second_deploy_makes_no_mutating_call_and_code_change_makes_one(clients: Clients, tmp_path: Path) -> None:
    config = Config.model_validate(CUSTOM)
    deploy(config, clients, ListReporter())
    log = CallLog().attach(clients)
    again = deploy(config, clients, ListReporter())
    assert again.plan.is_empty
    assert log.mutating == []
    assert len(log.calls) > 10  # it did look

    log.calls.clear()
    changed = deploy(config, clients, ListReporter(), package=variant_package(tmp_path, "v2"))
    assert log.mutating == ["UpdateFunctionCode"]
    assert [c.kind for c in changed.plan.pending] == ["lambda-function"]
    fn = clients.client("lambda").get_function_configuration(FunctionName=changed.names.function)
    assert fn["CodeSha256"] == changed.package_sha256 != build_package().sha256


def test_config_change_updates_only_what_differs(clients: Clients) -> None:
    deploy(Config.model_validate(CUSTOM), clients, ListReporter())
    edited = json.loads(json.dumps(CUSTOM))
    edited["queue"]["visibility_timeout_s"] = 300
    edited["function"].update(memory_mb=1024, batch_size=100, reserved_concurrency=None, max_concurrency=None)
    log = CallLog().attach(clients)
    deploy(Config.model_validate(edited), clients, ListReporter())
    assert sorted(log.mutating) == sorted(
        ["SetQueueAttributes", "UpdateFunctionConfiguration", "DeleteFunctionConcurrency", "UpdateEventSourceMapping"]
    )
    names = clients.names("house", "test")
    fn = clients.client("lambda").get_function_configuration(FunctionName=names.function)
    assert fn["MemorySize"] == 1024
    assert "Concurrency" not in clients.client("lambda").get_function(FunctionName=names.function)
    (mapping,) = clients.client("lambda").list_event_source_mappings(FunctionName=names.function)["EventSourceMappings"]
    assert mapping["BatchSize"] == 100 and not (mapping.get("ScalingConfig") or {}).get("MaximumConcurrency")
    log.calls.clear()
    assert deploy(Config.model_validate(edited), clients, ListReporter()).plan.is_empty
    assert log.mutating == []


def test_trained_model_sets_the_feature_count(clients: Clients) -> None:
    config = Config(app="house")
    names = clients.names("house", "dev")
    clients.client("s3").create_bucket(Bucket=names.model_bucket)
    model_store.write_current(clients, names, {"version": "v1", "feature_count": 13})
    reporter = ListReporter()
    result = deploy(config, clients, reporter)
    assert result.feature_count == 13 and not reporter.messages("warn")
    env = clients.client("lambda").get_function_configuration(FunctionName=names.function)["Environment"]
    assert env["Variables"]["MLPIPE_FEATURE_COUNT"] == "13"


def test_dry_run_makes_read_calls_only(clients: Clients) -> None:
    log = CallLog().attach(clients)
    result = deploy(Config(app="house"), clients, ListReporter(), dry_run=True)
    assert result.plan.summary()["create"] == 11 and result.applied is None
    assert log.mutating == []
    assert clients.client("sqs").list_queues().get("QueueUrls", []) == []
    assert json.loads(json.dumps(result.to_dict()))["plan"]["summary"]["create"] == 11


def test_existing_duplicate_mappings_are_reduced_to_one(clients: Clients) -> None:
    """AWS (and the embedded AWS) reject a duplicate mapping, but one made before that rule, or by a lax
    emulator, must not make deploy add a third: deploy keeps one and deletes the others."""
    config = Config(app="house")
    result = deploy(config, clients, ListReporter())
    lam = clients.client("lambda")
    queue_arn = result.names.queue_arn(result.names.trigger_queue)

    def with_a_stale_duplicate(parsed: dict[str, Any], **_: Any) -> None:
        mappings = parsed.get("EventSourceMappings", [])
        if len(mappings) == 1:
            mappings.append({**mappings[0], "UUID": "00000000-0000-0000-0000-000000000000"})

    try:
        lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=result.names.function, BatchSize=10)
    except botocore.exceptions.ClientError:  # the server refuses, as AWS does: show deploy a stale one
        lam.meta.events.register("after-call.lambda.ListEventSourceMappings", with_a_stale_duplicate)
    log = CallLog().attach(clients)
    again = deploy(config, clients, ListReporter())
    assert log.mutating == ["DeleteEventSourceMapping"]
    assert [c.kind for c in again.plan.pending] == ["event-source-mapping"]
    lam.meta.events.unregister("after-call.lambda.ListEventSourceMappings", with_a_stale_duplicate)
    assert len(lam.list_event_source_mappings(EventSourceArn=queue_arn)["EventSourceMappings"]) == 1


def test_waits_for_a_pending_function_and_retries_an_unassumable_role(clients: Clients) -> None:
    """AWS behaviours moto hides, replayed through botocore hooks on the real responses."""
    lam = clients.client("lambda")
    seen: dict[str, int] = {"create": 0, "config": 0}

    def role_not_yet_assumable(**_: Any) -> None:
        seen["create"] += 1
        if seen["create"] == 1:
            error = {"Error": {"Code": "InvalidParameterValueException", "Message": "The role cannot be assumed"}}
            raise botocore.exceptions.ClientError(error, "CreateFunction")  # type: ignore[arg-type]

    def pending_at_first(parsed: dict[str, Any], **_: Any) -> None:
        seen["config"] += 1
        if seen["config"] <= 2:
            parsed["State"] = "Pending"

    lam.meta.events.register("before-call.lambda.CreateFunction", role_not_yet_assumable)
    lam.meta.events.register("after-call.lambda.GetFunctionConfiguration", pending_at_first)
    log = CallLog().attach(clients)
    deploy(Config(app="house"), clients, ListReporter())
    assert seen["create"] == 2  # retried once
    assert seen["config"] >= 4  # polled past two Pending answers
    ops = [op for _, op in log.calls]
    assert ops.index("CreateEventSourceMapping") > max(
        i for i, op in enumerate(ops) if op == "GetFunctionConfiguration"
    )


def test_foreign_same_named_queue_is_refused_and_nothing_is_created(clients: Clients) -> None:
    names = clients.names("house", "dev")
    clients.client("sqs").create_queue(QueueName=names.trigger_queue)  # someone else's, untagged
    log = CallLog().attach(clients)
    with pytest.raises(ForeignResourceError, match="house-dev-trigger"):
        deploy(Config(app="house"), clients, ListReporter())
    assert log.mutating == []


def test_other_stage_is_left_alone(clients: Clients) -> None:
    deploy(Config(app="house", stage="prod"), clients, ListReporter())
    log = CallLog().attach(clients)
    deploy(Config(app="house", stage="dev"), clients, ListReporter())
    prod = clients.names("house", "prod")
    assert len(tagged_inventory(clients, prod)) >= 7
    assert all("prod" not in str(call) for call in log.calls if call[1].startswith("Delete"))


def test_dropping_the_results_queue_deletes_it_after_the_function_stops_using_it(clients: Clients) -> None:
    deploy(Config.model_validate(CUSTOM), clients, ListReporter())
    without = {**CUSTOM, "queue": {**CUSTOM["queue"], "results_queue": False}}  # type: ignore[dict-item]
    result = deploy(Config.model_validate(without), clients, ListReporter())
    order = [(c.kind, c.name) for c in result.plan.pending]
    names = result.names
    deletion = order.index(("sqs-queue", names.results_queue))
    assert deletion > order.index(("lambda-function", names.function))
    assert deletion > order.index(("iam-role", names.lambda_role))
    env = clients.client("lambda").get_function_configuration(FunctionName=names.function)["Environment"]
    assert env["Variables"]["MLPIPE_RESULTS_QUEUE_URL"] == ""
