"""S3 owned for sure: every S3 call mlpipe makes names the expected owner, the embedded AWS refuses
a wrong one as S3 does, and every bucket mlpipe creates denies requests not made over TLS."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from pipeline_support import make_project

from mlpipe.aws.clients import Clients
from mlpipe.config import load_config
from mlpipe.ops.bootstrap import bootstrap, pipeline_names, plan_pipeline_destroy
from mlpipe.plan.apply import apply_plan
from mlpipe.reporter import ListReporter

OTHER_ACCOUNT = "210987654321"


def _raw_s3(endpoint_url: str) -> Any:
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],  # the server's operator keys (`endpoint_url` exports them)
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    )


def test_a_wrong_expected_owner_is_refused_with_403(clients: Clients, endpoint_url: str) -> None:
    s3 = _raw_s3(endpoint_url)
    s3.create_bucket(Bucket="owned-bucket-test")
    account = clients.account_id
    s3.put_object(Bucket="owned-bucket-test", Key="k", Body=b"v", ExpectedBucketOwner=account)
    assert s3.get_object(Bucket="owned-bucket-test", Key="k", ExpectedBucketOwner=account)["Body"].read() == b"v"
    for call in (
        lambda: s3.get_object(Bucket="owned-bucket-test", Key="k", ExpectedBucketOwner=OTHER_ACCOUNT),
        lambda: s3.put_object(Bucket="owned-bucket-test", Key="k", Body=b"x", ExpectedBucketOwner=OTHER_ACCOUNT),
        lambda: s3.get_bucket_tagging(Bucket="owned-bucket-test", ExpectedBucketOwner=OTHER_ACCOUNT),
        lambda: s3.head_bucket(Bucket="owned-bucket-test", ExpectedBucketOwner=OTHER_ACCOUNT),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            call()
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert s3.get_object(Bucket="owned-bucket-test", Key="k")["Body"].read() == b"v"  # nothing was written


@pytest.mark.usefixtures("pypi")
def test_every_s3_call_names_the_owner_and_buckets_are_tls_only(tmp_path: Path, clients: Clients) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    clients.client("s3").meta.events.register_last("before-parameter-build.s3", record)  # after mlpipe's own
    config_path = make_project(tmp_path / "project", {"app": "shop"})
    config = load_config(config_path).config
    bootstrap(config, clients, ListReporter(), push=True, config_path=config_path)
    assert bootstrap(config, clients, ListReporter()).plan.is_empty  # reads the wheelhouse's lock back
    names = pipeline_names(config, clients)
    bucket = names.artifact_bucket
    policy = json.loads(clients.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy["Statement"] == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    apply_plan(plan_pipeline_destroy(config, clients, names, force=True), clients, ListReporter())

    model = clients.client("s3").meta.service_model
    with_owner = {
        op
        for op in model.operation_names
        if model.operation_model(op).input_shape is not None
        and "ExpectedBucketOwner" in model.operation_model(op).input_shape.members
    }
    made = {name for name, _ in calls}
    assert {"HeadBucket", "CreateBucket", "PutBucketPolicy", "GetObject", "PutObject", "DeleteBucket"} <= made
    missing = [
        (name, params.get("Bucket"))
        for name, params in calls
        if name in with_owner and params.get("ExpectedBucketOwner") != clients.account_id
    ]
    assert missing == []


def test_every_queue_denies_requests_not_over_tls_and_keeps_its_policy(clients: Clients) -> None:
    from mlpipe.config import Config
    from mlpipe.local.iam.evaluator import evaluate
    from mlpipe.ops.deploy import deploy

    config = Config.model_validate({"app": "house", "queue": {"results_queue": True}})
    deploy(config, clients, ListReporter())
    sqs = clients.client("sqs")
    names = clients.names("house", "dev")
    for queue in (names.trigger_queue, names.dlq, names.results_queue):
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
        arn = names.queue_arn(queue)
        over_http = evaluate(
            "sqs:SendMessage",
            arn,
            identity_policies=[{"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}],
            resource_policy=policy,
            context={"aws:SecureTransport": "false"},
        )
        assert not over_http.allowed and "explicit deny" in over_http.reason
        over_tls = evaluate(
            "sqs:SendMessage",
            arn,
            identity_policies=[{"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}],
            resource_policy=policy,
            context={"aws:SecureTransport": "true"},
        )
        assert over_tls.allowed
    changed = Config.model_validate({"app": "house", "queue": {"results_queue": True, "visibility_timeout_s": 300}})
    assert [c.detail for c in deploy(changed, clients, ListReporter()).plan.pending] == ["VisibilityTimeout 180 -> 300"]
    assert deploy(changed, clients, ListReporter()).plan.is_empty  # the policy survived SetQueueAttributes
