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
- A `ModelError` is the container's answer: a 4xx `OriginalStatusCode` means it refuses the input,
  so the group is halved until the refused message(s) are found and dead-lettered; a 5xx (or no
  status) means the endpoint is failing, which is transient: retried, then reported, never poison.
- No endpoint call starts without time to finish it: each call's timeouts are bounded by the
  function's remaining time, so the function returns its own answer instead of timing out.
"""

import json
import math
import os
import random
import time

MAX_BODY_BYTES = 6 * 1024 * 1024 - 64 * 1024  # InvokeEndpoint's 6 MB, with room for headers
EXCERPT_CHARS = 200
TIME_RESERVE_MS = 1500  # keep this much of the invocation for logging and the DLQ
# Seconds one endpoint call may take (connect + read). A call starts only when the largest of these
# that fits in the remaining time (less TIME_RESERVE_MS) is at least the first, 1 s; its client's
# timeouts are that value (see _runtime). Steps of ~1.5x keep at most 10 clients per environment,
# at the price of a bound up to a third shorter than the time left; 62 = the former 2 + 60 s.
CALL_BUDGETS_S = (1, 2, 3, 5, 8, 12, 18, 27, 40, 62)
CONNECT_TIMEOUT_S = 2
# Endpoint calls spent isolating refused messages per invocation: halving finds one refused message
# among N in 1 + 2*log2(N) calls, but a model that refuses everything would cost 2N - 1.
MAX_SPLIT_CALLS = 100
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

        _clients[name] = boto3.client(name, config=Config(retries={"mode": "standard", "max_attempts": 3}))
    return _clients[name]


def _runtime(budget_s):
    """The sagemaker-runtime client whose calls give up after about `budget_s` seconds.

    botocore has no per-call timeout: timeouts belong to the client. So there is one client per
    budget of CALL_BUDGETS_S (at most 10, created at first use and reused by warm invocations; a
    warm invocation's first call usually has the same budget as the previous one). The read timeout
    bounds each socket read, and SageMaker answers in one piece after the inference, so connect +
    read is the call's bound in practice. No SDK retries: _invoke retries within the remaining time.
    """
    if "runtime" in _clients:  # injected by tests
        return _clients["runtime"]
    key = ("runtime", budget_s)
    if key not in _clients:
        import boto3
        from botocore.config import Config

        connect_s = min(CONNECT_TIMEOUT_S, budget_s / 2)
        config = Config(retries={"total_max_attempts": 1}, connect_timeout=connect_s, read_timeout=budget_s - connect_s)
        _clients[key] = boto3.client("sagemaker-runtime", config=config)
    return _clients[key]


class Poison(Exception):
    """The message can never succeed: its reason goes to the dead-letter queue."""


class EndpointFailure(Exception):
    """`rejected`: the container refused the input (4xx); `transient`: retrying may succeed."""

    def __init__(self, code, message, transient, rejected=False):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.transient = transient
        self.rejected = rejected


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


def _groups(items, size_of, max_bytes, max_count=None):
    """Consecutive groups of items under a size limit (and a count limit), in order."""
    group, size = [], 0
    for item in items:
        item_size = size_of(item)
        if group and (size + item_size > max_bytes or len(group) == max_count):
            yield group
            group, size = [], 0
        group.append(item)
        size += item_size
    if group:
        yield group


def _chunks(items):
    """Group (message, rows) items so each group's CSV body stays under the endpoint's limit."""
    return _groups(items, lambda item: len(_csv(item["rows"])), MAX_BODY_BYTES)


def _call_endpoint(endpoint, body, budget_s):
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        reply = _runtime(budget_s).invoke_endpoint(
            EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=body
        )
        return reply["Body"].read().decode()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        message = error.get("Message", str(exc))
        if code == "ModelError":
            # HTTP 424 for any non-2xx answer of the container; botocore puts the container's own
            # status at the top of the error response. 4xx: the container refuses this input.
            # 5xx (worker died, out of memory...) or no status: the endpoint is failing, and
            # retrying (now, or on redelivery) can succeed. 408 and 429 are "try again" too.
            original = _status(exc.response.get("OriginalStatusCode"))
            rejected = original is not None and 400 <= original < 500 and original not in (408, 429)
            raise EndpointFailure(code, message, transient=not rejected, rejected=rejected) from None
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        transient = code in TRANSIENT_CODES or status >= 500 or status == 429
        raise EndpointFailure(code, message, transient) from None
    except BotoCoreError as exc:  # connection reset, read timeout...
        raise EndpointFailure(type(exc).__name__, str(exc), True) from None


def _status(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _invoke(endpoint, body, context):
    """Call the endpoint, retrying transient failures with full jitter while time remains.

    Every call, the first included, starts only with time to finish it (see CALL_BUDGETS_S).
    """
    attempt = 0
    budget_s = _call_budget_s(_remaining_ms(context))
    if budget_s is None:
        raise EndpointFailure("NoTimeLeft", f"less than {_min_call_ms()} ms left: endpoint not called", True)
    while True:
        try:
            return _call_endpoint(endpoint, body, budget_s)
        except EndpointFailure as failure:
            if not failure.transient:
                raise
            attempt += 1
            delay = random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))
            budget_s = _call_budget_s(_remaining_ms(context) - delay * 1000)
            if budget_s is None:
                raise
            _log("retry", endpoint=endpoint, attempt=attempt, code=failure.code, delay_ms=round(delay * 1000))
            time.sleep(delay)


def _call_budget_s(remaining_ms):
    """The largest CALL_BUDGETS_S that fits in the remaining time less the reserve, or None."""
    available_s = (remaining_ms - TIME_RESERVE_MS) / 1000
    fitting = [budget for budget in CALL_BUDGETS_S if budget <= available_s]
    return fitting[-1] if fitting else None


def _min_call_ms():
    return TIME_RESERVE_MS + CALL_BUDGETS_S[0] * 1000


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
    poison = []  # (record, reason)
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

    # Malformed messages are dead-lettered first, while the whole invocation's time is ahead.
    # Each goes to the DLQ once per receive. If the invocation still ended without an answer
    # (timeout, crash), SQS would redeliver the whole batch and they would be sent again: the DLQ
    # is a standard queue (no deduplication) and a timeout resets the execution environment, so
    # no record of what was sent survives. Sending them last instead would only move the risk onto
    # the sends themselves (thousands of poison messages need more than TIME_RESERVE_MS); the time
    # bounds of _invoke are what keep the invocation from timing out.
    failures += _dead_letter(poison, settings["dlq_url"])

    if valid and not settings["endpoint"]:
        _log("error", reason="MLPIPE_ENDPOINT_NAME is not set", messages=len(valid))
        failures += [item["id"] for item in valid]
        valid = []
    refused: list = []  # (record, reason) of messages the model refuses, dead-lettered together below
    splits = {"left": MAX_SPLIT_CALLS}
    for group in _chunks(valid):
        failures += _predict(group, settings, context, refused, splits)
    failures += _dead_letter(refused, settings["dlq_url"])

    return {"batchItemFailures": [{"itemIdentifier": mid} for mid in failures]}


def _predict(group, settings, context, refused, splits):
    """Predict one group in one call; log each message's predictions. Returns failed message ids;
    messages the model refuses are added to `refused`."""
    endpoint = settings["endpoint"]
    rows = [row for item in group for row in item["rows"]]
    started = time.monotonic()
    try:
        text = _invoke(endpoint, _csv(rows), context)
        predictions = parse_predictions(text, len(rows))
    except EndpointFailure as failure:
        if failure.rejected and len(group) == 1:
            refused.append((group[0]["record"], f"the model rejected the message: {failure}"))
            return []
        if failure.rejected:
            return _isolate(group, failure, settings, context, refused, splits)
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


def _isolate(group, failure, settings, context, refused, splits):
    """The model refused `group` (4xx): predict its halves apart to find the message(s) it refuses.

    Halving keeps the recursion log2(len(group)) deep; the calls are bounded by MAX_SPLIT_CALLS
    and by the remaining time. What is left unsplit is reported for redelivery (a later receive
    goes on isolating it), never dead-lettered without the model's answer on the message alone.
    """
    failed = []
    for half in _halves(group):
        out_of_calls = splits["left"] <= 0
        if out_of_calls or _call_budget_s(_remaining_ms(context)) is None:
            limit = f"MAX_SPLIT_CALLS ({MAX_SPLIT_CALLS}) reached" if out_of_calls else "no time left"
            _log(
                "error",
                endpoint=settings["endpoint"],
                code=failure.code,
                reason=f"the model refused a group; not isolated: {limit}",
                messages=len(half),
            )
            failed += [item["id"] for item in half]
            continue
        splits["left"] -= 1
        failed += _predict(half, settings, context, refused, splits)
    return failed


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
    # Attributes are counted generously at 1 KiB an entry.
    return _groups(entries, lambda entry: len(entry["MessageBody"].encode()) + 1024, max_bytes, max_entries)


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
