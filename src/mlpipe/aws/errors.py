"""Turn botocore exceptions into mlpipe errors with a message a user can act on."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import botocore.exceptions
import botocore.parsers

from mlpipe.errors import AwsError, AwsTargetError, MlpipeError, NotSupportedByEmulator

if TYPE_CHECKING:
    from mlpipe.aws.clients import Target


# What the embedded AWS answers a request it cannot authenticate (see mlpipe.local.door).
LOCAL_AUTH_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "InvalidAccessKeyId",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
        "IncompleteSignature",
        "IncompleteSignatureException",
        "RequestTimeTooSkewed",
        "InvalidToken",
    }
)
LOCAL_CREDENTIALS_HINT = (
    'use the server\'s own keys: `eval "$(mlpipe local env)"` (a server started with `mlpipe local up` '
    "is found without it)"
)


def _listening(url: str) -> bool:
    import socket
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=1):
            return True
    except (OSError, ValueError):
        return False


def error_code(exc: BaseException) -> str | None:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "") or None
    return None


# What only the admin part of `mlpipe iam-policy` allows (policies/operator_iam.py): a boundary policy
# and a trust policy. An operator denied one of these needs an administrator, not another policy.
ADMIN_OPERATIONS = frozenset(
    {"CreatePolicy", "CreatePolicyVersion", "DeletePolicy", "DeletePolicyVersion", "UpdateAssumeRolePolicy"}
)


def access_denied_hint(message: str, env: Mapping[str, str] | None = None, operation: str = "") -> str:
    """What to do about an AccessDenied: in the pipeline's build, its role is bootstrap's to change."""
    env = os.environ if env is None else env
    if not env.get("CODEBUILD_BUILD_ID"):
        if operation in ADMIN_OPERATIONS:
            return (
                "creating or changing a stage's permissions boundary (or a trust policy) needs the admin part: "
                "run this command once as an administrator with `mlpipe iam-policy --for admin` attached; "
                "the operator part (`mlpipe iam-policy --for operator`) does the rest"
            )
        return "see `mlpipe iam-policy` for the permissions mlpipe needs"
    if "perform: iam:" in message:
        return (
            "the pipeline's build role may not change IAM roles (by design): run `mlpipe bootstrap-pipeline` "
            "with this mlpipe.yaml (it updates the stages' Lambda roles), then run the pipeline again"
        )
    return (
        "the pipeline's build role does not allow this: run `mlpipe bootstrap-pipeline` with this mlpipe.yaml "
        "(it rewrites the build role's policy), then run the pipeline again"
    )


def translate(exc: BaseException, target: Target | None = None) -> MlpipeError:
    """The one place that knows how botocore fails."""
    local = target is not None and target.is_local
    if local and isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        url = target.endpoint_url if target else ""
        if not _listening(url or ""):  # the first thing to fix: nothing answers there at all
            return AwsTargetError(
                f"cannot reach the embedded AWS at {url}",
                hint="start it with `mlpipe local up`, or check --endpoint-url",
            )
        return AwsTargetError(f"no credentials for the embedded AWS at {url}", hint=LOCAL_CREDENTIALS_HINT)
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return AwsTargetError(
            "no AWS credentials found",
            hint="run `aws configure`, set AWS_PROFILE or pass --profile; or use --local for the embedded AWS",
        )
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return AwsTargetError("no AWS region configured", hint="pass --region or export AWS_REGION")
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectTimeoutError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "")
        if local:
            return AwsTargetError(
                f"cannot reach the embedded AWS at {target.endpoint_url if target else url}",
                hint="start it with `mlpipe local up`, or check --endpoint-url",
            )
        return AwsTargetError(f"cannot reach AWS endpoint {url}", hint="check your network and --region")
    if isinstance(exc, botocore.parsers.ResponseParserError):
        return _not_aws(target, "its response is not an AWS API response")
    if isinstance(exc, botocore.exceptions.ParamValidationError):
        return AwsError(f"invalid request: {exc}")
    if isinstance(exc, botocore.exceptions.ClientError):
        return _client_error(exc, target, local)
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return AwsError(one_line(str(exc)))
    return MlpipeError(one_line(str(exc)))


def _client_error(exc: botocore.exceptions.ClientError, target: Target | None, local: bool) -> MlpipeError:
    """An error AWS (or the embedded AWS) answered: by its code, status and message."""
    err = exc.response.get("Error", {})
    code = str(err.get("Code") or "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    op = exc.operation_name
    raw = str(err.get("Message") or "")
    message = one_line(raw or code or str(exc))
    if local and message.lstrip().startswith("<"):  # an HTML page, not an AWS error
        return _not_aws(target, f"{op} got HTTP {status} with a web page")
    if local and status == 500:
        return NotSupportedByEmulator(
            f"{op} is not supported by the embedded AWS ({message})",
            hint="please report it; mlpipe's emulator should implement every call mlpipe makes",
            code=code,
            aws_message=raw,
        )
    if local and code in LOCAL_AUTH_CODES:
        return AwsTargetError(
            f"the embedded AWS at {target.endpoint_url if target else ''} rejected the credentials ({code})",
            hint=LOCAL_CREDENTIALS_HINT,
        )
    if code in (
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "AuthFailure",
    ):
        return AwsTargetError(
            f"AWS rejected the credentials ({code})",
            hint="refresh them: `aws sso login` or `aws configure`",
        )
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return AwsError(
            f"{op}: access denied: {message}",
            hint=access_denied_hint(message, operation=op),
            code=code,
            aws_message=raw,
        )
    return AwsError(f"{op} failed: {code}: {message}", code=code, aws_message=raw)


def _not_aws(target: Target | None, what: str) -> AwsTargetError:
    """Something answered, but not like AWS: a web server or another service at --endpoint-url."""
    where = (target.endpoint_url if target is not None else None) or "the AWS endpoint"
    return AwsTargetError(
        f"{where} does not answer like AWS ({what})",
        hint="check --endpoint-url (or AWS_ENDPOINT_URL): `mlpipe local up` prints the embedded AWS's URL",
    )


def one_line(text: str, limit: int = 300) -> str:
    """A message for one terminal line: whitespace runs collapsed, long bodies cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
