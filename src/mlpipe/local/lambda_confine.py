"""What the mapping runner confines function code to (lambda_sandbox.py does the confining).

Probed once when the runner starts: Landlock's ABI, or why code runs unconfined (not Linux, an old
kernel, Landlock disabled at boot, MLPIPE_LOCAL_SANDBOX=off); `mlpipe local status` shows it and the
server log warns once. Every function version gets a private temp directory, its TMPDIR and HOME
(Lambda's /tmp), sandboxed or not; sandboxed, it is the only place the handler may write.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlpipe.local import lambda_sandbox

log = logging.getLogger("mlpipe.local")

SANDBOX_ENV = "MLPIPE_LOCAL_SANDBOX"  # "off": run function code unconfined (debugging only)


@dataclass(frozen=True)
class SandboxState:
    sandboxed: bool
    landlock_abi: int = 0
    reason: str = ""  # why function code is not sandboxed
    unix_sockets_blocked: bool = False  # the seccomp filter (lambda_sandbox.SECCOMP_ARCH machines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sandboxed": self.sandboxed,
            "landlock_abi": self.landlock_abi,
            "network": self.sandboxed and self.landlock_abi >= 4,  # TCP connect to this server only
            "unix_sockets_blocked": self.sandboxed and self.unix_sockets_blocked,
            "reason": self.reason,
        }

    def describe(self) -> str:
        if not self.sandboxed:
            return f"NOT sandboxed ({self.reason}): handlers can read what your user can"
        network = ", TCP connect to this server only" if self.landlock_abi >= 4 else " (this kernel: no TCP rules)"
        unix = ", no UNIX sockets" if self.unix_sockets_blocked else ""
        return f"sandboxed (Landlock ABI {self.landlock_abi}: filesystem{network}{unix})"


@dataclass(frozen=True)
class Confinement:
    """One function version's private temp directory and the worker's sandbox rules ("": none)."""

    tmp_dir: Path
    rules: str = ""


def probe(environ: dict[str, str] | None = None) -> SandboxState:
    """Whether workers can be sandboxed here; logs a warning when they cannot (once per runner)."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get(SANDBOX_ENV, "").strip().lower() in ("off", "0", "false", "no"):
        state = SandboxState(False, reason=f"{SANDBOX_ENV}=off")
    else:
        abi, reason = lambda_sandbox.abi_version()
        seccomp = abi > 0 and os.uname().machine in lambda_sandbox.SECCOMP_ARCH  # os.uname: POSIX only
        state = SandboxState(abi > 0, abi, reason, seccomp)
    if not state.sandboxed:
        log.warning(
            "Lambda function code runs NOT sandboxed (%s): a handler can read your files, ~/.aws and the "
            "embedded AWS's operator keys",
            state.reason,
        )
    return state


def confinement_for(state: SandboxState, cache_root: Path, name: str, code_dir: Path, endpoint_url: str) -> Confinement:
    """A new private temp directory for a function version and, when sandboxed, its worker's rules."""
    tmp_dir = Path(tempfile.mkdtemp(prefix=f"tmp-{name}-", dir=cache_root))  # 0700, removed with the pool
    if not state.sandboxed:
        return Confinement(tmp_dir)
    from mlpipe.cache import cache_dir

    # Never readable, even when a Python prefix lies under one of them: the user's home (~/.aws), mlpipe's
    # cache (the operator's credentials.json, the state snapshot) and the server's working directory
    # (the repository checkout).
    protected = [str(Path.home()), str(cache_dir()), os.getcwd()]
    port = urlsplit(endpoint_url).port or 80
    rules = lambda_sandbox.plan(str(code_dir), str(tmp_dir), port, protected, lambda_sandbox.python_prefixes())
    return Confinement(tmp_dir, json.dumps(rules))
