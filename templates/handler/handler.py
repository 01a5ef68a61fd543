"""mlpipe's Lambda handler: SQS batch -> one SageMaker InvokeEndpoint -> predictions in the logs.

Runs in AWS Lambda (python3.12+): standard library and boto3 only, never mlpipe. Contracts with
the rest of mlpipe (environment, message bodies, log lines, dead-letter attributes) are in
mlpipe's docs/CONTRACTS.md.

- Every record of the batch is handled; one bad message never fails the others.
- A malformed message is poison: retrying cannot help, so it goes straight to the dead-letter
  queue with its reason and is not reported as a failure (SQS then deletes it from the trigger).
- All valid rows of the batch go to the endpoint in one call (split only above the body limit).
  Transient errors are retried with jittered backoff while the function has time; what still
  fails is returned in `batchItemFailures`, so SQS redelivers only those messages.
"""

import json
import math
import os
import random
import time

MAX_BODY_BYTES = 6 * 1024 * 1024 - 64 * 1024  # InvokeEndpoint's 6 MB, with room for headers
EXCERPT_CHARS = 200
TIME_RESERVE_MS = 1500  # keep this much of the invocation for logging and the DLQ
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 2.0
TRANSIENT_CODES = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalServerError",
    "InternalDependencyException",
    "ModelNotReadyException",
    "RequestTimeout",
    "RequestTimeoutException",
}

# boto3 clients, created at first use and reused by warm invocations (importing boto3 at module
# level would cost the cold start ~200 ms even for batches that never reach the endpoint).
_clients = {}


def use_clients(**clients):
    """Inject clients (e.g. `runtime=fake`, `sqs=fake`) instead of boto3's; for tests."""
    _clients.update(clients)


def _client(name):
    if name not in _clients:
        import boto3
        from botocore.config import Config

        if name == "runtime":
            # No SDK retries: _invoke retries itself, within the function's remaining time.
            config = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=60)
            _clients[name] = boto3.client("sagemaker-runtime", config=config)
        else:
            _clients[name] = boto3.client(name, config=Config(retries={"mode": "standard", "max_attempts": 3}))
    return _clients[name]


class Poison(Exception):
    """The message can never succeed: its reason goes to the dead-letter queue."""


class EndpointFailure(Exception):
    def __init__(self, code, message, transient):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.transient = transient


def _settings():
    try:
        feature_count = int(os.environ.get("MLPIPE_FEATURE_COUNT") or 0)
    except ValueError:
        feature_count = 0
    return {
        "endpoint": os.environ.get("MLPIPE_ENDPOINT_NAME", ""),
        "feature_count": feature_count,
        "dlq_url": os.environ.get("MLPIPE_DLQ_URL", ""),
        "results_url": os.environ.get("MLPIPE_RESULTS_QUEUE_URL", ""),
    }


def _log(event, **fields):
    print(json.dumps({"event": event, **fields}, default=str), flush=True)


# -- parsing and validation --------------------------------------------------------------------


def parse_message(body, feature_count):
    """(rows, correlation id) of one message body; raises Poison with the reason."""
    correlation_id = None
    try:
        data = json.loads(body)
    except ValueError:
        data = None
        rows = [line.split(",") for line in body.strip().splitlines() if line.strip()]
        if not rows:
            raise Poison("empty message body") from None
    if data is not None:
        if isinstance(data, dict):
            correlation_id = data.get("id")
            if correlation_id is not None:
                correlation_id = str(correlation_id)[:200]
            if "payload" in data:
                payload = data["payload"]
                rows = [payload.split(",")] if isinstance(payload, str) else [payload]
            elif "instances" in data:
                rows = data["instances"]
                if not isinstance(rows, list) or not rows:
                    raise Poison("'instances' must be a non-empty list of rows")
                rows = [r.split(",") if isinstance(r, str) else r for r in rows]
            else:
                raise Poison("JSON object without 'payload' or 'instances'")
        elif isinstance(data, list):
            rows = data if data and all(isinstance(r, list) for r in data) else [data]
        elif isinstance(data, int | float) and not isinstance(data, bool):
            rows = [[data]]
        else:
            raise Poison(f"unsupported JSON body of type {type(data).__name__}")
    return [_validate_row(row, i + 1, feature_count) for i, row in enumerate(rows)], correlation_id


def _validate_row(row, number, feature_count):
    if not isinstance(row, list) or not row:
        raise Poison(f"row {number} is not a non-empty list of numbers")
    if feature_count and len(row) != feature_count:
        raise Poison(f"row {number} has {len(row)} value(s), expected {feature_count} features")
    values = []
    for position, raw in enumerate(row, start=1):
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise Poison(f"row {number} feature {position} is not a number: {str(raw)[:40]!r}")
        try:
            value = float(raw.strip() if isinstance(raw, str) else raw)
        except ValueError:
            raise Poison(f"row {number} feature {position} is not a number: {str(raw)[:40]!r}") from None
        if not math.isfinite(value):
            raise Poison(f"row {number} feature {position} is not finite: {str(raw)[:40]!r}")
        values.append(value)
    return values


# -- the endpoint --------------------------------------------------------------------------------


def _csv(rows):
    return "".join(",".join(repr(v) for v in row) + "\n" for row in rows).encode()


def _chunks(items):
    """Group (message, rows) items so each group's CSV body stays under the endpoint's limit."""
    group, size = [], 0
    for item in items:
        item_size = len(_csv(item["rows"]))
        if group and size + item_size > MAX_BODY_BYTES:
            yield group
            group, size = [], 0
        group.append(item)
        size += item_size
    if group:
        yield group


def _call_endpoint(endpoint, body):
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        reply = _client("runtime").invoke_endpoint(
            EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=body
        )
        return reply["Body"].read().decode()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        transient = code in TRANSIENT_CODES or status >= 500 or status == 429
        raise EndpointFailure(code, error.get("Message", str(exc)), transient) from None
    except BotoCoreError as exc:  # connection reset, read timeout...
        raise EndpointFailure(type(exc).__name__, str(exc), True) from None


def _invoke(endpoint, body, context):
    """Call the endpoint, retrying transient failures with full jitter while time remains."""
    attempt = 0
    while True:
        try:
            return _call_endpoint(endpoint, body)
        except EndpointFailure as failure:
            attempt += 1
            delay = random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))
            remaining_ms = _remaining_ms(context)
            if not failure.transient or remaining_ms - delay * 1000 < TIME_RESERVE_MS:
                raise
            _log("retry", endpoint=endpoint, attempt=attempt, code=failure.code, delay_ms=round(delay * 1000))
            time.sleep(delay)


def _remaining_ms(context):
    try:
        return context.get_remaining_time_in_millis()
    except AttributeError:
        return 30_000


def parse_predictions(text, expected_rows):
    """The container answers one line per row (a number, or comma-separated class scores)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) == 1 and expected_rows > 1:  # older containers: all rows on one line
        lines = lines[0].split(",")
    if len(lines) != expected_rows:
        raise ValueError(f"endpoint returned {len(lines)} predictions for {expected_rows} rows")
    predictions = []
    for line in lines:
        values = [float(v) for v in line.split(",")]
        predictions.append(values[0] if len(values) == 1 else values)
    return predictions


# -- the handler ---------------------------------------------------------------------------------


def handler(event, context):
    settings = _settings()
    records = event.get("Records") or []
    failures = []  # message ids SQS must redeliver
    poison = []
    valid = []
    for record in records:
        message_id = record.get("messageId", "")
        try:
            rows, correlation_id = parse_message(record.get("body") or "", settings["feature_count"])
            valid.append({"record": record, "id": message_id, "cid": correlation_id, "rows": rows})
        except Poison as reason:
            poison.append((record, str(reason)))
        except Exception as exc:  # never let one message fail the batch
            _log("error", message_id=message_id, reason=f"unexpected {type(exc).__name__}: {exc}")
            failures.append(message_id)

    failures += _dead_letter(poison, settings["dlq_url"])

    if valid and not settings["endpoint"]:
        _log("error", reason="MLPIPE_ENDPOINT_NAME is not set", messages=len(valid))
        failures += [item["id"] for item in valid]
        valid = []
    for group in _chunks(valid):
        failures += _predict(group, settings, context)

    return {"batchItemFailures": [{"itemIdentifier": mid} for mid in failures]}


def _predict(group, settings, context):
    """Predict one group in one call; log each message's predictions. Returns failed message ids."""
    endpoint = settings["endpoint"]
    rows = [row for item in group for row in item["rows"]]
    started = time.monotonic()
    try:
        text = _invoke(endpoint, _csv(rows), context)
        predictions = parse_predictions(text, len(rows))
    except EndpointFailure as failure:
        if not failure.transient and failure.code == "ModelError" and len(group) > 1:
            # The model refused the batch: find the message(s) it refuses on their own.
            return [mid for half in _halves(group) for mid in _predict(half, settings, context)]
        if not failure.transient and failure.code == "ModelError":
            item = group[0]
            reason = f"the model rejected the message: {failure}"
            return _dead_letter([(item["record"], reason)], settings["dlq_url"])
        _log("error", endpoint=endpoint, code=failure.code, reason=str(failure)[:500], messages=len(group))
        return [item["id"] for item in group]
    except Exception as exc:
        _log("error", endpoint=endpoint, reason=f"{type(exc).__name__}: {exc}"[:500], messages=len(group))
        return [item["id"] for item in group]
    latency_ms = round((time.monotonic() - started) * 1000, 1)

    results, position = [], 0
    for item in group:
        count = len(item["rows"])
        item["predictions"] = predictions[position : position + count]
        position += count
        results.append(item)
    failed = _send_results(results, settings["results_url"])
    for item in results:
        if item["id"] in failed:
            continue
        _log(
            "prediction",
            message_id=item["id"],
            correlation_id=item["cid"],
            rows=len(item["rows"]),
            predictions=item["predictions"],
            endpoint=endpoint,
            latency_ms=latency_ms,
        )
    return sorted(failed)


def _halves(group):
    middle = len(group) // 2
    return [group[:middle], group[middle:]]


# -- queues --------------------------------------------------------------------------------------


def _dead_letter(poison, dlq_url):
    """Send poison messages to the DLQ with their reason; returns ids that could not be moved."""
    failed = []
    for record, reason in poison:
        _log(
            "poison",
            message_id=record.get("messageId", ""),
            correlation_id=_correlation_id(record),
            reason=reason,
            excerpt=(record.get("body") or "")[:EXCERPT_CHARS],
        )
    if poison and not dlq_url:
        _log("error", reason="MLPIPE_DLQ_URL is not set: poison messages left to the queue's redrive")
        return [record.get("messageId", "") for record, _ in poison]
    entries = []
    for number, (record, reason) in enumerate(poison):
        attributes = {
            "mlpipe-reason": {"DataType": "String", "StringValue": reason[:1000]},
            "mlpipe-source-message-id": {"DataType": "String", "StringValue": record.get("messageId") or "-"},
        }
        correlation_id = _correlation_id(record)
        if correlation_id:
            attributes["mlpipe-correlation-id"] = {"DataType": "String", "StringValue": correlation_id}
        entries.append(
            {
                "Id": str(number),
                "MessageBody": record.get("body") or "(empty)",
                "MessageAttributes": attributes,
                "_message_id": record.get("messageId", ""),
            }
        )
    for batch in _sqs_batches(entries):
        failed += _send_batch(dlq_url, batch, "dead-letter")
    return failed


def _send_results(items, results_url):
    """Send each message's predictions to the results queue; returns ids that were not sent."""
    if not results_url:
        return set()
    entries = [
        {
            "Id": str(number),
            "MessageBody": json.dumps(
                {"message_id": item["id"], "correlation_id": item["cid"], "predictions": item["predictions"]}
            ),
            "_message_id": item["id"],
        }
        for number, item in enumerate(items)
    ]
    failed = set()
    for batch in _sqs_batches(entries):
        failed.update(_send_batch(results_url, batch, "results"))
    return failed


def _sqs_batches(entries, max_entries=10, max_bytes=1024 * 1024 - 16 * 1024):
    batch, size = [], 0
    for entry in entries:
        entry_size = len(entry["MessageBody"].encode()) + 1024  # attributes, generously
        if batch and (len(batch) == max_entries or size + entry_size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry_size
    if batch:
        yield batch


def _send_batch(queue_url, batch, purpose):
    """SendMessageBatch; returns the source message ids of the entries that failed."""
    by_id = {entry["Id"]: entry.pop("_message_id") for entry in batch}
    try:
        reply = _client("sqs").send_message_batch(QueueUrl=queue_url, Entries=batch)
    except Exception as exc:
        _log("error", reason=f"sending to the {purpose} queue failed: {type(exc).__name__}: {exc}"[:500])
        return list(by_id.values())
    failed = [by_id[f["Id"]] for f in reply.get("Failed", [])]
    if failed:
        _log("error", reason=f"{len(failed)} message(s) not accepted by the {purpose} queue")
    return failed


def _correlation_id(record):
    try:
        data = json.loads(record.get("body") or "")
        if isinstance(data, dict) and data.get("id") is not None:
            return str(data["id"])[:200]
    except ValueError:
        pass
    return None
