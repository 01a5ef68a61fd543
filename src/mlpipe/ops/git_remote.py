"""The git remote of an app's CodeCommit repository, and how git gets its credentials for it.

On AWS: CodeCommit's HTTPS URL with the AWS CLI's credential helper (the caller's IAM identity
signs; codecommit:GitPush/GitPull apply). On the embedded AWS: the server's own URL, with
`mlpipe local git-credential` handing git the server's operator keys (HTTP Basic: key id and
secret). Either way no secret is written into the URL, the git config or the shell history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlpipe.aws.clients import Target


@dataclass(frozen=True)
class GitRemote:
    name: str
    url: str
    credential_setup: tuple[str, ...]

    @property
    def remote_add(self) -> str:
        return f"git remote add {self.name} {self.url}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "remote_add": self.remote_add,
            "credential_setup": list(self.credential_setup),
        }


def git_remote(target: Target, region: str, repository: str) -> GitRemote:
    if target.is_local and target.endpoint_url:
        base = target.endpoint_url.rstrip("/")
        return GitRemote(
            "local",
            f"{base}/v1/repos/{repository}",
            (f"git config credential.{base}.helper '!mlpipe local git-credential'",),
        )
    host = f"https://git-codecommit.{region}.amazonaws.com"
    return GitRemote(
        "codecommit",
        f"{host}/v1/repos/{repository}",
        (
            f"git config credential.{host}.helper '!aws codecommit credential-helper $@'",
            f"git config credential.{host}.UseHttpPath true",
        ),
    )
