"""The endpoint side of the handler: boto3 clients, InvokeEndpoint within the remaining time, and
reading the container's answer. Standard library and boto3 only (it runs in Lambda).
"""

import json
import random
import time

TIME_RESERVE_MS = 1500  # keep this much of the invocation for logging and the DLQ
# Seconds one endpoint call may take (connect + read). A call starts only when the largest of these
# that fits in the remaining time (less TIME_RESERVE_MS) is at least the first, 1 s; its client's
# timeouts are that value (see _runtime). Steps of ~1.5x keep at most 10 clients per environment,
# at the price of a bound up to a third shorter than the time left; 62 = the former 2 + 60 s.
CALL_BUDGETS_S = (1, 2, 3, 5, 8, 12, 18, 27, 40, 62)
CONNECT_TIMEOUT_S = 2
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


def client(name):
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
    read is the call's bound in practice. No SDK retries: invoke retries within the remaining time.
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


class EndpointFailure(Exception):
    """`rejected`: the container refused the input (4xx); `transient`: retrying may succeed."""

    def __init__(self, code, message, transient, rejected=False):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.transient = transient
        self.rejected = rejected


def log(event, **fields):
    print(json.dumps({"event": event, **fields}, default=str), flush=True)


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


def invoke(endpoint, body, context):
    """Call the endpoint, retrying transient failures with full jitter while time remains.

    Every call, the first included, starts only with time to finish it (see CALL_BUDGETS_S).
    """
    attempt = 0
    budget_s = call_budget_s(remaining_ms(context))
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
            budget_s = call_budget_s(remaining_ms(context) - delay * 1000)
            if budget_s is None:
                raise
            log("retry", endpoint=endpoint, attempt=attempt, code=failure.code, delay_ms=round(delay * 1000))
            time.sleep(delay)


def call_budget_s(remaining_ms):
    """The largest CALL_BUDGETS_S that fits in the remaining time less the reserve, or None."""
    available_s = (remaining_ms - TIME_RESERVE_MS) / 1000
    fitting = [budget for budget in CALL_BUDGETS_S if budget <= available_s]
    return fitting[-1] if fitting else None


def _min_call_ms():
    return TIME_RESERVE_MS + CALL_BUDGETS_S[0] * 1000


def remaining_ms(context):
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


def group_items(items, size_of, max_bytes, max_count=None):
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
