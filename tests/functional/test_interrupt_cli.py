"""Ctrl-C (a real SIGINT to a real `mlpipe` process) at a known point of its work, against the
embedded AWS: one line (or the JSON envelope) saying how far it got and what to run, exit 130, no
traceback, nothing half-made, and the command run again finishes the work."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from interrupt_helpers import Mlpipe, envelope, hold, release, wait_held
from send_helpers import deployment, depth

from conftest import BOSTON_CSV
from mlpipe.aws.clients import Clients
from mlpipe.cli.app import run


@pytest.fixture(autouse=True)
def _short_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded AWS keeps a new function Pending for a while; deploy waits either way, so keep it short here."""
    monkeypatch.setenv("MLPIPE_LOCAL_PENDING_SECONDS", "0.1")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoint_url: str) -> list[str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlpipe.yaml").write_text("app: halt\ntarget: local\n")
    return ["--endpoint-url", endpoint_url]


@pytest.fixture
def processes(endpoint_url: str) -> Iterator[list[Mlpipe]]:
    """Processes a test starts: killed, and held calls let go, whatever the test's outcome."""
    started: list[Mlpipe] = []
    yield started
    release(endpoint_url)
    for process in started:
        process.kill()


def _plan(project: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    """`kind name` of each change a deploy would make now, in order."""
    assert run([*project, "-o", "json", "deploy", "--dry-run"]) == 0
    changes = json.loads(capsys.readouterr().out)["plan"]["changes"]
    return [f"{c['kind']} {c['name']}" for c in changes if c["action"] != "noop"]


def _rerun_hint(argv: list[str]) -> str:
    command = shlex.join(["mlpipe", *argv])
    return f"run `{command}` again to finish: it is idempotent and continues where this run stopped"


def test_ctrl_c_during_deploy_lets_the_call_in_flight_finish_and_says_how_far_it_got(
    project: list[str], tmp_path: Path, endpoint_url: str, clients: Clients, processes: list[Mlpipe], capsys
) -> None:  # type: ignore[no-untyped-def]
    planned = _plan(project, capsys)
    names = clients.names("halt", "dev")
    function = planned.index(f"lambda-function {names.function}")
    hold(endpoint_url, "lambda", "CreateFunction")
    argv = [*project, "-o", "json", "deploy"]
    deploy = Mlpipe(argv, tmp_path)
    processes.append(deploy)
    wait_held(endpoint_url, "lambda", "CreateFunction")  # the call is at the server

    deploy.interrupt()
    deploy.expect(f"Ctrl-C: finishing create lambda-function {names.function} first")
    release(endpoint_url)  # CreateFunction answers; the change ends (the function becomes Active)
    code, out, err = deploy.finish()

    assert code == 130 and out == "", err
    assert "Traceback" not in err
    assert envelope(err) == {
        "code": "Interrupted",
        "message": f"interrupted after {function + 1} of {len(planned)} planned change(s)",
        "hint": _rerun_hint(argv),
        "exit_code": 130,
    }
    fn = clients.client("lambda").get_function(FunctionName=names.function)
    assert fn["Configuration"]["State"] == "Active" and fn["Tags"]["mlpipe:app"] == "halt"  # whole, and ours
    assert _plan(project, capsys) == planned[function + 1 :]  # nothing after it was started

    assert run([*project, "deploy"]) == 0  # the hint's command finishes the work
    capsys.readouterr()
    assert _plan(project, capsys) == []


def test_a_second_ctrl_c_stops_at_once_and_deploy_again_finishes(
    project: list[str], tmp_path: Path, endpoint_url: str, clients: Clients, processes: list[Mlpipe], capsys
) -> None:  # type: ignore[no-untyped-def]
    planned = _plan(project, capsys)
    names = clients.names("halt", "dev")
    function = planned.index(f"lambda-function {names.function}")
    hold(endpoint_url, "lambda", "GetFunctionConfiguration")  # deploy's wait for the new function
    argv = [*project, "deploy"]
    deploy = Mlpipe(argv, tmp_path)
    processes.append(deploy)
    wait_held(endpoint_url, "lambda", "GetFunctionConfiguration")

    deploy.interrupt()
    deploy.expect("Warning: Ctrl-C: finishing create lambda-function")
    deploy.interrupt()  # the user does not want to wait
    code, out, err = deploy.finish()

    assert code == 130 and out == "" and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"Interrupted after {function} of {len(planned)} planned change(s); create lambda-function "
        f"{names.function} was cut short (running again completes it); {_rerun_hint(argv)}"
    )
    release(endpoint_url)
    assert run([*project, "deploy"]) == 0
    capsys.readouterr()
    assert _plan(project, capsys) == []


def test_ctrl_c_while_deploy_reads_what_exists_changes_nothing_and_says_so(
    project: list[str], tmp_path: Path, endpoint_url: str, clients: Clients, processes: list[Mlpipe]
) -> None:
    hold(endpoint_url, "sqs", "GetQueueUrl")  # deploy's first look at its queues, before any change
    deploy = Mlpipe([*project, "deploy"], tmp_path)
    processes.append(deploy)
    wait_held(endpoint_url, "sqs", "GetQueueUrl")

    deploy.interrupt()  # no change in flight: stops at once
    code, out, err = deploy.finish()

    assert code == 130 and out == "" and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "Interrupted while reading what exists, before any change: nothing was changed"
    )
    assert clients.client("sqs").list_queues().get("QueueUrls", []) == []


def test_ctrl_c_during_destroy_finishes_the_deletion_in_flight_and_destroy_again_finishes(
    project: list[str], tmp_path: Path, endpoint_url: str, clients: Clients, processes: list[Mlpipe], capsys
) -> None:  # type: ignore[no-untyped-def]
    assert run([*project, "deploy"]) == 0
    capsys.readouterr()
    assert run([*project, "-o", "json", "destroy", "--dry-run"]) == 0
    changes = json.loads(capsys.readouterr().out)["plan"]["changes"]
    planned = [f"{c['kind']} {c['name']}" for c in changes if c["action"] == "delete"]
    queue = next(i for i, change in enumerate(planned) if change.startswith("sqs-queue "))
    hold(endpoint_url, "sqs", "DeleteQueue")
    argv = [*project, "destroy", "--yes"]
    destroy = Mlpipe(argv, tmp_path)
    processes.append(destroy)
    wait_held(endpoint_url, "sqs", "DeleteQueue")

    destroy.interrupt()
    destroy.expect(f"Warning: Ctrl-C: finishing delete {planned[queue]} first")
    release(endpoint_url)
    code, out, err = destroy.finish()

    assert code == 130 and out == "" and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"Interrupted after {queue + 1} of {len(planned)} planned change(s); {_rerun_hint(argv)}"
    )
    assert run(argv) == 0
    capsys.readouterr()
    assert run([*project, "destroy", "--yes"]) == 0
    assert "nothing to destroy" in capsys.readouterr().out


def test_ctrl_c_in_any_other_command_is_one_line_naming_it(
    project: list[str], tmp_path: Path, endpoint_url: str, processes: list[Mlpipe]
) -> None:
    hold(endpoint_url, "sqs", "GetQueueUrl")  # status reads the queues
    status = Mlpipe([*project, "-o", "json", "status"], tmp_path)
    processes.append(status)
    wait_held(endpoint_url, "sqs", "GetQueueUrl")

    status.interrupt()
    code, out, err = status.finish()

    assert code == 130 and out == "" and "Traceback" not in err
    assert envelope(err) == {
        "code": "Interrupted",
        "message": "interrupted before `mlpipe status` finished",
        "hint": None,
        "exit_code": 130,
    }


ROWS = 300  # 30 SendMessageBatch calls of 10


def test_ctrl_c_during_send_says_which_lines_were_sent_and_which_not(
    project: list[str], tmp_path: Path, endpoint_url: str, clients: Clients, processes: list[Mlpipe]
) -> None:
    _, names = deployment(clients, app="halt")
    (tmp_path / "rows.csv").write_text("".join(f"{i},2,3\n" for i in range(ROWS)))
    # 5 calls go through, the next 4 (one per worker) are held: 9 calls, 90 rows sent in all.
    hold(endpoint_url, "sqs", "SendMessageBatch", after=5)
    argv = [*project, "-o", "json", "send", "--file", "rows.csv", "--workers", "4"]
    send = Mlpipe(argv, tmp_path)
    processes.append(send)
    wait_held(endpoint_url, "sqs", "SendMessageBatch", held=4)

    send.interrupt()
    send.expect("Ctrl-C: finishing the SendMessageBatch calls in flight")
    release(endpoint_url)
    code, out, err = send.finish()

    assert code == 130 and out == "" and "Traceback" not in err
    assert envelope(err) == {
        "code": "Interrupted",
        "message": f"interrupted: 90 of {ROWS} message(s) sent (rows.csv line(s) 1-90); "
        f"rows.csv line(s) 91-{ROWS} not sent",
        "hint": "the sent lines are on the queue: resend only the lines not sent",
        "exit_code": 130,
    }
    assert depth(clients, names.trigger_queue) == 90


def test_ctrl_c_while_send_waits_for_results_says_everything_was_sent(
    project: list[str], tmp_path: Path, endpoint_url: str, clients: Clients, processes: list[Mlpipe]
) -> None:
    _, names = deployment(clients, app="halt")
    hold(endpoint_url, "logs", "FilterLogEvents")  # --wait looks for the results in the function's log
    send = Mlpipe([*project, "send", "--payload", "1,2,3", "--wait", "--timeout", "300"], tmp_path)
    processes.append(send)
    wait_held(endpoint_url, "logs", "FilterLogEvents")

    send.interrupt()
    code, out, err = send.finish()

    assert code == 130 and out == "" and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "Interrupted while waiting for results: all 1 message(s) (1 row(s)) were sent and are being processed; "
        "`mlpipe tail logs` shows the predictions, `mlpipe tail dlq` what failed"
    )
    assert depth(clients, names.trigger_queue) == 1


def test_ctrl_c_while_following_a_remote_training_job_stops_the_job(
    project: list[str],
    tmp_path: Path,
    endpoint_url: str,
    clients: Clients,
    processes: list[Mlpipe],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLPIPE_LOCAL_TRAINING_SECONDS", "600")  # the embedded job runs until stopped
    hold(endpoint_url, "logs", "FilterLogEvents")  # train follows its running job's log
    argv = [*project, "-o", "json", "train", "--data", str(BOSTON_CSV), "--target", "0", "--remote"]
    train = Mlpipe(argv, tmp_path)
    processes.append(train)
    wait_held(endpoint_url, "logs", "FilterLogEvents")

    train.interrupt()
    code, out, err = train.finish()

    sm = clients.client("sagemaker")
    (job,) = sm.list_training_jobs()["TrainingJobSummaries"]
    name = job["TrainingJobName"]
    assert code == 130 and out == "" and "Traceback" not in err
    assert envelope(err) == {
        "code": "Interrupted",
        "message": f"interrupted: training job {name} stopped (StopTrainingJob)",
        "hint": "run `mlpipe train --remote` again to train anew",
        "exit_code": 130,
    }
    assert sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "Stopped"
    assert "Endpoints" not in sm.list_endpoints() or sm.list_endpoints()["Endpoints"] == []  # nothing deployed
