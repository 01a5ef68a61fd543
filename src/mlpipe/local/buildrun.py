"""Run a CodeBuild build for real on this machine: the buildspec's phases in a scratch checkout.

Used by the embedded AWS's pipeline runner. The build talks back to the embedded AWS
(AWS_ENDPOINT_URL, the service role's session keys) and its output goes to the project's CloudWatch
Logs group, one stream per build, like CodeBuild's. Its phases are CodeBuild's: SUBMITTED, QUEUED
(where CodeBuild creates the log stream), PROVISIONING, DOWNLOAD_SOURCE (the source is fetched then:
a failure ends the build there, with the phase context CodeBuild gives), then the buildspec's.

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


class SourceError(Exception):
    """The build's source cannot be had: the DOWNLOAD_SOURCE phase fails with this status code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Build:
    """One build, in the shape BatchGetBuilds returns (`to_api`)."""

    project: str
    region: str
    account: str
    source_version: str
    initiator: str
    log_group: str
    stream_prefix: str = ""  # the project's logsConfig.cloudWatchLogs.streamName
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

    @property
    def log_stream(self) -> str:
        """CodeBuild's stream: the build's UUID, under the project's stream name when it sets one."""
        return f"{self.stream_prefix}/{self.build_uuid}" if self.stream_prefix else self.build_uuid

    def add_phase(self, name: str, status: str, started: float, context: tuple[str, str] | None = None) -> None:
        now = time.time()
        phase: dict[str, Any] = {
            "phaseType": name.upper(),
            "phaseStatus": status,
            "startTime": started,
            "endTime": now,
            "durationInSeconds": int(now - started),
        }
        if context:
            phase["contexts"] = [{"statusCode": context[0], "message": context[1]}]
        self.phases.append(phase)

    def finish(self, status: str) -> Build:
        self.status, self.current_phase, self.ended = status, "COMPLETED", time.time()
        return self

    def failure(self) -> str:
        """What CodePipeline says of a failed build: its state, and the first failed phase's context."""
        summary = f"Build terminated with state: {self.status}"
        for phase in self.phases:
            for context in phase.get("contexts") or []:
                if phase["phaseStatus"] != "SUCCEEDED" and context.get("statusCode"):
                    code, message = context["statusCode"], context.get("message", "")
                    return f"{summary}. Phase: {phase['phaseType']}, Code: {code}, Message: {message}"
        return summary

    def to_api(self) -> dict[str, Any]:
        group, stream = self.log_group, self.log_stream
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

    def run(
        self,
        project: Mapping[str, Any],
        source: Callable[[], Mapping[str, bytes]],
        endpoint_url: str,
        identity: Identity,
    ) -> Build:
        """PROVISIONING, DOWNLOAD_SOURCE (`source()`, which raises SourceError), then the buildspec."""
        scratch = Path(tempfile.mkdtemp(prefix=f"mlpipe-build-{os.getpid()}-"))
        try:
            checkout = scratch / "src"
            (scratch / "home").mkdir()
            checkout.mkdir()
            self.build.current_phase = "PROVISIONING"
            self.build.add_phase("provisioning", "SUCCEEDED", time.time())
            self._say(f"[Container] mlpipe local build {self.build.build_id} at {self.build.source_version}")
            self.build.current_phase, started = "DOWNLOAD_SOURCE", time.time()
            try:
                _check_out(source(), checkout)
                spec = buildspec_of(project, checkout)
            except (SourceError, ValueError, yaml.YAMLError) as exc:
                code = exc.code if isinstance(exc, SourceError) else "YAML_FILE_ERROR"
                message = str(exc).removeprefix("YAML_FILE_ERROR: ")
                self._say(
                    "[Container] Phase complete: DOWNLOAD_SOURCE State: FAILED",
                    f"[Container] Phase context status code: {code} Message: {message}",
                )
                self.build.add_phase("download_source", "FAILED", started, (code, message))
                return self.build.finish("FAILED")
            self.build.add_phase("download_source", "SUCCEEDED", started)
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
            self.build.add_phase(name, status, started)
            if not ok and failed_phase is None:
                failed_phase = name.upper()
        return self.build.finish("FAILED" if failed_phase else "SUCCEEDED")

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


def _check_out(files: Mapping[str, bytes], checkout: Path) -> None:
    """The source's files into the checkout; an entry that would land outside it (`..`, `.git`, an
    absolute path, a symlink) is refused (`local.repo_paths`, shared with the CodeCommit doors)."""
    from mlpipe.local.repo_paths import UnsafeCheckout, write_checkout

    try:
        write_checkout(checkout, files)
    except UnsafeCheckout as exc:
        raise SourceError("CLIENT_ERROR", str(exc)) from None
