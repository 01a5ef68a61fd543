"""`mlpipe local status` lists the mappings that exist, not every one deleted in a long session
(510 lines after a day's work); the message totals still count what the deleted ones processed."""

from __future__ import annotations

from typing import Any

from local_helpers import client, create_function

from mlpipe.local.ext.mapping_runner import KEY
from mlpipe.local.mapping_runner import MappingRunner

HANDLER = b"def handler(event, context):\n    return {}\n"


def _zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", HANDLER)
    return buffer.getvalue()


def test_deleted_mappings_leave_the_status_but_not_the_totals(endpoint_url: str, embedded_server: Any) -> None:
    lam, sqs = client(endpoint_url, "lambda"), client(endpoint_url, "sqs")
    create_function(endpoint_url, "fn", {}, 30, _zip())
    uuids = []
    for name in ("q1", "q2"):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        uuids.append(lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="fn")["UUID"])
    runner: MappingRunner = embedded_server.ctx.state[KEY]  # the server's own runner
    runner._scan()  # what its thread does every SCAN_INTERVAL_S, now rather than after a sleep
    assert sorted(m["uuid"] for m in runner.status()["mappings"]) == sorted(uuids)
    runner.stats[uuids[0]].count(processed=3, failed=1)
    lam.delete_event_source_mapping(UUID=uuids[0])
    lam.update_event_source_mapping(UUID=uuids[1], Enabled=False)
    runner._scan()
    status = runner.status()
    assert [(m["uuid"], m["enabled"]) for m in status["mappings"]] == [(uuids[1], False)]  # disabled: still there
    assert (status["processed"], status["failed"]) == (3, 1)
