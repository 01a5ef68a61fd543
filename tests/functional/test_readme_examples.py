"""The README's examples are real output: the command tour is run against the embedded AWS and
every line the README shows (elided lines, marked `…`, aside) must be one the command printed, up to
the numbers, ids and times that change from run to run. The demo's block is checked the same way in
tests/functional/test_demo.py. Run this file with README_TOUR_PRINT=1 to print the real output."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from conftest import BOSTON_CSV, REPO
from mlpipe.cli.app import run

README = REPO / "README.md"
SKIPPED = {"local up", "local down"}  # the tests' server is already running


def normalize(line: str) -> str:
    """A line up to what changes between runs: numbers, ids, times, paths, widths of columns."""
    line = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "ID", line)
    line = re.sub(r"\b(?=[0-9a-f]*\d)[0-9a-f]{7,}\b", "0", line)  # commit and other hex ids
    line = re.sub(r"/tmp/\S+", "/tmp/P", line)  # scratch directories
    line = re.sub(r"\d+", "0", line)
    line = re.sub(r"0(?:[.:,/-]0)+", "0", line)  # times, dates, versions, decimals
    return " ".join(line.split())


def shown_lines(block: str) -> list[str]:
    """The lines of a README console block that must be real: not elided (…), not a comment."""
    return [line for line in block.splitlines() if line.strip() and "…" not in line and not line.startswith("#")]


def tour_blocks(text: str) -> list[tuple[str, str]]:
    """(command, its README output) for each `$ mlpipe ...` of the command tour."""
    tour = text[text.index("## Command tour") :]
    tour = tour[: tour.index("\n## ", 5)]
    out = []
    for block in re.findall(r"```console\n(.*?)```", tour, re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            out.append((command.strip(), output))
    return out


def test_the_tour_is_parsed() -> None:
    commands = [c for c, _ in tour_blocks(README.read_text(encoding="utf-8"))]
    assert commands[:3] == ["mlpipe local up", "mlpipe init", "mlpipe train --data boston_train.csv --target 0"]
    assert "mlpipe deploy --dry-run" in commands and "mlpipe status" in commands
    assert normalize("│ 12:04:05.123  rmse 3.257 (87 ms) 2344c581-4779-4d57-95ea-321535e0c758 ab12cd34") == (
        "│ 0 rmse 0 (0 ms) ID 0"
    )


def test_the_command_tour_shows_real_output(
    endpoint_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "house-prices"
    project.mkdir()
    shutil.copy(BOSTON_CSV, project / "boston_train.csv")
    monkeypatch.chdir(project)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint_url)
    monkeypatch.setenv("MLPIPE_LOCAL_PENDING_SECONDS", "0.1")
    missing: list[str] = []
    for command, shown in tour_blocks(README.read_text(encoding="utf-8")):
        argv = shlex.split(command.split(" > ")[0])[1:]
        if " ".join(argv) in SKIPPED:
            continue
        _wait_for_what_the_tour_shows(argv, endpoint_url)
        capsys.readouterr()
        code = run(argv)
        captured = capsys.readouterr()
        real = captured.err + captured.out
        if os.environ.get("README_TOUR_PRINT"):
            print(f"$ {command}\n{real}", file=os.sys.__stdout__)  # type: ignore[attr-defined]
        fails = any(line.startswith("Error:") for line in shown.splitlines())  # the tour shows an error
        assert (code != 0) == fails, f"{command}: exit {code}: {real}"
        if argv == ["init"]:  # as the tour says: target: local (the server is AWS_ENDPOINT_URL)
            config = project / "mlpipe.yaml"
            config.write_text(config.read_text().replace("\ntarget: aws ", "\ntarget: local", 1))
            continue
        if argv == ["bootstrap-pipeline", "--push"]:  # the tour shows the run once it ended
            from pipeline_support import wait_for_run

            from mlpipe.aws.clients import Clients, Target

            clients = Clients(Target("local", region="us-east-1", endpoint_url=endpoint_url))
            wait_for_run(clients, "house-prices-pipeline", 1)
        got = {normalize(line) for line in real.splitlines()}
        missing += [f"{command}: {line}" for line in shown_lines(shown) if normalize(line) not in got]
    assert not missing, "README lines no real run printed:\n" + "\n".join(missing)


def _wait_for_what_the_tour_shows(argv: list[str], endpoint_url: str) -> None:
    """The tour's `tail` commands show what the function and the alarms did after the sends: the
    function handles messages and the alarms evaluate asynchronously, so wait for those events."""
    if argv[:1] != ["tail"] or argv[1:2] not in (["logs"], ["alarms"]):
        return
    from local_helpers import wait_for

    from mlpipe.aws.clients import Clients, Target

    clients = Clients(Target("local", region="us-east-1", endpoint_url=endpoint_url))
    if argv[1] == "logs":  # the poison message has been logged and moved to the DLQ
        sqs = clients.client("sqs")
        url = sqs.get_queue_url(QueueName="house-prices-dev-dlq")["QueueUrl"]

        def dead_lettered() -> bool:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            return int(attributes["Attributes"]["ApproximateNumberOfMessages"]) >= 1

        wait_for(dead_lettered, 60, "the tour's malformed message in the dead-letter queue")
    else:  # the DLQ alarm has gone off and notified
        cloudwatch = clients.client("cloudwatch")

        def alarmed() -> bool:
            alarms = cloudwatch.describe_alarms(AlarmNames=["house-prices-dev-dlq-not-empty"])["MetricAlarms"]
            return bool(alarms) and alarms[0]["StateValue"] == "ALARM"

        wait_for(alarmed, 90, "the tour's DLQ alarm in ALARM")
