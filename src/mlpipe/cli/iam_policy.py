"""`mlpipe iam-policy`: the IAM policy the user running mlpipe needs, scoped to this app's ARNs."""

from __future__ import annotations

import typer

from mlpipe.cli.context import options

HELP = """Print the least-privilege IAM policy (JSON) that the person or CI user running mlpipe needs
for this app and stage: train, deploy, send, tail, status, redrive, destroy and bootstrap-pipeline,
each resource named by its ARN. "*" only for list/describe actions that AWS offers no resource-level
permission for. Give it to your administrator, or attach it yourself as a customer managed policy.

The account comes from your credentials (sts:GetCallerIdentity), or from --account when you have
none yet; the region from --region, mlpipe.yaml or your profile.

Examples:

\b
  mlpipe iam-policy > mlpipe-policy.json
  mlpipe --region eu-west-1 iam-policy --account 123456789012
  mlpipe iam-policy --commands send,tail,status     # a read-mostly user
  aws iam create-policy --policy-name mlpipe-my-app --policy-document file://mlpipe-policy.json
"""


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    @app.command("iam-policy", help=HELP)
    def iam_policy_command(
        ctx: typer.Context,
        account: str | None = typer.Option(None, "--account", help="12-digit AWS account id (default: from STS)."),
        commands: str | None = typer.Option(
            None, "--commands", help="Comma-separated commands to allow (default: all)."
        ),
    ) -> None:
        import re

        from mlpipe.cli.render import print_json, stderr
        from mlpipe.errors import UsageError
        from mlpipe.names import Names
        from mlpipe.policies.operator import MANAGED_POLICY_LIMIT, operator_policy, parse_commands, split_commands

        if account is not None and not re.fullmatch(r"\d{12}", account):
            raise UsageError(f"--account {account!r}: an AWS account id is 12 digits", hint="e.g. 123456789012")
        wanted = parse_commands(commands)
        opts = options(ctx)
        loaded = opts.load()
        config = loaded.config
        clients = opts.clients(loaded)
        names = Names(app=config.app, stage=config.stage, region=clients.region, account=account or clients.account_id)
        policy = operator_policy(config, names, wanted)
        print_json(policy.to_dict())
        if policy.size > MANAGED_POLICY_LIMIT:
            groups = " and ".join(f"--commands {','.join(g)}" for g in split_commands(config, names))
            stderr.print(
                f"Note: {policy.size} characters, over the {MANAGED_POLICY_LIMIT} one managed policy may hold: "
                f"create one policy each with {groups}."
            )
