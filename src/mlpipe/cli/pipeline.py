"""`mlpipe bootstrap-pipeline` and `mlpipe tail pipeline`: the CI/CD and its runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlpipe.cli.context import options

if TYPE_CHECKING:
    from mlpipe.ops.git_remote import GitRemote
    from mlpipe.ops.pipeline_status import PipelineStatus

BOOTSTRAP_HELP = """Create or update the CI/CD that runs `mlpipe deploy` on every commit: an artifact
bucket holding the build's wheelhouse (this mlpipe's wheel and its dependencies, locked by sha256),
the source (a CodeCommit repository, started by an EventBridge rule on a push, or your
CodeConnections connection), the Lambda role of every pipeline stage, least-privilege build and
pipeline roles, one CodeBuild project per stage (its buildspec installs the wheelhouse with
--require-hashes) and a CodePipeline V2 (Source -> Deploy-<stage> [-> approval -> Deploy-<stage 2>]).
Idempotent: a second run changes nothing. Building a new wheelhouse needs the package index.

Examples:

\b
  mlpipe bootstrap-pipeline --dry-run
  mlpipe bootstrap-pipeline --push
  mlpipe --local --output json bootstrap-pipeline --push
"""

TAIL_HELP = """Show the pipeline's latest runs and the state of each stage and action; for a failed
build, its error, where its log is and its last lines. --follow keeps watching while a run is in
progress.

Examples:

\b
  mlpipe tail pipeline
  mlpipe tail pipeline --follow --max-seconds 600
"""


def _print_remote(remote: GitRemote, sync: tuple[str, ...]) -> None:
    from mlpipe.cli.render import stdout

    stdout.print(f"Git remote: {remote.url} (a push to the tracked branch runs the pipeline)")
    for line in (remote.remote_add, *remote.credential_setup):
        stdout.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)  # copy-pastable
    if sync:
        note = " (commit mlpipe.yaml first; the merge joins what is already there)" if len(sync) > 1 else ""
        stdout.print(f"Then, to push this git repository's history{note}:", markup=False, highlight=False)
        for line in sync:
            stdout.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)


def _in_git_work_tree(directory: Path) -> bool:
    """Whether `directory` is inside a git work tree (a `.git` directory or file there or above)."""
    return any((parent / ".git").exists() for parent in (directory.resolve(), *directory.resolve().parents))


def bootstrap_command(
    ctx: typer.Context,
    push: bool = typer.Option(False, "--push", help="Commit mlpipe.yaml and the handler to the CodeCommit repository."),
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Show the plan; make read calls only."),
) -> None:
    from mlpipe.cli.plan_view import show_plan_outcome
    from mlpipe.cli.render import print_json
    from mlpipe.ops.bootstrap import bootstrap

    opts = options(ctx)
    loaded = opts.load()
    clients = opts.clients(loaded)
    result = bootstrap(
        loaded.config,
        clients,
        opts.reporter(),
        dry_run=dry_run,
        push=push,
        config_path=loaded.path,
    )
    remote = None
    sync: tuple[str, ...] = ()  # in a git repository: the lines that push its history
    if loaded.config.pipeline.source == "codecommit":
        from mlpipe.ops.git_remote import git_remote

        remote = git_remote(clients.target, clients.region, result.names.repository)
        if loaded.project_dir is not None and _in_git_work_tree(loaded.project_dir):
            sync = remote.sync(loaded.config.pipeline.branch, result.branch_has_commits)
    if opts.json:
        found = {"git_remote": {**remote.to_dict(), "sync": list(sync)}} if remote else {}
        print_json({**result.to_dict(), **found})
        return
    show_plan_outcome(
        result.names.pipeline, result.plan, dry_run, "Bootstrapped", "follow runs with `mlpipe tail pipeline`"
    )
    if remote is not None:
        _print_remote(remote, sync)


def tail_pipeline_command(
    ctx: typer.Context,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep watching while a run is in progress."),
    max_seconds: float = typer.Option(900.0, "--max-seconds", min=0, help="Stop following after this long."),
    interval: float = typer.Option(2.0, "--interval", min=0.1, help="Seconds between polls with --follow."),
) -> None:
    from mlpipe.cli.render import print_json
    from mlpipe.errors import NotDeployedError
    from mlpipe.ops.pipeline_status import pipeline_status, watch

    opts = options(ctx)
    loaded = opts.load()
    clients = opts.clients(loaded)
    if follow:
        seen: dict[tuple[str, str], str] = {}
        current = None
        for current in watch(loaded.config, clients, max_seconds, interval):
            if not current.exists:
                break
            if not opts.json:
                _print_transitions(current, seen)
    else:
        current = pipeline_status(loaded.config, clients)
    if current is None or not current.exists:
        raise NotDeployedError(
            f"pipeline {current.pipeline if current else ''} does not exist",
            hint="create it with `mlpipe bootstrap-pipeline --push`",
        )
    if opts.json:
        print_json(current.to_dict())
        return
    _print_status(current)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.command("bootstrap-pipeline", help=BOOTSTRAP_HELP)(bootstrap_command)
    groups["tail"].command("pipeline", help=TAIL_HELP)(tail_pipeline_command)


def _print_transitions(current: PipelineStatus, seen: dict[tuple[str, str], str]) -> None:
    from mlpipe.cli.render import stdout

    for a in current.actions:
        key = (a.stage, a.action)
        if a.status and seen.get(key) != a.status:
            seen[key] = a.status
            stdout.print(f"{a.stage}/{a.action}: {a.status}" + (f" ({a.summary})" if a.summary else ""), markup=False)


def _print_status(current: PipelineStatus) -> None:
    from mlpipe.cli.render import stdout, table

    rows = [(e.execution_id[:8], e.status, e.started, e.trigger, e.revision, e.summary) for e in current.executions]
    table(f"{current.pipeline}: latest runs", ["run", "status", "started", "trigger", "revision", "summary"], rows)
    table(
        "stages of the latest run",
        ["stage", "action", "status", "detail"],
        [(a.stage, a.action, a.status or "-", a.error or a.summary) for a in current.actions],
    )
    for a in current.failing:
        stdout.print(f"{a.stage}/{a.action} failed: {a.error or a.summary}", markup=False)
        if a.log_pointer:
            stdout.print(f"build log: {a.log_pointer}  (aws logs tail {a.log_group} --log-stream-names {a.log_stream})")
        for line in a.log_tail:
            stdout.print(f"  | {line}", markup=False)
    if current.latest is None:
        stdout.print("no run yet: commit to the tracked branch (or `mlpipe bootstrap-pipeline --push`)")
