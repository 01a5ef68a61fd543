"""`mlpipe local status` lists the mappings that exist, not every one deleted in a long session
(510 lines after a day's work); the message totals still count what the deleted ones processed."""

from __future__ import annotations

from pathlib import Path

from local_helpers import client, create_function

from mlpipe.local.executor import LambdaExecutor
from mlpipe.local.registry import Context

HANDLER = b"def handler(event, context):\n    return {}\n"


def _zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", HANDLER)
    return buffer.getvalue()


def test_deleted_mappings_leave_the_status_but_not_the_totals(endpoint_url: str, tmp_path: Path) -> None:
    lam, sqs = client(endpoint_url, "lambda"), client(endpoint_url, "sqs")
    create_function(endpoint_url, "fn", {}, 30, _zip())
    uuids = []
    for name in ("q1", "q2"):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        uuids.append(lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="fn")["UUID"])
    executor = LambdaExecutor(Context(endpoint_url=endpoint_url), cache_root=tmp_path / "code")
    try:
        executor._scan()  # what the executor's thread does every SCAN_INTERVAL_S
        assert sorted(m["uuid"] for m in executor.status()["mappings"]) == sorted(uuids)
        executor.stats[uuids[0]].count(processed=3, failed=1)
        lam.delete_event_source_mapping(UUID=uuids[0])
        lam.update_event_source_mapping(UUID=uuids[1], Enabled=False)
        executor._scan()
        status = executor.status()
        assert [(m["uuid"], m["enabled"]) for m in status["mappings"]] == [(uuids[1], False)]  # disabled: still there
        assert (status["processed"], status["failed"]) == (3, 1)
    finally:
        executor.stop()
