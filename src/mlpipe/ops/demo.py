"""`mlpipe demo`: the whole mission on the embedded AWS, in one command and well under a minute.

    scratch project (mlpipe.yaml, target: local) -> embedded AWS (started unless running)
    -> train -> deploy -> bootstrap-pipeline --push -> send a few rows and one malformed message
    -> their predictions from the function's logs, the malformed one in the DLQ with its reason
    -> the pipeline's run, `status`, and the commands to do each step by hand (here and on AWS).

It calls the very use cases the commands call; nothing here is demo-only AWS code. Progress goes
to a `DemoListener` (the CLI draws it live on a terminal, as plain lines elsewhere) and to the
Reporter the other use cases already speak.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlpipe.errors import DeliveryError, UsageError
from mlpipe.ops.demo_steps import (
    MALFORMED_PAYLOAD,
    ROWS_FILE,
    await_dlq,
    await_outcomes,
    await_pipeline,
    commands_by_hand,
    commands_on_aws,
)
from mlpipe.reporter import Reporter

if TYPE_CHECKING:
    from mlpipe.aws.clients import EmbeddedAws

DEMO_APP = "demo"
CONFIG_FILE = "mlpipe.yaml"


class ServerControl(Protocol):
    """The embedded AWS as `mlpipe local up/down` manage it (a recorded background process)."""

    def running_url(self) -> str | None:
        """The URL of the recorded, live server; None when none runs."""

    def start(self) -> str:
        """Start it in the background, record it, wait until it answers; its URL."""

    def stop(self) -> None:
        """Stop the recorded server."""


class DemoListener(Protocol):
    def stage(self, name: str) -> None:
        """A stage of the demo starts ('train', 'deploy'...)."""

    def stage_done(self, name: str, summary: str, seconds: float) -> None:
        """It finished; `summary` is one line about what it made."""

    def outcome(self, outcome: RowOutcome) -> None:
        """A message sent by the demo got its final log line (a prediction or a poison reason)."""


@dataclass(frozen=True)
class DemoRequest:
    directory: Path | None = None  # None: a new scratch directory under the system's temp dir
    data: str | None = None  # a user's CSV; None: the bundled dataset
    target: str | None = None
    rows: int = 5
    keep: bool = False
    timeout_s: float = 40.0  # for the predictions, the DLQ and the pipeline run, each


@dataclass
class RowOutcome:
    label: str  # "row 1", ..., "malformed"
    body: str  # the features sent (or the malformed body)
    message_id: str
    actual: float | None = None  # the row's target value in the dataset
    status: str = "pending"  # prediction | poison | pending
    prediction: float | None = None
    reason: str | None = None
    latency_ms: float | None = None


@dataclass
class StageTiming:
    name: str
    seconds: float
    summary: str


@dataclass
class DemoResult:
    directory: Path
    endpoint_url: str
    server_started: bool
    kept: bool
    data_source: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    stages: list[StageTiming] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)
    dlq: list[dict[str, Any]] = field(default_factory=list)  # the malformed message as `tail dlq` shows it
    dlq_depth: int = 0
    pipeline: dict[str, Any] = field(default_factory=dict)  # latest run: status, revision, actions
    status: Any = None  # mlpipe.ops.status.StatusResult
    by_hand: list[tuple[str, str]] = field(default_factory=list)  # (what, command) on the embedded AWS
    on_aws: list[tuple[str, str]] = field(default_factory=list)  # (what, command) against AWS
    seconds: float = 0.0

    @property
    def predictions(self) -> list[RowOutcome]:
        return [o for o in self.outcomes if o.status == "prediction"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "endpoint_url": self.endpoint_url,
            "server_started": self.server_started,
            "kept": self.kept,
            "data_source": self.data_source,
            "metrics": self.metrics,
            "stages": [asdict(s) for s in self.stages],
            "outcomes": [asdict(o) for o in self.outcomes],
            "dlq": self.dlq,
            "dlq_depth": self.dlq_depth,
            "pipeline": self.pipeline,
            "status": self.status.to_dict() if self.status is not None else None,
            "by_hand": [{"what": w, "command": c} for w, c in self.by_hand],
            "on_aws": [{"what": w, "command": c} for w, c in self.on_aws],
            "seconds": round(self.seconds, 2),
        }


def demo_config(data: str | None, target: str | None) -> str:
    """The scratch project's mlpipe.yaml: the defaults, on the embedded AWS."""
    lines = [
        "# Written by `mlpipe demo`. `target: local` = the embedded AWS (`mlpipe local up`).",
        f"app: {DEMO_APP}",
        "target: local",
    ]
    if data or target:
        lines.append("model:")
        if data:
            lines.append(f"  data: {json.dumps(str(Path(data).resolve()))}")
        if target:
            lines.append(f"  target: {json.dumps(target)}")
    return "\n".join(lines) + "\n"


def _project_dir(request: DemoRequest) -> tuple[Path, bool]:
    """The project directory, and whether the demo created it as scratch (removed unless --keep)."""
    if request.directory is None:
        return Path(tempfile.mkdtemp(prefix="mlpipe-demo-")), True
    directory = request.directory.resolve()
    config = directory / CONFIG_FILE
    if config.exists() and DEMO_APP not in _app_line(config):
        raise UsageError(
            f"{config} already exists and is not a demo project; the demo will not overwrite it",
            hint="pass --dir with a new or empty directory, or leave --dir out for a scratch one",
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--dir {directory}: cannot create it: {exc.strerror}") from None
    return directory, False


def _app_line(config: Path) -> str:
    try:
        return next((line for line in config.read_text().splitlines() if line.startswith("app:")), "")
    except OSError:
        return ""


def _check_data(request: DemoRequest) -> Any:
    """Load the dataset before anything starts: a bad --data fails in a second, not after the server."""
    from mlpipe.model.data import load

    if request.rows < 1 or request.rows > 50:
        raise UsageError(f"--rows {request.rows}: must be 1 to 50")
    return load(request.data, request.target)


def sample_rows(dataset: Any, count: int) -> list[tuple[str, float]]:
    """The first `count` complete rows (no missing value) as CSV text, with their target value."""
    out = []
    for features, actual in zip(dataset.features, dataset.target, strict=True):
        values = [float(v) for v in features]
        if all(math.isfinite(v) for v in values):
            # repr: the shortest text that reads back as the same float, so the row sent is the row shown
            out.append((",".join(_number_text(v) for v in values), float(actual)))
        if len(out) == count:
            break
    if not out:
        raise UsageError(f"{dataset.source}: no row without a missing value to send", hint="pass another --data")
    return out


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def run_demo(
    request: DemoRequest,
    server: ServerControl,
    reporter: Reporter,
    listener: DemoListener,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    embedded: EmbeddedAws | None = None,  # finds the recorded server's keys (the CLI's RecordedEmbeddedAws)
) -> DemoResult:
    started_at = clock()
    listener.stage("project")
    dataset = _check_data(request)
    directory, scratch = _project_dir(request)
    config_path = directory / CONFIG_FILE
    config_path.write_text(demo_config(request.data, request.target), encoding="utf-8")
    url = server.running_url()
    started = url is None
    result = DemoResult(directory, url or "", server_started=started, kept=request.keep, data_source=dataset.source)
    summary = f"{directory}: mlpipe.yaml (target: local), {dataset.rows} rows of {dataset.source}"
    result.stages.append(StageTiming("project", round(clock() - started_at, 2), summary))
    listener.stage_done("project", summary, clock() - started_at)
    try:
        with _stage(result, listener, "embedded AWS", clock) as note:
            if started:
                result.endpoint_url = server.start()
                how = f"started at {result.endpoint_url}"
            else:
                how = f"already running at {result.endpoint_url}"
            note(how)
            config, clients = _demo_target(config_path, result.endpoint_url, embedded)
            # An earlier demo's resources (a running server's, or a started one's restored from its saved
            # state after `demo --keep`): start afresh.
            removed = _remove_demo_app(config, clients, reporter)
            if removed:
                note(f"{how}; removed {removed} resource(s) of an earlier demo")
        _run_stages(request, result, config_path, config, clients, dataset, reporter, listener, clock, sleep)
    finally:
        if result.endpoint_url and not request.keep:
            # Also before stopping a server it started: the server saves its state at the stop, and the
            # next `mlpipe local up` would bring the demo's function, mapping and buckets back.
            _cleanup(
                lambda: _remove_demo_app(*_demo_target(config_path, result.endpoint_url, embedded), reporter), reporter
            )
        if started and not request.keep:
            server.stop()
        if scratch and not request.keep:
            shutil.rmtree(directory, ignore_errors=True)
    first_row = result.outcomes[0].body if result.outcomes else None
    result.by_hand = commands_by_hand(directory, request, removed=scratch and not request.keep, first_row=first_row)
    result.on_aws = commands_on_aws(request)
    result.seconds = clock() - started_at
    return result


def _demo_target(config_path: Path, endpoint_url: str, embedded: EmbeddedAws | None) -> tuple[Any, Any]:
    from mlpipe.aws.clients import Clients, resolve_target
    from mlpipe.config import load_config

    # MLPIPE_* variables are ignored: a stray MLPIPE_TARGET=aws must never point the demo at an account.
    config = load_config(config_path, env={}).config
    return config, Clients(resolve_target("local", config.region, None, endpoint_url, embedded=embedded))


def _remove_demo_app(config: Any, clients: Any, reporter: Reporter) -> int:
    """Destroy the demo app (its stage and its CI/CD) on the embedded AWS; how many resources went."""
    from mlpipe.ops.destroy import destroy

    return len(destroy(config, clients, reporter, pipeline=True, force=True).deleted)


def _cleanup(action: Callable[[], object], reporter: Reporter) -> None:
    """Clean-up after the demo must not hide the error that ended it: it warns instead of raising."""
    try:
        action()
    except Exception as exc:  # whatever it is, the error that ended the demo matters more
        reporter.warn(f"could not remove the demo's resources from the embedded AWS: {exc}")


def _run_stages(
    request: DemoRequest,
    result: DemoResult,
    config_path: Path,
    config: Any,
    clients: Any,
    dataset: Any,
    reporter: Reporter,
    listener: DemoListener,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    from mlpipe.ops.bootstrap import bootstrap
    from mlpipe.ops.deploy import deploy
    from mlpipe.ops.status import status
    from mlpipe.ops.train import TrainRequest, train

    with _stage(result, listener, "train", clock) as note:
        trained = train(config, clients, reporter, TrainRequest(data=request.data, target=request.target))
        result.metrics = dict(trained.metrics)
        scores = ", ".join(f"{k} {v:.3g}" for k, v in trained.metrics.items())
        note(f"{trained.rows} rows of {trained.data_source}: {scores}; endpoint {trained.endpoint_status}")
    with _stage(result, listener, "deploy", clock) as note:
        deployed = deploy(config, clients, reporter)
        counts = deployed.plan.summary()
        note(f"{counts['create']} created, {counts['update']} updated; trigger queue {deployed.names.trigger_queue}")
    with _stage(result, listener, "bootstrap-pipeline", clock) as note:
        boot = bootstrap(config, clients, reporter, push=True, config_path=config_path)
        note(f"{boot.names.pipeline}: CodeCommit repository {boot.names.repository}, first commit pushed")
    with _stage(result, listener, "send", clock) as note:
        rows = sample_rows(dataset, request.rows)
        # Kept beside mlpipe.yaml for `mlpipe send --file rows.csv` by hand (--keep).
        (config_path.parent / ROWS_FILE).write_text("".join(r + "\n" for r, _ in rows), encoding="utf-8")
        result.outcomes = _send(config, clients, reporter, rows)
        note(f"{len(result.outcomes) - 1} row(s) and 1 malformed message on the trigger queue")
    with _stage(result, listener, "predictions", clock) as note:
        await_outcomes(config, clients, result.outcomes, listener, request.timeout_s, clock, sleep)
        done = len(result.predictions)
        note(f"{done} of {len(result.outcomes) - 1} prediction(s) in the function's log group")
        if done < len(result.outcomes) - 1:
            raise DeliveryError(
                f"only {done} of {len(result.outcomes) - 1} prediction(s) arrived within {request.timeout_s:g}s",
                hint="run `mlpipe demo --keep`, then `mlpipe tail logs` in the printed directory",
            )
    with _stage(result, listener, "dead-letter queue", clock) as note:
        await_dlq(config, clients, reporter, result, request.timeout_s, clock, sleep)
        reason = result.dlq[0]["reason"] if result.dlq else "not there yet"
        note(f"the malformed message: {reason}")
    with _stage(result, listener, "pipeline run", clock) as note:
        result.pipeline = await_pipeline(config, clients, request.timeout_s, clock, sleep)
        note(f"{result.pipeline.get('pipeline')}: {result.pipeline.get('status', 'no run yet')}")
    with _stage(result, listener, "status", clock) as note:
        result.status = status(config, clients)
        resources = result.status.every_resource
        in_sync = sum(r.state == "in sync" for r in resources)
        note(f"{in_sync} of {len(resources)} resources in sync; endpoint {result.status.endpoint_status}")


@contextmanager
def _stage(
    result: DemoResult, listener: DemoListener, name: str, clock: Callable[[], float]
) -> Iterator[Callable[[str], None]]:
    summary = [""]
    begun = clock()
    listener.stage(name)

    def note(text: str) -> None:
        summary[0] = text

    yield note
    seconds = clock() - begun
    result.stages.append(StageTiming(name, round(seconds, 2), summary[0]))
    listener.stage_done(name, summary[0], seconds)


def _send(config: Any, clients: Any, reporter: Reporter, rows: list[tuple[str, float]]) -> list[RowOutcome]:
    """The rows (checked against the model like `mlpipe send --file`), then one malformed body as is
    (unchecked, like `send --no-validate`)."""
    from mlpipe.ops.send import SendInput, send

    sent = send(config, clients, reporter, SendInput(text="\n".join(r for r, _ in rows), source="demo rows"))
    ids = list(sent.message_ids.values())
    outcomes = [RowOutcome(f"row {i + 1}", row, ids[i], actual=actual) for i, (row, actual) in enumerate(rows)]
    body = json.dumps({"payload": MALFORMED_PAYLOAD})
    # send refuses what the function would dead-letter: --no-validate lets the demo's one through.
    bad = send(config, clients, reporter, SendInput(json_body=body, source="--json", validate=False))
    outcomes.append(RowOutcome("malformed", body, next(iter(bad.message_ids.values()))))
    return outcomes
