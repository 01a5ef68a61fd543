"""`mlpipe local up | down | status | logs`: the embedded AWS on this machine."""

from __future__ import annotations

import math
import re
from typing import Any

import typer

from mlpipe.cli.context import options
from mlpipe.local.state import DEFAULT_PORT


def _iam_settings(opts: Any, operator_policy: str | None, no_iam: bool) -> None:
    """The server reads its IAM settings from its environment (the background server inherits ours)."""
    import os

    from mlpipe.cache import cache_dir
    from mlpipe.local.iam.operator_setting import operator_environment

    if operator_policy is None and not no_iam:
        return
    region = opts.region or None

    def config() -> Any:
        return opts.load().config

    env = operator_environment(operator_policy, not no_iam, config, region, cache_dir())
    os.environ.update(env if no_iam else {k: v for k, v in env.items() if k != "MLPIPE_LOCAL_IAM"})


def up(
    ctx: typer.Context,
    port: int | None = typer.Option(
        None, "--port", "-p", help=f"Port to listen on (default {DEFAULT_PORT}; 0: any free port)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback only by default)."),
    expose_on_network: bool = typer.Option(
        False,
        "--expose-on-network",
        help="Allow a --host other than loopback: any machine that can reach it and has the server's "
        "keys (`mlpipe local env`) may use it, over plain HTTP.",
    ),
    foreground: bool = typer.Option(False, "--foreground", help="Serve in this terminal (Ctrl-C stops)."),
    verbose: bool = typer.Option(False, "--verbose", help="Log every request (with --foreground)."),
    operator_policy: str | None = typer.Option(
        None,
        "--operator-policy",
        help="What the CLI's own calls may do: full (default), iam-policy (exactly what `mlpipe iam-policy` "
        "prints for this mlpipe.yaml, both parts; iam-policy:operator or iam-policy:admin for one): rehearse "
        "a least-privilege user; or a JSON policy file.",
    ),
    no_iam: bool = typer.Option(
        False, "--no-iam", help="Do not enforce IAM (for debugging; MLPIPE_LOCAL_IAM=off does the same)."
    ),
) -> None:
    """Start the embedded AWS in the background.

    Example: mlpipe local up && mlpipe --local deploy
    """
    from mlpipe.cli.render import print_json, stderr
    from mlpipe.local import control

    opts = options(ctx)
    _iam_settings(opts, operator_policy, no_iam)
    if foreground:
        control.check_listen_address(host, port, expose_on_network)
        stderr.print(f"Embedded AWS on http://{host}:{port if port is not None else DEFAULT_PORT} (Ctrl-C to stop)")
        control.run_foreground(port, host, verbose, expose_on_network)
        return
    result = control.start_background(port, host, expose_on_network)
    state = result.state
    if opts.json:
        already = result.already_running
        print_json({"endpoint_url": state.endpoint_url, "pid": state.pid, "already_running": already})
    elif result.already_running:
        stderr.print(f"Already running at {state.endpoint_url} (pid {state.pid}).")
        if operator_policy is not None or no_iam:
            stderr.print("  Its IAM settings are unchanged: `mlpipe local down` first to start it with new ones.")
    else:
        stderr.print(f"[green]✓[/] Embedded AWS running at {state.endpoint_url} (pid {state.pid}).")
        stderr.print("  Use it with --local (or target: local in mlpipe.yaml); stop it with `mlpipe local down`.")
        stderr.print('  Other tools (aws CLI, boto3): eval "$(mlpipe local env)"')


def env(ctx: typer.Context) -> None:
    """Print the shell lines that point the aws CLI and boto3 at the running embedded AWS.

    Example: eval "$(mlpipe local env)" && aws sqs list-queues
    """
    from mlpipe.cli.render import print_json
    from mlpipe.errors import AwsTargetError
    from mlpipe.local.state import read_state

    state = read_state()
    if state is None:
        raise AwsTargetError("the embedded AWS is not running", hint="start it with `mlpipe local up`")
    variables = {
        "AWS_ENDPOINT_URL": state.endpoint_url,
        "AWS_ACCESS_KEY_ID": state.access_key_id,
        "AWS_SECRET_ACCESS_KEY": state.secret_access_key,
        "AWS_DEFAULT_REGION": options(ctx).region or "us-east-1",
    }
    if options(ctx).json:
        print_json(variables)
        return
    import shlex

    for name, value in variables.items():
        print(f"export {name}={shlex.quote(value)}")
    # Profiles and session tokens of real AWS would override or spoil these keys.
    print("unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN")
    print("# aws CLI v1 ignores AWS_ENDPOINT_URL for sqs (aws/aws-cli#8737):")
    print('#   aws --endpoint-url "$AWS_ENDPOINT_URL" sqs ...')


def down(ctx: typer.Context) -> None:
    """Stop the embedded AWS. Its state is kept: `mlpipe local up` brings it back (`local reset` empties it).

    Example: mlpipe local down
    """
    from mlpipe.cli.render import print_json, stderr
    from mlpipe.local import control

    stopped = control.stop()
    if options(ctx).json:
        print_json({"stopped": stopped is not None, "pid": stopped.pid if stopped else None})
    elif stopped is None:
        stderr.print("The embedded AWS is not running.")
    else:
        stderr.print(f"[green]✓[/] Stopped the embedded AWS (pid {stopped.pid}).")


def reset(ctx: typer.Context) -> None:
    """Empty the embedded AWS: every resource, object, queued message, log and repository.

    Works on the running server and on the state a stopped one keeps for its next start.

    Example: mlpipe local reset
    """
    from mlpipe.cli.render import print_json, stderr
    from mlpipe.local import control

    what = control.reset()
    if options(ctx).json:
        print_json({"reset": what})
    elif what == "running":
        stderr.print("[green]✓[/] Emptied the running embedded AWS.")
    elif what == "snapshot":
        stderr.print("[green]✓[/] Deleted the kept state: the next `mlpipe local up` starts empty.")
    else:
        stderr.print("Nothing to reset: no server running and no kept state.")


def git_credential(action: str = typer.Argument("get", help="git's credential action: get, store, erase.")) -> None:
    """git's credential helper for the embedded CodeCommit (configure it as `bootstrap-pipeline` prints).

    Example: git config credential.http://127.0.0.1:4599.helper '!mlpipe local git-credential'
    """
    import sys

    from mlpipe.local.gitcred import answer
    from mlpipe.local.state import read_state

    request = sys.stdin.read() if action == "get" else ""
    sys.stdout.write(answer(action, request, read_state()))


MAPPING_COLUMNS = [
    "function", "queue", "batch", "enabled", "invocations", "processed", "failed", "logs dropped", "last error",
]  # fmt: skip


def _mappings_table(mappings: list[dict[str, Any]]) -> None:
    from mlpipe.cli.render import table

    rows = [
        [
            m["function"],
            m["queue_arn"].rsplit(":", 1)[-1],
            m["batch_size"],
            "yes" if m["enabled"] else "no",
            m["invocations"],
            m["processed"],
            m["failed"],
            m.get("logs_dropped", 0),  # invocations whose log lines the execution role may not write
            m["last_error"] or "",
        ]
        for m in mappings
    ]
    table("Lambda event source mappings", MAPPING_COLUMNS, rows)


def _sandbox_text(sandbox: dict[str, Any]) -> str:
    from dataclasses import replace

    from mlpipe.local.lambda_confine import SandboxState

    state = SandboxState(bool(sandbox["sandboxed"]), int(sandbox["landlock_abi"]), str(sandbox["reason"]))
    return replace(state, unix_sockets_blocked=bool(sandbox.get("unix_sockets_blocked"))).describe()


def status(ctx: typer.Context) -> None:
    """Show the server, the queue mappings its mapping runner polls, messages processed/failed.

    Example: mlpipe local status
    """
    from mlpipe.cli.render import print_json, stdout
    from mlpipe.local import control

    data = control.status()
    if options(ctx).json:
        print_json(data)
        return
    server = data["server"]
    stdout.print(
        f"Embedded AWS at {server['endpoint_url']} (pid {server['pid']}), up {server['uptime_seconds']} s, "
        f"{server['requests']} requests; log: {server.get('log_file') or '-'}"
    )
    mappings = data.get("mappings", [])
    if mappings:
        _mappings_table(mappings)
    else:
        stdout.print("No event source mappings yet (deploy with `mlpipe --local deploy`).")
    stdout.print(f"Messages processed: {data.get('processed', 0)}, failed: {data.get('failed', 0)}")
    if "lambda_sandbox" in data:
        stdout.print(f"Function code: {_sandbox_text(data['lambda_sandbox'])}", markup=False)
    kept = data.get("persistence")
    if kept:
        restored = f"restored {kept['restored']['bytes']:,} bytes at start" if kept["restored"] else "started empty"
        stdout.print(
            f"State kept in {kept['path']} ({kept['snapshots']} snapshot(s), last {kept['last_bytes']:,} bytes; "
            f"{restored}){'; SNAPSHOT FAILING: ' + kept['error'] if kept.get('error') else ''}",
            markup=False,
        )
    for fault in data.get("faults", []):
        stdout.print(
            f"Fault: {fault['service']}.{fault['operation']} fails {fault['rate']:.0%} with {fault['error']} "
            f"({fault['injected']}/{fault['calls']} calls)"
        )


def logs(
    ctx: typer.Context,
    lines: int = typer.Option(50, "--lines", "-n", help="How many of the last lines to show."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
) -> None:
    """Show the embedded AWS's own log: start-up, warnings and errors (not each request). With
    -o json, one JSON object per line (as `tail logs`): {"time", "logger", "level", "message"}, or
    {"message"} for a line of another shape.

    Example: mlpipe local logs -f
    """
    from mlpipe.errors import UsageError
    from mlpipe.local.control import log_file
    from mlpipe.waiting import Poll

    path = log_file()
    if not path.exists():
        raise UsageError(f"no log at {path}", hint="start the server with `mlpipe local up`")
    show = _log_json if options(ctx).json else _log_text
    with path.open(errors="replace") as f:
        for line in f.readlines()[-lines:]:
            show(line.rstrip("\n"))
        if not follow:
            return
        for _ in Poll(math.inf, 0.3):  # until Ctrl-C: whatever was appended, then a pause
            for line in iter(f.readline, ""):
                show(line.rstrip("\n"))


def _log_text(line: str) -> None:
    from mlpipe.cli.render import stdout

    stdout.print(line, markup=False, highlight=False)


# local/control.py's logging format: "%(asctime)s %(name)s %(levelname)s %(message)s"
_LOG_LINE = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (\S+) ([A-Z]+) (.*)")


def _log_json(line: str) -> None:
    import json
    import sys

    found = _LOG_LINE.fullmatch(line)
    record = (
        dict(zip(("time", "logger", "level", "message"), found.groups(), strict=True)) if found else {"message": line}
    )
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    local = groups["local"]
    local.command("up")(up)
    local.command("env")(env)
    local.command("down")(down)
    local.command("reset")(reset)
    local.command("git-credential", hidden=True)(git_credential)
    local.command("status")(status)
    local.command("logs")(logs)
