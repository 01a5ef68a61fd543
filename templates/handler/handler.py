"""mlpipe's Lambda handler: SQS batch -> one SageMaker InvokeEndpoint -> predictions in the logs.

Runs in AWS Lambda (python3.12+): standard library and boto3 only, never mlpipe. Contracts with
the rest of mlpipe (environment, message bodies, log lines, dead-letter attributes) are in
mlpipe's docs/CONTRACTS.md.
The package: this entry point, payload_rules.py (reading rows, shared with mlpipe's `send`
and `train`), endpoint_client.py (InvokeEndpoint), queue_sends.py (DLQ and results queue), and
model.json (the model's feature names and class labels, written by `deploy`).

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
import os
import time

from endpoint_client import (  # noqa: F401  (TIME_RESERVE_MS, CALL_BUDGETS_S: read by tests)
    CALL_BUDGETS_S,
    TIME_RESERVE_MS,
    EndpointFailure,
    call_budget_s,
    group_items,
    invoke,
    log,
    parse_predictions,
    remaining_ms,
    use_clients,
)
from payload_rules import MAX_ENDPOINT_BYTES, Poison, Rules, csv_body, message_rows
from queue_sends import dead_letter, send_results

__all__ = ["TIME_RESERVE_MS", "Poison", "handler", "message_rows", "parse_predictions", "use_clients"]

MAX_BODY_BYTES = MAX_ENDPOINT_BYTES
# Endpoint calls spent isolating refused messages per invocation: halving finds one refused message
# among N in 1 + 2*log2(N) calls, but a model that refuses everything would cost 2N - 1.
MAX_SPLIT_CALLS = 100
MODEL_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.json")
_model = {}  # model.json, read once per execution environment


def _model_facts():
    """Feature names and class labels of the model deployed with this code (none before a model)."""
    if "facts" not in _model:
        try:
            with open(MODEL_FILE, encoding="utf-8") as file:
                _model["facts"] = json.load(file)
        except FileNotFoundError:
            _model["facts"] = {}
    return _model["facts"]


def _settings():
    env = os.environ
    try:
        feature_count = int(env.get("MLPIPE_FEATURE_COUNT") or 0)
    except ValueError:
        feature_count = 0
    try:
        max_rows = int(env.get("MLPIPE_MAX_ROWS") or 0)
    except ValueError:
        max_rows = 0
    missing = env.get("MLPIPE_MISSING_VALUES")
    facts = _model_facts()
    rules = Rules(
        feature_names=facts.get("feature_names") or (),
        feature_count=feature_count,
        missing=json.loads(missing) if missing else Rules().missing,
        allow_missing=env.get("MLPIPE_ALLOW_MISSING_FEATURES", "") == "true",
        max_rows=max_rows,
    )
    return {
        "endpoint": env.get("MLPIPE_ENDPOINT_NAME", ""),
        "rules": rules,
        "labels": facts.get("labels") or [],
        "dlq_url": env.get("MLPIPE_DLQ_URL", ""),
        "results_url": env.get("MLPIPE_RESULTS_QUEUE_URL", ""),
    }


def _chunks(items):
    """Group (message, rows) items so each group's CSV body stays under the endpoint's limit."""
    return group_items(items, lambda item: len(csv_body(item["rows"])), MAX_BODY_BYTES)


def classes(predictions, labels):
    """Each row's most likely class and its probability, when the model is a classifier."""
    out = []
    for p in predictions:
        if isinstance(p, list):
            best = max(range(len(p)), key=p.__getitem__)
            out.append({"label": labels[best] if best < len(labels) else str(best), "probability": p[best]})
        else:
            positive = p >= 0.5
            out.append({"label": labels[1 if positive else 0], "probability": p if positive else 1 - p})
    return out


def handler(event, context):
    settings = _settings()
    records = event.get("Records") or []
    failures = []  # message ids SQS must redeliver
    poison = []  # (record, reason)
    valid = []
    for record in records:
        message_id = record.get("messageId", "")
        try:
            rows, correlation_id = message_rows(record.get("body"), settings["rules"])
            valid.append({"record": record, "id": message_id, "cid": correlation_id, "rows": rows})
        except Poison as reason:
            poison.append((record, str(reason)))
        except Exception as exc:  # never let one message fail the batch
            log("error", message_id=message_id, reason=f"unexpected {type(exc).__name__}: {exc}")
            failures.append(message_id)

    # Malformed messages are dead-lettered first, while the whole invocation's time is ahead.
    # Each goes to the DLQ once per receive. If the invocation still ended without an answer
    # (timeout, crash), SQS would redeliver the whole batch and they would be sent again: the DLQ
    # is a standard queue (no deduplication) and a timeout resets the execution environment, so
    # no record of what was sent survives. Sending them last instead would only move the risk onto
    # the sends themselves (thousands of poison messages need more than TIME_RESERVE_MS); the time
    # bounds of _invoke are what keep the invocation from timing out.
    failures += dead_letter(poison, settings["dlq_url"])

    if valid and not settings["endpoint"]:
        log("error", reason="MLPIPE_ENDPOINT_NAME is not set", messages=len(valid))
        failures += [item["id"] for item in valid]
        valid = []
    refused: list = []  # (record, reason) of messages the model refuses, dead-lettered together below
    splits = {"left": MAX_SPLIT_CALLS}
    for group in _chunks(valid):
        failures += _predict(group, settings, context, refused, splits)
    failures += dead_letter(refused, settings["dlq_url"])

    return {"batchItemFailures": [{"itemIdentifier": mid} for mid in failures]}


def _predict(group, settings, context, refused, splits):
    """Predict one group in one call; log each message's predictions. Returns failed message ids;
    messages the model refuses are added to `refused`."""
    endpoint = settings["endpoint"]
    rows = [row for item in group for row in item["rows"]]
    started = time.monotonic()
    try:
        text = invoke(endpoint, csv_body(rows), context)
        predictions = parse_predictions(text, len(rows))
    except EndpointFailure as failure:
        if failure.rejected and len(group) == 1:
            refused.append((group[0]["record"], f"the model rejected the message: {failure}"))
            return []
        if failure.rejected:
            return _isolate(group, failure, settings, context, refused, splits)
        log("error", endpoint=endpoint, code=failure.code, reason=str(failure)[:500], messages=len(group))
        return [item["id"] for item in group]
    except Exception as exc:
        log("error", endpoint=endpoint, reason=f"{type(exc).__name__}: {exc}"[:500], messages=len(group))
        return [item["id"] for item in group]
    latency_ms = round((time.monotonic() - started) * 1000, 1)

    results, position = [], 0
    for item in group:
        count = len(item["rows"])
        item["predictions"] = predictions[position : position + count]
        if settings["labels"]:
            item["classes"] = classes(item["predictions"], settings["labels"])
        position += count
        results.append(item)
    failed = send_results(results, settings["results_url"])
    for item in results:
        if item["id"] in failed:
            continue
        log(
            "prediction",
            message_id=item["id"],
            correlation_id=item["cid"],
            rows=len(item["rows"]),
            predictions=item["predictions"],
            **({"classes": item["classes"]} if "classes" in item else {}),
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
        if out_of_calls or call_budget_s(remaining_ms(context)) is None:
            limit = f"MAX_SPLIT_CALLS ({MAX_SPLIT_CALLS}) reached" if out_of_calls else "no time left"
            log(
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
