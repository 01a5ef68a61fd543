"""Sending a 10,000-row file: `mlpipe send --file` against a naive loop of one SendMessage per row,
in the same run, against the same embedded AWS (its own process, so neither client shares its GIL).

    .venv/bin/python bench/bench_send.py [rows]

Requests are counted by the server (`GET /_mlpipe/status`), every row is counted on the queue.
Targets: >= 5x less wall time, >= 9x fewer requests; `mlpipe send --help` <= 80 ms.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
BIN = Path(sys.executable).parent
MLPIPE = shutil.which("mlpipe", path=str(BIN)) or str(BIN / "mlpipe")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "boston_train.csv"
APP = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_requests(url: str) -> int:
    from mlpipe.local.control import admin_request

    status, body = admin_request(url, "GET", "/_mlpipe/status", timeout=10)
    if status != 200:
        raise OSError(f"status answered {status}: {body}")
    return int(body["server"]["requests"])


def start_server(port: int, log: Path) -> subprocess.Popen[bytes]:
    """The server in its own process, with operator keys made here and exported for every client."""
    from mlpipe.local.credentials import new_identity, operator_arn

    operator = new_identity(operator_arn())
    os.environ["AWS_ACCESS_KEY_ID"] = operator.access_key_id
    os.environ["AWS_SECRET_ACCESS_KEY"] = operator.secret_access_key
    code = (
        "import os; from mlpipe.local.credentials import Identity, operator_arn; "
        "from mlpipe.local.server import EmbeddedServer; "
        "keys = Identity(os.environ['AWS_ACCESS_KEY_ID'], os.environ['AWS_SECRET_ACCESS_KEY'], operator_arn()); "
        f"EmbeddedServer(port={port}, operator=keys).serve_forever()"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            server_requests(url)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the embedded AWS did not start; see {log}")


def rows(count: int) -> list[str]:
    """Feature rows (13 columns) from the Boston training data, repeated to `count`."""
    lines = DATA.read_text().splitlines()[1:]
    features = [",".join(line.split(",")[2:]) for line in lines if line.strip()]
    return [features[i % len(features)] for i in range(count)]


def make_deployment(clients, names) -> str:  # type: ignore[no-untyped-def]
    from mlpipe.ops import model_store

    sqs = clients.client("sqs")
    sqs.create_queue(QueueName=names.dlq, tags=names.tags)
    url = str(sqs.create_queue(QueueName=names.trigger_queue, tags=names.tags)["QueueUrl"])
    clients.client("s3").create_bucket(Bucket=names.model_bucket)
    model_store.write_current(clients, names, {"version": "bench", "feature_count": 13})
    return url


def depth(sqs, url: str) -> int:  # type: ignore[no-untyped-def]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def naive_loop(endpoint_url: str, queue_name: str, data: list[str]) -> None:
    """What a script without mlpipe does: one SendMessage per row."""
    import boto3

    sqs = boto3.client("sqs", endpoint_url=endpoint_url, region_name="us-east-1")  # keys from the environment
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    for i, row in enumerate(data, start=1):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"payload": row, "id": f"naive-{i}"}))


def help_ms(runs: int = 15) -> tuple[float, float]:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}

    def median(argv: list[str]) -> float:
        subprocess.run(argv, stdout=subprocess.DEVNULL, env=env, check=True)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, env=env, check=True)
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)

    return median([sys.executable, "-c", "pass"]), median([MLPIPE, "send", "--help"])


def main() -> int:
    from mlpipe.aws.clients import Clients, Credentials, Target

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = start_server(port, work / "server.log")
        try:
            keys = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
            clients = Clients(Target("local", region="us-east-1", endpoint_url=url, credentials=keys))
            names = clients.names(APP, "dev")
            queue_url = make_deployment(clients, names)
            sqs = clients.client("sqs")
            data = rows(ROWS)
            (work / "rows.csv").write_text(
                "CRIM,ZN,INDUS,CHAS,NOX,RM,AGE,DIS,RAD,TAX,PTRATIO,B,LSTAT\n" + "\n".join(data)
            )
            (work / "mlpipe.yaml").write_text(f"app: {APP}\ntarget: local\n")

            before = server_requests(url)
            started = time.perf_counter()
            naive_loop(url, names.trigger_queue, data)
            naive_s = time.perf_counter() - started
            naive_requests = server_requests(url) - before - 1  # minus the status call itself
            naive_count = depth(sqs, queue_url)
            sqs.purge_queue(QueueUrl=queue_url)

            before = server_requests(url)
            started = time.perf_counter()
            subprocess.run(
                [MLPIPE, "--endpoint-url", url, "send", "--file", "rows.csv"],
                cwd=work,
                check=True,
                stdout=subprocess.DEVNULL,
                env={**os.environ, "NO_COLOR": "1"},
            )
            mlpipe_s = time.perf_counter() - started
            mlpipe_requests = server_requests(url) - before - 1
            mlpipe_count = depth(sqs, queue_url)
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(f"{ROWS} rows, embedded AWS in its own process")
    print(f"  naive loop (SendMessage per row) {naive_s:7.2f} s  {naive_requests:6d} requests  {naive_count} queued")
    print(f"  mlpipe send --file               {mlpipe_s:7.2f} s  {mlpipe_requests:6d} requests  {mlpipe_count} queued")
    print("    (mlpipe's time includes its start-up, config and model checks; its requests include those reads)")
    time_ratio = naive_s / mlpipe_s
    request_ratio = naive_requests / mlpipe_requests
    print(f"wall time: {time_ratio:.1f}x faster (target >= 5x): {'OK' if time_ratio >= 5 else 'MISSED'}")
    print(f"requests:  {request_ratio:.1f}x fewer (target >= 9x): {'OK' if request_ratio >= 9 else 'MISSED'}")
    complete = naive_count == mlpipe_count == ROWS
    print(f"every row queued by both: {'OK' if complete else 'MISSED'}")

    baseline, send_help = help_ms()
    print(
        f"mlpipe send --help: {send_help:.1f} ms median (python -c pass: {baseline:.1f} ms, "
        f"x{send_help / baseline:.2f}); target <= 80 ms: {'OK' if send_help <= 80 else 'MISSED'}"
    )
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
