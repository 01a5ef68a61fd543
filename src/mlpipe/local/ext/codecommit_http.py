"""`git clone` / `git push` to the embedded CodeCommit: git's smart HTTP protocol (dulwich's server)
at http://127.0.0.1:<port>/v1/repos/<name>, like CodeCommit's HTTPS clone URL.

The middleware authenticates the caller first (HTTP Basic: user = access key id, password =
secret key; 401 with a Basic challenge otherwise, so git asks its credential helper) and puts the
identity in the environ. Then, as on AWS, pushing needs codecommit:GitPush and fetching
codecommit:GitPull on the repository (the IAM authorizers decide). A push that moves a branch
notifies `codecommit.COMMIT_LISTENERS`: the pipelines tracking it start. A ref update whose new
trees hold a name git's fsck refuses is rejected first (`_Fsck`, `local.repo_paths`).
"""

from __future__ import annotations

import io
import logging
from typing import Any

from mlpipe.local import registry
from mlpipe.local.ext import codecommit
from mlpipe.local.gitstore import HEADS, GitRepository
from mlpipe.local.registry import AwsApiError, Context, on_shutdown, on_startup

log = logging.getLogger("mlpipe.local")

_ZERO = b"0" * 40
_SERVERS: dict[str, Context] = {}  # SERVER_PORT -> context of the server listening there


class _PostReceive:
    """dulwich's post-receive hook: a moved branch is a new commit CodePipeline sees."""

    def __init__(self, ctx: Context, repo: GitRepository) -> None:
        self.ctx, self.repo = ctx, repo

    def execute(self, client_refs: list[tuple[bytes, bytes, bytes]]) -> bytes | None:
        for _, new, ref in client_refs:
            if ref.startswith(HEADS) and new != _ZERO:
                branch = ref[len(HEADS) :].decode()
                self.repo.adopt_default(branch)
                codecommit.notify(self.ctx, self.repo.region, self.repo.name, branch, new.decode())
        return None


def _repository_name(path: str) -> str:
    rest = path[len(codecommit.GIT_PATH) :] if path.startswith(codecommit.GIT_PATH) else ""
    return rest.split("/", 1)[0].removesuffix(".git")


class _Fsck:
    """dulwich's update hook: like git's receive.fsckObjects, a ref update whose new trees hold a
    path git refuses (`..`, `.git`, ...) is rejected ("! [remote rejected] ... (fsck error ...)")
    and the ref stays where it was, so no pipeline runs and no checkout can leave its directory."""

    def __init__(self, repo: GitRepository) -> None:
        self.repo = repo

    def execute(self, ref: bytes, old: bytes, new: bytes) -> tuple[bytes, bytes]:
        from dulwich.errors import HookError

        from mlpipe.local.repo_paths import push_problem

        problem = None if new == _ZERO else push_problem(self.repo, new)
        if problem is not None:
            log.info("git push to %s refused: %s %s", self.repo.name, ref.decode(errors="replace"), problem)
            raise HookError(f"fsck error: {problem}")
        return b"", b""


class _Backend:
    """dulwich's Backend: the URL prefix /v1/repos/<name> -> that repository's dulwich repo."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def open_repository(self, path: str | bytes) -> Any:
        from dulwich.errors import NotGitRepository

        text = path.decode() if isinstance(path, bytes) else path
        found = codecommit.find(self.ctx, _repository_name(text))
        if found is None:
            raise NotGitRepository(f"no repository at {text}")
        found.repo.hooks["update"] = _Fsck(found)  # type: ignore[assignment]
        found.repo.hooks["post-receive"] = _PostReceive(self.ctx, found)  # type: ignore[assignment]
        return found.repo


def _refuse(start_response: Any, status: str, message: str) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain")])
    return [message.encode() + b"\n"]


def _authorize(ctx: Context, identity: Any, repo: GitRepository, push: bool) -> str | None:
    from mlpipe.local.protocols import ApiRequest

    request = ApiRequest(
        "codecommit", "GitPush" if push else "GitPull", "json", {"repositoryName": repo.name}, repo.region
    )
    try:
        for hook in getattr(registry, "AUTHORIZERS", ()):
            hook(ctx, identity, request)
    except AwsApiError as exc:
        return exc.message
    return None


def git_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    from dulwich.web import make_wsgi_chain

    ctx = _SERVERS.get(str(environ.get("SERVER_PORT")))
    if ctx is None or environ.get("mlpipe.identity") is None:
        return _refuse(start_response, "401 Unauthorized", "authentication required")
    name = _repository_name(environ.get("PATH_INFO", ""))
    repo = codecommit.find(ctx, name)
    if repo is None:
        return _refuse(start_response, "404 Not Found", f"repository {name} does not exist")
    push = "git-receive-pack" in environ.get("PATH_INFO", "") + environ.get("QUERY_STRING", "")
    denied = _authorize(ctx, environ["mlpipe.identity"], repo, push)
    if denied is not None:
        return _refuse(start_response, "403 Forbidden", denied)
    # The server already de-chunked the body (and the middleware read it): give dulwich plain bytes.
    body = environ["wsgi.input"].read()
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    app = make_wsgi_chain(_Backend(ctx))  # type: ignore[arg-type]
    with repo.lock:  # one push at a time per repository, and none during an API commit
        chunks = app(environ, start_response)
        try:
            return [b"".join(chunks)]
        finally:
            getattr(chunks, "close", lambda: None)()


@on_startup
def _route(ctx: Context) -> None:
    _SERVERS[ctx.endpoint_url.rsplit(":", 1)[-1]] = ctx
    raw_routes = getattr(registry, "RAW_ROUTES", None)
    if raw_routes is not None:
        raw_routes[codecommit.GIT_PATH] = git_app


@on_shutdown
def _unroute(ctx: Context) -> None:
    _SERVERS.pop(ctx.endpoint_url.rsplit(":", 1)[-1], None)
