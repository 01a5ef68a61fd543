"""The demo's waiting steps (predictions, the DLQ, the pipeline run) and the commands it prints.

Split from ops/demo.py to keep each module small; these only read (the logs, the DLQ, the pipeline).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipe.reporter import Reporter
from mlpipe.waiting import Poll

if TYPE_CHECKING:
    from mlpipe.ops.demo import DemoListener, DemoRequest, DemoResult, RowOutcome

ROWS_FILE = "rows.csv"
MALFORMED_PAYLOAD = "14.05,not-a-number"


def await_outcomes(
    config: Any,
    clients: Any,
    outcomes: list[RowOutcome],
    listener: DemoListener,
    timeout_s: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    """Follow the function's log group until every message has its prediction or poison line."""
    from mlpipe.ops.logevents import LogPoller, next_delay

    names = clients.names(config.app, config.stage)
    by_id = {o.message_id: o for o in outcomes}
    poller = LogPoller(clients, names.log_group, int(time.time() * 1000) - 60_000)
    poll = Poll(timeout_s, 0.2, clock=clock, sleep=sleep)
    for _ in poll:
        events = poller.poll()
        for event in events:
            record = event.record() or {}
            outcome = by_id.get(str(record.get("message_id")))
            if outcome is None or outcome.status != "pending":
                continue
            if record.get("event") == "prediction":
                predictions = record.get("predictions") or [None]
                outcome.status, outcome.prediction = "prediction", _number(predictions[0])
                outcome.latency_ms = _number(record.get("latency_ms"))
            elif record.get("event") == "poison":
                outcome.status, outcome.reason = "poison", str(record.get("reason", ""))
            else:
                continue
            listener.outcome(outcome)
        if not any(o.status == "pending" for o in outcomes):
            return
        poll.interval = next_delay(poll.interval, bool(events), poller.throttled, idle_max=0.5)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def await_dlq(
    config: Any,
    clients: Any,
    reporter: Reporter,
    result: DemoResult,
    timeout_s: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    """The malformed message as `mlpipe tail dlq` shows it (peeked at, left in the queue)."""
    from mlpipe.ops.tail import tail_dlq

    malformed = result.outcomes[-1].message_id
    for _ in Poll(timeout_s, 0.3, clock=clock, sleep=sleep):
        dlq = tail_dlq(config, clients, reporter, limit=10, peek_s=5)
        result.dlq_depth = dlq.approximate_depth
        result.dlq = [m.to_dict() for m in dlq.messages if malformed in (m.source_message_id, m.message_id)]
        if result.dlq:
            return


def await_pipeline(
    config: Any, clients: Any, timeout_s: float, clock: Callable[[], float], sleep: Callable[[float], None]
) -> dict[str, Any]:
    """The pushed commit's pipeline run, once it ended (or as it is at the timeout)."""
    from mlpipe.ops.pipeline_status import pipeline_status

    for _ in Poll(timeout_s, 0.5, clock=clock, sleep=sleep):
        state = pipeline_status(config, clients)
        latest = state.latest
        if latest is not None and not state.running:
            break
    summary: dict[str, Any] = {"pipeline": state.pipeline}
    if latest is not None:
        summary.update(status=latest.status, revision=latest.revision, execution_id=latest.execution_id)
        summary["actions"] = [{"stage": a.stage, "action": a.action, "status": a.status} for a in state.actions]
    return summary


def commands_by_hand(
    directory: Path, request: DemoRequest, removed: bool = False, first_row: str | None = None
) -> list[tuple[str, str]]:
    """The commands that do what the demo did, one step at a time, on the embedded AWS.

    When the demo removed its scratch project (`removed`), the first step makes a new one rather
    than `cd` into a directory that is gone, and rows are sent with --payload (rows.csv went too)."""
    train = "mlpipe train"
    if request.data:
        train += f" --data {Path(request.data).resolve()}"
    if request.target:
        train += f" --target {request.target}"
    project = ("go to the project (mlpipe.yaml says target: local)", f"cd {directory}")
    send = ("send rows, wait for predictions", f"mlpipe send --file {ROWS_FILE} --wait")
    if removed:
        project = (
            "a project on the embedded AWS (the demo removed its own)",
            "mkdir demo && cd demo && printf 'app: demo\\ntarget: local\\n' > mlpipe.yaml",
        )
        if first_row is not None:
            send = ("send a row, wait for its prediction", f"mlpipe send --payload {first_row} --wait")
    return [
        project,
        ("start the embedded AWS", "mlpipe local up"),
        ("train and serve the model", train),
        ("queues, function, mapping, alarm", "mlpipe deploy"),
        ("CI/CD: CodeCommit -> CodeBuild -> CodePipeline", "mlpipe bootstrap-pipeline --push"),
        send,
        ("send a malformed message", f'mlpipe send --no-validate --json \'{{"payload": "{MALFORMED_PAYLOAD}"}}\''),
        ("the predictions in the logs", "mlpipe tail logs --since 10m"),
        ("the dead-letter queue, with reasons", "mlpipe tail dlq"),
        ("the pipeline's runs", "mlpipe tail pipeline"),
        ("everything at a glance", "mlpipe status"),
        ("remove it all", "mlpipe destroy --pipeline --force --yes && mlpipe local down"),
    ]


def commands_on_aws(request: DemoRequest) -> list[tuple[str, str]]:
    """The same project against an AWS account: only the target changes."""
    return [
        ("credentials and region", "export AWS_PROFILE=my-profile AWS_DEFAULT_REGION=eu-west-1"),
        ("in your repository; then set model.data and model.target", "mlpipe init"),
        ("the permissions: an admin part (once) and an operator part, each split to fit", "mlpipe iam-policy"),
        ("train (endpoints cost money until destroy)", "mlpipe train"),
        ("deploy and CI/CD", "mlpipe deploy && mlpipe bootstrap-pipeline --push"),
        ("try it", "mlpipe send --file rows.csv --wait && mlpipe status"),
        ("stop paying (--pipeline: the CI/CD too)", "mlpipe destroy --pipeline"),
    ]
