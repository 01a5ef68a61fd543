"""The bad-input battery's machinery, shared by tests/cli/test_bad_inputs*.py.

A case is data: a project (mlpipe.yaml and other files), an environment, a command line, and what
the error must name. Each case runs twice in this process against the one embedded AWS: as typed
(one `Error:` line, an optional `Hint:` line, no traceback) and with `-o json` appended after the
subcommand (one JSON object on stderr: code, message, hint, exit_code). Both must exit non-zero with
the expected code and leave the embedded AWS as they found it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mlpipe.aws.clients import Clients
from mlpipe.cli.app import run

GOOD = "app: shop\n"


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    expect: str | tuple[str, ...]  # fragment(s) of the error line: the key, the value, the fix
    code: int
    yaml: str | None = GOOD  # mlpipe.yaml; None: no file
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str | bytes] = field(default_factory=dict)  # more files in the project directory
    deployed: bool = False  # queues and a model (3 features) exist before the command
    local: bool = True  # --endpoint-url <the embedded AWS> in front of argv
    json: bool = True  # also run with `-o json` appended

    @property
    def fragments(self) -> tuple[str, ...]:
        return (self.expect,) if isinstance(self.expect, str) else self.expect


def deployment(clients: Clients) -> None:
    """What `send`, `tail dlq` and `redrive` need of shop/dev: the queues, and a model of 3 features."""
    import json as json_module

    from mlpipe.ops import model_store

    names = clients.names("shop", "dev")
    sqs = clients.client("sqs")
    dlq_url = sqs.create_queue(QueueName=names.dlq, tags=names.tags)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json_module.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    sqs.create_queue(QueueName=names.trigger_queue, Attributes={"RedrivePolicy": redrive}, tags=names.tags)
    clients.client("s3").create_bucket(Bucket=names.model_bucket)
    model_store.write_current(clients, names, {"version": "v1", "feature_count": 3})


def inventory(clients: Clients) -> list[str]:
    """Everything the server holds, across the services mlpipe touches."""
    out = list(clients.client("sqs").list_queues().get("QueueUrls", []))
    for url in out[:]:
        attrs = clients.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        out.append(f"{url} holds {attrs['Attributes']['ApproximateNumberOfMessages']}")
    out += [f["FunctionName"] for f in clients.client("lambda").list_functions()["Functions"]]
    out += [r["RoleName"] for r in clients.client("iam").list_roles()["Roles"]]
    out += [g["logGroupName"] for g in clients.client("logs").describe_log_groups()["logGroups"]]
    out += [a["AlarmName"] for a in clients.client("cloudwatch").describe_alarms()["MetricAlarms"]]
    out += [b["Name"] for b in clients.client("s3").list_buckets()["Buckets"]]
    out += [e["EndpointName"] for e in clients.client("sagemaker").list_endpoints()["Endpoints"]]
    out += [r["repositoryName"] for r in clients.client("codecommit").list_repositories()["repositories"]]
    return sorted(out)


def check_text(code: int, err: str, case: Case) -> None:
    assert code == case.code, f"exit {code}, expected {case.code}: {err}"
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if not line.startswith("Warning:")]
    assert lines and lines[0].startswith("Error: "), err
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("Hint: ")), err
    text = " ".join(lines)
    for fragment in case.fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"


def check_json(code: int, out: str, err: str, case: Case) -> None:
    assert code == case.code, f"exit {code}, expected {case.code}: {err}"
    objects = [json.loads(line) for line in err.strip().splitlines()]
    errors = [o for o in objects if "warning" not in o]
    assert len(errors) == 1, err
    (envelope,) = errors
    assert list(envelope) == ["code", "message", "hint", "exit_code"] and envelope["exit_code"] == case.code, err
    text = " ".join(str(envelope[k] or "") for k in ("message", "hint"))
    for fragment in case.fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    assert out == "", out


def run_case(
    case: Case,
    clients: Clients,
    endpoint_url: str,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    deploy: Callable[[Clients], Any] = deployment,
    places: dict[str, str] | None = None,
) -> None:
    """`places`: more {name} placeholders for argv and env values (a URL only known at run time)."""
    values = {"project": str(project), "endpoint": endpoint_url, **(places or {})}

    def fill(text: str) -> str:
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return text

    monkeypatch.chdir(project)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    if case.yaml is not None:
        (project / "mlpipe.yaml").write_text(case.yaml)
    for name, content in case.files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (project / name).write_bytes(content)
        else:
            (project / name).write_text(content)
    if case.deployed:
        deploy(clients)
    before = inventory(clients)  # before the case's environment, which may break this client too
    prefix = ["--endpoint-url", endpoint_url] if case.local else []
    argv = [fill(a) for a in case.argv]
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as environment:
        if not case.local and "--endpoint-url" not in case.argv:  # on AWS: not the keys `endpoint_url` exported
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                environment.delenv(name, raising=False)
        for name, value in case.env.items():
            environment.setenv(name, fill(value))
        code = run([*prefix, *argv])
        check_text(code, capsys.readouterr().err, case)
        if case.json:
            code = run([*prefix, *argv, "-o", "json"])
            captured = capsys.readouterr()
            check_json(code, captured.out, captured.err, case)
    assert inventory(clients) == before
