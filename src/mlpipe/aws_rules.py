"""AWS's validation rules that mlpipe checks itself and the embedded AWS enforces (one definition).

Pure functions: no boto3. mlpipe's config uses them to fail before any API call with a clear
line; the emulator uses them to answer like AWS (local/ext/lambda_behaviour.py, local/ext/s3_rules.py).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping

# https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
LAMBDA_RESERVED_ENV_KEYS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "TZ",
    }
)
LAMBDA_ENV_KEY_PATTERN = r"[a-zA-Z]([a-zA-Z0-9_])+"
LAMBDA_ENV_MAX_BYTES = 4096


def lambda_env_size(variables: Mapping[str, str]) -> int:
    """Bytes Lambda counts against the 4 KB limit: the variables as compact JSON."""
    return len(json.dumps(dict(variables), separators=(",", ":"), ensure_ascii=False).encode())


def lambda_env_bad_keys(variables: Mapping[str, str]) -> list[str]:
    return [k for k in variables if not re.fullmatch(LAMBDA_ENV_KEY_PATTERN, k)]


def lambda_env_reserved_keys(variables: Mapping[str, str]) -> list[str]:
    return [k for k in variables if k in LAMBDA_RESERVED_ENV_KEYS]


# Prefixes and suffixes AWS keeps for its own bucket-like resources (access points, Object Lambda,
# directory and table buckets, multi-region access points, documentation examples).
_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """Why S3 rejects `name` for a general purpose bucket (InvalidBucketName), or None."""
    if not 3 <= len(name) <= 63:
        return f"is {len(name)} characters (3 to 63 allowed)"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name):
        return "may only hold a-z, 0-9, '.' and '-', and must start and end with a letter or digit"
    if ".." in name:
        return "must not have two adjacent periods"
    try:
        ipaddress.IPv4Address(name)
        return "must not be formatted as an IP address"
    except ValueError:
        pass
    for prefix in _BUCKET_PREFIXES:
        if name.startswith(prefix):
            return f"must not start with '{prefix}' (reserved by S3)"
    for suffix in _BUCKET_SUFFIXES:
        if name.endswith(suffix):
            return f"must not end with '{suffix}' (reserved by S3)"
    return None
