"""`mlpipe iam-policy`: the IAM policies the people running mlpipe need, scoped to this app's ARNs:
an ADMIN part (run once) and an OPERATOR part (day to day)."""

from __future__ import annotations

from typing import Any

import typer

from mlpipe.cli.context import options

HELP = """Print the least-privilege IAM policies (JSON) for this app and stage, in two parts:

\b
  ADMIN     run once by an administrator: bootstrap-pipeline (the CI/CD, every
            stage's roles and the permissions boundaries that cap them), a stage's
            boundary and trust policies, destroy --pipeline
  OPERATOR  day to day: train, deploy, send, tail, status, redrive, destroy. Roles
            only with this stage's permissions boundary; never a trust policy.

Each resource is named by its ARN; "*" only for list/describe actions that AWS offers no
resource-level permission for. With --for admin or --for operator the output is that one policy
document, ready for `aws iam create-policy`; by default both parts, each labelled. With -o json,
always {"app", "stage", "account", "region", "parts": [{"for", "purpose", "commands", "size",
"policy"}]}.

The account comes from your credentials (sts:GetCallerIdentity), or from --account when you have
none yet; the region from --region, mlpipe.yaml or your profile.

Examples:

\b
  mlpipe iam-policy                                  # both parts, labelled
  mlpipe iam-policy --for operator > operator.json
  mlpipe iam-policy --for admin > admin.json
  mlpipe --region eu-west-1 iam-policy --account 123456789012 --for operator
  mlpipe iam-policy --commands send,tail,status     # a read-mostly user
  aws iam create-policy --policy-name mlpipe-my-app --policy-document file://operator.json
"""


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    @app.command("iam-policy", help=HELP)
    def iam_policy_command(
        ctx: typer.Context,
        account: str | None = typer.Option(None, "--account", help="12-digit AWS account id (default: from STS)."),
        part: str = typer.Option("both", "--for", help="admin, operator, or both (default)."),
        commands: str | None = typer.Option(
            None, "--commands", help="Comma-separated commands to allow (default: all of the part)."
        ),
    ) -> None:
        import re

        from mlpipe.errors import UsageError
        from mlpipe.names import Names
        from mlpipe.policies.operator import parse_part, policies_for

        if account is not None and not re.fullmatch(r"\d{12}", account):
            raise UsageError(f"--account {account!r}: an AWS account id is 12 digits", hint="e.g. 123456789012")
        wanted = parse_part(part, commands)
        opts = options(ctx)
        loaded = opts.load()
        config = loaded.config
        clients = opts.clients(loaded)
        names = Names(app=config.app, stage=config.stage, region=clients.region, account=account or clients.account_id)
        _print(policies_for(config, names, wanted), names, config, opts.json)


def _print(policies: list[Any], names: Any, config: Any, as_json: bool) -> None:
    from mlpipe.cli.render import print_json, stderr, stdout
    from mlpipe.policies.operator import MANAGED_POLICY_LIMIT, PURPOSE, split_commands

    if as_json:
        print_json(
            {
                "app": names.app,
                "stage": names.stage,
                "account": names.account,
                "region": names.region,
                "parts": [
                    {"for": p.audience, "purpose": PURPOSE[p.audience], "commands": list(p.commands), "size": p.size}
                    | {"policy": p.document}
                    for p in policies
                ],
            }
        )
        return
    for policy in policies:
        label = f"# {PURPOSE[policy.audience]}; commands: {', '.join(policy.commands)}"
        if len(policies) == 1:
            stderr.print(label, markup=False, highlight=False)  # stdout stays one policy document
        else:
            stdout.print(label, markup=False, highlight=False, soft_wrap=True)
        print_json(policy.to_dict())
        if policy.size > MANAGED_POLICY_LIMIT:
            groups = split_commands(config, names, commands=policy.commands)
            split = " and ".join(f"--commands {','.join(g)}" for g in groups)
            stderr.print(
                f"Note: the {policy.audience} part is {policy.size} characters, over the {MANAGED_POLICY_LIMIT} "
                f"one managed policy may hold: create one policy each with {split}."
            )
