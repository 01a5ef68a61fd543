"""Builds the inference architecture on the embedded AWS with plain boto3 (independent of `deploy`
and `train`, so the emulator's tests do not depend on them): queues with redrive, role, function
from templates/handler, mapping, and a tiny XGBoost model served by a SageMaker endpoint."""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.config

from mlpipe.policies.lambda_role import LOG_ACTIONS
from mlpipe.waiting import Poll

REPO = Path(__file__).resolve().parents[2]
HANDLER_DIR = REPO / "templates" / "handler"
TUTORIAL_PAYLOAD = "14.0507,0,18.1,0,0.597,6.657,100,1.5275,24,666,20.2,35.05,21.22"
FEATURES = 13


def client(endpoint_url: str, service: str, **options: Any) -> Any:
    """A plain boto3 client with the keys in the environment now (the `endpoint_url` fixture exports the
    server's; read here because boto3's default session caches the first keys it resolved)."""
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
        config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 2}, **options),
    )


def handler_zip(source: str | None = None) -> bytes:
    """The function package: templates/handler (or `source` as handler.py) at the zip root."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if source is None:
            for path in sorted(HANDLER_DIR.rglob("*.py")):
                archive.write(path, path.relative_to(HANDLER_DIR).as_posix())
        else:
            archive.writestr("handler.py", source)
    return out.getvalue()


def tiny_model(seed: int = 0, rows: int = 300) -> tuple[Any, bytes]:
    """A small XGBoost regressor on synthetic 13-feature data, and its model.tar.gz."""
    import numpy as np
    import xgboost

    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 100, size=(rows, FEATURES)).astype(np.float32)
    y = x[:, 0] * 0.3 - x[:, 5] * 2.0 + x[:, 12] * 0.5 + rng.normal(0, 1, rows)
    booster = xgboost.train(
        {"objective": "reg:squarederror", "max_depth": 3, "nthread": 1},
        xgboost.DMatrix(x, label=y),
        num_boost_round=15,
    )
    raw = bytes(booster.save_raw(raw_format="ubj"))
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    return booster, tar_buffer.getvalue()


def predict_in_process(booster: Any, csv_row: str) -> float:
    import numpy as np
    import xgboost

    row = np.asarray([[float(v) for v in csv_row.split(",")]], dtype=np.float32)
    return float(booster.predict(xgboost.DMatrix(row))[0])


@dataclass
class Stack:
    endpoint_url: str
    trigger_url: str
    trigger_arn: str
    dlq_url: str
    function: str
    log_group: str
    endpoint: str
    mapping_uuid: str
    booster: Any

    def sqs(self) -> Any:
        return client(self.endpoint_url, "sqs")


def create_endpoint(endpoint_url: str, name: str, seed: int = 0) -> Any:
    s3, sm, iam = client(endpoint_url, "s3"), client(endpoint_url, "sagemaker"), client(endpoint_url, "iam")
    booster, artifact = tiny_model(seed)
    bucket = f"{name}-models"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="models/v1/model.tar.gz", Body=artifact)
    role = iam.create_role(RoleName=f"{name}-sm", AssumeRolePolicyDocument=_trust("sagemaker.amazonaws.com"))
    # SageMaker reads the artifact as this role: it needs s3:GetObject, as on AWS;
    # and writes its container's log lines as the role too, as mlpipe's SageMaker role allows.
    group = f"arn:aws:logs:us-east-1:{role['Role']['Arn'].split(':')[4]}:log-group:/aws/sagemaker/Endpoints/{name}:*"
    logs = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
    read = _allow(("s3:GetObject",), (f"arn:aws:s3:::{bucket}/*",), logs, (group,))
    iam.put_role_policy(RoleName=f"{name}-sm", PolicyName="read-model", PolicyDocument=read)
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
    sm.create_model(
        ModelName=f"{name}-v1",
        ExecutionRoleArn=role["Role"]["Arn"],
        PrimaryContainer={"Image": image, "ModelDataUrl": f"s3://{bucket}/models/v1/model.tar.gz"},
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-v1",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-v1",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
            }
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-v1")
    return booster


def create_function(
    endpoint_url: str,
    name: str,
    env: dict[str, str],
    timeout: int,
    code: bytes,
    policy: str | None = None,
    logs: bool = True,
) -> str:
    """A function whose role has `policy` (the handler runs with that role's credentials; by default
    the role may only consume queues) and, unless `logs` is False, its log group and the permission
    to write it, as `mlpipe deploy` sets them up (Lambda writes the logs as the role: without it, they
    are lost)."""
    iam, lam = client(endpoint_url, "iam"), client(endpoint_url, "lambda")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=_trust("lambda.amazonaws.com"))
    # Lambda polls a mapped queue as this role: by default it may consume any queue (and nothing else).
    consume = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility")
    policy = policy if policy is not None else _allow(consume, ("*",))
    iam.put_role_policy(RoleName=f"{name}-role", PolicyName="handler", PolicyDocument=policy)
    if logs:
        logs_client = client(endpoint_url, "logs")
        logs_client.create_log_group(logGroupName=f"/aws/lambda/{name}")
        account = role["Role"]["Arn"].split(":")[4]
        group_arn = f"arn:aws:logs:{logs_client.meta.region_name}:{account}:log-group:/aws/lambda/{name}"
        iam.put_role_policy(RoleName=f"{name}-role", PolicyName="logs", PolicyDocument=logs_policy(group_arn))
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="handler.handler",
        Code={"ZipFile": code},
        Timeout=timeout,
        MemorySize=256,
        Environment={"Variables": env},
    )
    wait_until_active(lam, name)
    return name


def wait_until_active(lam: Any, name: str, timeout: float = 10) -> None:
    wait_for(
        lambda: (
            (c := lam.get_function_configuration(FunctionName=name))["State"] == "Active"
            and c.get("LastUpdateStatus") in (None, "Successful")
        ),
        timeout,
        f"function {name} Active",
    )


def deploy_stack(
    endpoint_url: str,
    app: str = "demo",
    batch_size: int = 10,
    timeout: int = 3,
    visibility: int = 6,
    max_receive: int = 3,
    feature_count: int = FEATURES,
    code: bytes | None = None,
) -> Stack:
    sqs, lam = client(endpoint_url, "sqs"), client(endpoint_url, "lambda")
    dlq_url = sqs.create_queue(QueueName=f"{app}-dlq", Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    trigger_url = sqs.create_queue(
        QueueName=f"{app}-trigger",
        Attributes={
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}),
        },
    )["QueueUrl"]
    trigger_arn = sqs.get_queue_attributes(QueueUrl=trigger_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    booster = create_endpoint(endpoint_url, app)
    env = {
        "MLPIPE_ENDPOINT_NAME": app,
        "MLPIPE_FEATURE_COUNT": str(feature_count),
        "MLPIPE_DLQ_URL": dlq_url,
        "MLPIPE_RESULTS_QUEUE_URL": "",
    }
    function = create_function(
        endpoint_url, f"{app}-predict", env, timeout, code or handler_zip(), handler_policy(trigger_arn, dlq_arn, app)
    )
    mapping = lam.create_event_source_mapping(
        EventSourceArn=trigger_arn,
        FunctionName=function,
        BatchSize=batch_size,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    return Stack(
        endpoint_url,
        trigger_url,
        trigger_arn,
        dlq_url,
        function,
        f"/aws/lambda/{function}",
        app,
        mapping["UUID"],
        booster,
    )


def send_all(sqs: Any, queue_url: str, bodies: list[str]) -> list[str]:
    """Send bodies in batches of 10; returns the SQS message ids in order."""
    ids = []
    for start in range(0, len(bodies), 10):
        chunk = bodies[start : start + 10]
        reply = sqs.send_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(chunk)]
        )
        assert not reply.get("Failed"), reply.get("Failed")
        by_entry = {s["Id"]: s["MessageId"] for s in reply["Successful"]}
        ids += [by_entry[str(i)] for i in range(len(chunk))]
    return ids


def log_lines(endpoint_url: str, group: str) -> list[str]:
    logs = client(endpoint_url, "logs")
    lines: list[str] = []
    try:
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
            lines += [e["message"] for e in page["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return lines


def json_events(lines: list[str], kind: str) -> list[dict[str, Any]]:
    events = []
    for line in lines:
        if line.startswith("{"):
            data = json.loads(line)
            if data.get("event") == kind:
                events.append(data)
    return events


def drain(sqs: Any, queue_url: str, max_wait: float = 5) -> list[dict[str, Any]]:
    """Receive (and delete) every message of a queue until SQS counts none left in it, visible or in
    flight (not a stretch of silence); messages someone else holds are long-polled for, up to
    `max_wait` s."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + max_wait
    wait_s = 0
    while True:
        reply = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=wait_s
        )
        messages = reply.get("Messages", [])
        if messages:
            got += messages
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        elif queue_depth(sqs, queue_url) == 0 or time.monotonic() >= deadline:
            return got
        wait_s = 0 if messages else 1


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """The first truthy answer of `predicate` (asked at once, then every `interval` s, and once more at
    the deadline); a test failure naming `what` if none came. The tests' one poll loop: they wait on
    the state that matters, never for a fixed time."""
    for _ in Poll(timeout, interval):
        value = predicate()
        if value:
            return value
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def queue_depth(sqs: Any, queue_url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def handler_policy(trigger_arn: str, dlq_arn: str, endpoint: str) -> str:
    """What the handler's role needs (as mlpipe's own Lambda policy grants): the handler's calls are
    checked against it."""
    region, account = trigger_arn.split(":")[3:5]
    return _allow(
        ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"),
        (trigger_arn,),
        ("sqs:SendMessage",),
        (dlq_arn,),
        ("sagemaker:InvokeEndpoint",),
        (f"arn:aws:sagemaker:{region}:{account}:endpoint/{endpoint.lower()}",),
    )


def logs_policy(group_arn: str) -> str:
    """The function's log writes, exactly as mlpipe's Lambda role grants them (policies/lambda_role.py):
    streams in the group that deploy created, no logs:CreateLogGroup."""
    return _allow(LOG_ACTIONS, (group_arn, f"{group_arn}:*"))


def _allow(*pairs: tuple[str, ...]) -> str:
    """A policy document from (actions, resources) pairs."""
    statements = [
        {"Effect": "Allow", "Action": list(pairs[i]), "Resource": list(pairs[i + 1])} for i in range(0, len(pairs), 2)
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )
