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

    def sync(self, branch: str, remote_has_commits: bool) -> tuple[str, ...]:
        """The lines that push an existing git repository's history to the tracked branch.

        The branch usually holds commits the local history does not (the one `--push` made, with
        mlpipe.yaml and the handler): a plain `git push` is then rejected as non-fast-forward. Merging
        them in first (unrelated histories: the repository did not start from a clone of it) keeps
        both, and the push that follows is a fast-forward, which runs the pipeline."""
        push = f"git push {self.name} HEAD:{branch}"
        if not remote_has_commits:
            return (push,)
        return (
            f"git fetch {self.name} {branch}",
            f"git merge --allow-unrelated-histories -m 'Merge the pipeline repository' {self.name}/{branch}",
            push,
        )

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
