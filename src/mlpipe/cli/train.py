"""`mlpipe train`: train XGBoost and create or update the SageMaker endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlpipe.cli.context import options

if TYPE_CHECKING:
    from mlpipe.model.data import CsvOptions
    from mlpipe.ops.train import TrainResult

HELP = """Train an XGBoost model and serve it from the stage's SageMaker endpoint.

Loads the CSV (comma, semicolon with decimal comma, tab or pipe; a header row or none; empty, NA,
NaN, ? and null are missing; an unnamed index column is dropped; any column can be the target;
large files go through pyarrow into float32), trains with
early stopping on a reproducible holdout split, packages model.tar.gz for the SageMaker XGBoost
container that matches the installed xgboost, then creates the endpoint or updates it in place
(same name: the Lambda keeps calling it). The previous version is kept: --rollback returns to it.

Examples:

\b
  mlpipe train --data tests/data/boston_train.csv --target 0
  mlpipe train --param max_depth=4 --param eta=0.05 --seed 7
  mlpipe train --data iris.csv --objective multi:softprob   # class names are encoded
  mlpipe train --data sales.csv --delimiter ';' --decimal ,  # (both detected when not given)
  mlpipe train --remote            # a SageMaker training job (instance type/count: training.*)
  mlpipe train --dry-run           # what would be created, read calls only
  mlpipe train --rollback          # serve the previous version again
"""
METRICS_FILE = "mlpipe-metrics.json"
BAR_WIDTH = 40
TOP_FEATURES = 10


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    @app.command("train", help=HELP)
    def train_command(
        ctx: typer.Context,
        data: str | None = typer.Option(None, "--data", "-d", help="CSV file (default: model.data, else bundled)."),
        target: str | None = typer.Option(None, "--target", "-t", help="Target column (default: the last)."),
        param: list[str] = typer.Option(
            [], "--param", "-p", metavar="KEY=VALUE", help="Hyperparameter key=value (repeatable)."
        ),
        seed: int | None = typer.Option(None, "--seed", min=0, help="Seed of the holdout split and training."),
        remote: bool = typer.Option(False, "--remote", help="Train as a SageMaker training job."),
        no_wait: bool = typer.Option(False, "--no-wait", help="Return once the endpoint change is requested."),
        rollback: bool = typer.Option(False, "--rollback", help="Serve the previous version again; no training."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be created; change nothing."),
        objective: str | None = typer.Option(
            None, "--objective", help="reg:squarederror, binary:logistic or multi:softprob (default: model.objective)."
        ),
        delimiter: str | None = typer.Option(None, "--delimiter", help="CSV delimiter: , ; tab or | (detected)."),
        decimal: str | None = typer.Option(None, "--decimal", help="Decimal mark: . or , (detected)."),
        header: bool | None = typer.Option(None, "--header/--no-header", help="First line names the columns."),
        metrics_out: Path | None = typer.Option(
            None, "--metrics-out", help=f"Where to write the metrics JSON (default: {METRICS_FILE} beside mlpipe.yaml)."
        ),
    ) -> None:
        from mlpipe.errors import UsageError

        opts = options(ctx)
        if rollback and (data or target or param or seed is not None or remote):
            raise UsageError("--rollback trains nothing: drop --data/--target/--param/--seed/--remote")
        csv, objective = _read_options(delimiter, decimal, header), _objective(objective)  # before any AWS call
        loaded = opts.load()
        metrics_path = metrics_out or (loaded.path.parent if loaded.path else Path.cwd()) / METRICS_FILE
        if not (rollback or dry_run):
            _check_writable(metrics_path)  # before AWS changes: a new endpoint must not outlive this error
        clients = opts.clients(loaded)
        reporter = opts.reporter()
        if rollback:
            from mlpipe.ops.train import rollback as rollback_use_case

            result = rollback_use_case(loaded.config, clients, reporter, no_wait=no_wait, dry_run=dry_run)
        else:
            from mlpipe.ops.train import TrainRequest, train

            data = data or _config_data_path(loaded.config.model.data, loaded.path)
            request = TrainRequest(
                data, target, tuple(param), seed, remote, no_wait, dry_run, objective=objective, csv=csv
            )
            result = train(loaded.config, clients, reporter, request)
        if result.metrics and not dry_run:
            _write_metrics(metrics_path, result)
        if opts.json:
            from mlpipe.cli.render import print_json

            print_json(result.to_dict())
            return
        _render(result)


def _read_options(delimiter: str | None, decimal: str | None, header: bool | None) -> CsvOptions:
    from mlpipe.model.data import CsvOptions
    from mlpipe.tabular import decimal_option, delimiter_option

    return CsvOptions(delimiter=delimiter_option(delimiter), decimal=decimal_option(decimal), header=header)


def _objective(value: str | None) -> str | None:
    from mlpipe.errors import UsageError
    from mlpipe.model.training import OBJECTIVES

    if value is not None and value not in OBJECTIVES:
        raise UsageError(f"--objective {value}: unknown objective", hint=f"use one of: {', '.join(OBJECTIVES)}")
    return value


def _config_data_path(configured: str | None, config_path: Path | None) -> str | None:
    """model.data in mlpipe.yaml is relative to that file, wherever the command runs."""
    if configured is None or config_path is None or Path(configured).is_absolute():
        return configured
    return str(config_path.parent / configured)


def _check_writable(path: Path) -> None:
    """Open the metrics file for appending (then remove it if it was not there): the real test of
    writability, which a permission check is not (root, ACLs, read-only mounts)."""
    from mlpipe.errors import UsageError

    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot write the metrics: {exc.strerror}; nothing was trained or changed",
            hint="pass --metrics-out PATH (a writable file)",
        ) from None
    if not existed:
        path.unlink(missing_ok=True)


def _write_metrics(path: Path, result: TrainResult) -> None:
    from mlpipe.errors import UsageError

    data = {
        "version": result.version,
        "objective": result.objective,
        "metrics": result.metrics,
        "importances": dict(result.importances),
        "rows": {"total": result.rows, "train": result.train_rows, "validation": result.valid_rows},
        "data": result.data_source,
        "endpoint": result.endpoint,
        **({"labels": result.labels, "confusion": result.confusion} if result.labels else {}),
    }
    try:
        path.write_text(json.dumps(data, indent=2) + "\n")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the metrics: {exc.strerror}", hint="pass --metrics-out PATH") from None


def _render(result: TrainResult) -> None:
    from mlpipe.cli.render import stdout, table

    if result.plan is not None:
        rows = [(c["action"], c["kind"], c["name"], c["detail"]) for c in result.plan["changes"]]
        table("mlpipe train --dry-run: nothing was changed", ["action", "resource", "name", "detail"], rows)
        size = f"{result.rows} rows" if result.rows else "read by the training job"
        stdout.print(f"dataset: {result.data_source} ({size}, {len(result.feature_names)} features)")
        return
    if result.metrics:
        table(
            f"validation metrics ({result.valid_rows} of {result.rows} rows held out)"
            if result.rows
            else f"metrics of training job {result.training_job} (data in S3: no validation channel)",
            ["metric", "value"],
            [(name, f"{value:.5g}") for name, value in result.metrics.items()],
        )
    if result.confusion:
        labels = result.labels
        table(
            "validation confusion (rows: actual, columns: predicted)",
            ["actual", *labels],
            [(label, *map(str, counts)) for label, counts in zip(labels, result.confusion, strict=False)],
        )
    if result.importances:
        stdout.print("top features (total gain)")
        top = result.importances[:TOP_FEATURES]
        largest = top[0][1] or 1.0
        width = max(len(name) for name, _ in top)
        for name, gain in top:
            bar = "█" * max(1, round(BAR_WIDTH * gain / largest))
            stdout.print(f"  {name:<{width}} [cyan]{bar}[/] {gain / largest:.0%}", highlight=False)
    stdout.print(
        f"endpoint [bold]{result.endpoint}[/] {result.action}: version {result.version} ({result.endpoint_status})"
        + (f", previous {result.previous_version} kept for --rollback" if result.previous_version else "")
    )
