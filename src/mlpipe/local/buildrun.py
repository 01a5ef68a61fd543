"""Run a CodeBuild build for real on this machine: the buildspec's phases in a scratch checkout.

Used by the embedded AWS's pipeline runner. The build talks back to the embedded AWS
(AWS_ENDPOINT_URL, the emulator's credentials) and its output goes to the project's CloudWatch
Logs group, one stream per build, like CodeBuild's.

The buildspec comes from the project (inline), never from the source: CodeBuild reads a
repository's buildspec.yml only when the project names none, and mlpipe's projects always do.
The install step runs pip's own resolver against the wheelhouse in the embedded S3 for the image's
Python and platform (`mlpipe.local.build_install`): a missing wheel or a wrong hash fails the build
offline as on CodeBuild. `runtime-versions` picks that Python; the commands run on this machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlpipe.local.credentials import Identity

PHASES = ("install", "pre_build", "build", "post_build")
MAX_TIMEOUT_S = 20 * 60


@dataclass
class Build:
    """One build, in the shape BatchGetBuilds returns (`to_api`)."""

    project: str
    region: str
    account: str
    source_version: str
    initiator: str
    log_group: str
    build_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    number: int = 1
    status: str = "IN_PROGRESS"
    current_phase: str = "SUBMITTED"
    phases: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    ended: float | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def build_id(self) -> str:
        return f"{self.project}:{self.build_uuid}"

    @property
    def arn(self) -> str:
        return f"arn:aws:codebuild:{self.region}:{self.account}:build/{self.build_id}"

    def to_api(self) -> dict[str, Any]:
        group, stream = self.log_group, self.build_uuid
        return {
            "id": self.build_id,
            "arn": self.arn,
            "buildNumber": self.number,
            "startTime": self.started,
            **({"endTime": self.ended} if self.ended else {}),
            "currentPhase": self.current_phase,
            "buildStatus": self.status,
            "sourceVersion": self.source_version,
            "resolvedSourceVersion": self.source_version,
            "projectName": self.project,
            "phases": self.phases,
            "initiator": self.initiator,
            "buildComplete": self.status != "IN_PROGRESS",
            "logs": {
                "groupName": group,
                "streamName": stream,
                "cloudWatchLogsArn": f"arn:aws:logs:{self.region}:{self.account}:log-group:{group}:log-stream:{stream}",
                "cloudWatchLogs": {"status": "ENABLED", "groupName": group},
            },
        }


def buildspec_of(project: Mapping[str, Any], checkout: Path) -> dict[str, Any]:
    """The project's inline buildspec, else (as CodeBuild) the file it names in the checkout."""
    text = str(project.get("source", {}).get("buildspec") or "buildspec.yml")
    spec = yaml.safe_load(text)
    if not isinstance(spec, dict):
        path = checkout / text
        if not path.is_file():
            raise ValueError(f"YAML_FILE_ERROR: no buildspec: {text} is neither inline YAML nor a file of the source")
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(spec, dict) or str(spec.get("version")) not in ("0.1", "0.2"):
        raise ValueError("YAML_FILE_ERROR: the buildspec needs `version: 0.2` and `phases:`")
    return spec


def build_environment(
    project: Mapping[str, Any],
    spec: Mapping[str, Any],
    build: Build,
    endpoint_url: str,
    checkout: Path,
    identity: Identity,
) -> dict[str, str]:
    """Precedence like CodeBuild's: project variables over the buildspec's `env.variables`."""
    from mlpipe.local.build_install import tools_dir

    bin_dir = str(Path(sys.executable).parent)
    env = {
        "PATH": os.pathsep.join((str(tools_dir()), bin_dir, os.environ.get("PATH", "/usr/bin:/bin"))),
        "HOME": str(checkout.parent / "home"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": identity.access_key_id,
        "AWS_SECRET_ACCESS_KEY": identity.secret_access_key,
        **({"AWS_SESSION_TOKEN": identity.session_token} if identity.session_token else {}),
        "AWS_REGION": build.region,
        "AWS_DEFAULT_REGION": build.region,
        "CODEBUILD_BUILD_ID": build.build_id,
        "CODEBUILD_BUILD_ARN": build.arn,
        "CODEBUILD_INITIATOR": build.initiator,
        "CODEBUILD_SRC_DIR": str(checkout),
        "CODEBUILD_RESOLVED_SOURCE_VERSION": build.source_version,
        "MLPIPE_LOCAL_BUILD": "1",
    }
    env.update({str(k): str(v) for k, v in ((spec.get("env") or {}).get("variables") or {}).items()})
    for variable in project.get("environment", {}).get("environmentVariables") or []:
        env[variable["name"]] = str(variable.get("value", ""))
    return env


class BuildRunner:
    """Runs one build; `log` receives every output line (the caller ships them to CloudWatch Logs)."""

    def __init__(self, build: Build, log: Callable[[list[str]], None], cancelled: threading.Event) -> None:
        self.build = build
        self.log = log
        self.cancelled = cancelled
        # The image's Python (runtime-versions); this machine's until the buildspec pins one.
        self.python_version = f"{sys.version_info.major}.{sys.version_info.minor}"

    def _say(self, *lines: str) -> None:
        self.build.lines.extend(lines)
        self.log(list(lines))

    def _phase(self, name: str, status: str, started: float) -> None:
        now = time.time()
        self.build.phases.append(
            {
                "phaseType": name.upper(),
                "phaseStatus": status,
                "startTime": started,
                "endTime": now,
                "durationInSeconds": int(now - started),
            }
        )

    def run(
        self, project: Mapping[str, Any], files: Mapping[str, bytes], endpoint_url: str, identity: Identity
    ) -> Build:
        scratch = Path(tempfile.mkdtemp(prefix=f"mlpipe-build-{os.getpid()}-"))
        try:
            checkout = scratch / "src"
            for path, content in files.items():
                target = checkout / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            (scratch / "home").mkdir()
            checkout.mkdir(exist_ok=True)
            self._say(f"[Container] mlpipe local build {self.build.build_id} at {self.build.source_version}")
            try:
                spec = buildspec_of(project, checkout)
            except (ValueError, yaml.YAMLError) as exc:
                self._say(f"[Container] {exc}")
                return self._finish("FAILED", "COMPLETED")
            env = build_environment(project, spec, self.build, endpoint_url, checkout, identity)
            timeout = min(int(project.get("timeoutInMinutes") or 60) * 60, MAX_TIMEOUT_S)
            return self._run_phases(spec, checkout, env, time.monotonic() + timeout)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _run_phases(self, spec: Mapping[str, Any], checkout: Path, env: dict[str, str], deadline: float) -> Build:
        phases = spec.get("phases") or {}
        failed_phase = None
        for name in PHASES:
            if failed_phase and name != "post_build":  # CodeBuild still runs post_build after a failed build
                continue
            phase = phases.get(name) or {}
            started = time.time()
            self.build.current_phase = name.upper()
            versions = phase.get("runtime-versions") if name == "install" else None
            if isinstance(versions, dict) and versions.get("python"):
                self.python_version = str(versions["python"])
                self._say(f"[Container] runtime-versions python {self.python_version} (pip resolves for it)")
            ok = all(self._command(str(c), checkout, env, deadline) for c in phase.get("commands") or [])
            status = "SUCCEEDED" if ok else "FAILED"
            self._say(f"[Container] Phase complete: {name.upper()} State: {status}")
            self._phase(name, status, started)
            if not ok and failed_phase is None:
                failed_phase = name.upper()
        return self._finish("FAILED" if failed_phase else "SUCCEEDED", "COMPLETED")

    def _command(self, command: str, checkout: Path, env: dict[str, str], deadline: float) -> bool:
        if self.cancelled.is_set():
            self._say("[Container] build stopped")
            return False
        from mlpipe.local import build_install

        if build_install.MAKE_VENV.search(command):
            self._say(f"[Container] Running command {command}", "[Container] local build: the pip step links the venv")
            return True
        if build_install.PIP_INSTALL.search(command):
            self._say(f"[Container] Running command {command}")
            if build_install.install(command, env, self.python_version, self._say):
                return True
            self._say(f"[Container] Command did not exit successfully {command} exit status 1")
            return False
        self._say(f"[Container] Running command {command}")
        process = subprocess.Popen(
            ["bash", "-c", command], cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        stopped = ""
        while True:
            try:
                output, _ = process.communicate(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                # A reset of the embedded AWS (or the build timeout) stops the command, so a build
                # never writes into the state of whatever runs next.
                if self.cancelled.is_set() or time.monotonic() > deadline:
                    stopped = "build stopped" if self.cancelled.is_set() else "Command timed out"
                    process.kill()
        lines = output.decode(errors="replace").splitlines()
        if lines:
            self._say(*lines)
        if stopped:
            self._say(f"[Container] {stopped}")
            return False
        if process.returncode != 0:
            self._say(f"[Container] Command did not exit successfully {command} exit status {process.returncode}")
        return process.returncode == 0

    def _finish(self, status: str, phase: str) -> Build:
        self.build.status = status
        self.build.current_phase = phase
        self.build.ended = time.time()
        return self.build
