"""the mapping runner of the embedded AWS: SQS event source mappings that really run the handler.

For every enabled SQS mapping two poller threads poll the queue as the function's execution role
(in-process through moto's SQS backend, poller_io.py: visibility, receive counts and redrive are
moto's), build the Lambda SQS event, run the handler
in a warm worker process with the function's environment (AWS_ENDPOINT_URL pointing back here),
write START / output / END / REPORT to /aws/lambda/<function>, delete what succeeded and leave
the rest to the queue's redrive, exactly as Lambda's SQS poller does.

Mappings and function code are read from moto's Lambda backend in-process (read only). Receives,
deletes and log writes are the Lambda service's own calls on AWS: they go to moto's backends
in-process too (poller_io.py), under the same queue locks and snapshot gate as requests.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipe.local.iam.actors import credentials_for
from mlpipe.local.lambda_confine import confinement_for, probe
from mlpipe.local.lambda_invoke import Outcome, invoke, write_logs  # noqa: F401  (re-exported)
from mlpipe.local.lambda_pool import (
    FunctionVersion,
    WorkerPool,
    extract_code,
)
from mlpipe.local.registry import Context
from mlpipe.local.sqs_poller import MappingPoller

log = logging.getLogger("mlpipe.local")

SCAN_INTERVAL_S = 0.2
WORKERS_PER_FUNCTION = 2
# Batches in flight per mapping (Lambda starts with 5 pollers): two keep the worker busy while the
# other batch is being received, logged and deleted.
POLLERS_PER_MAPPING = 2
MAX_POOLS = 6


@dataclass
class MappingStats:
    uuid: str
    function: str
    queue_arn: str
    batch_size: int
    enabled: bool = True
    invocations: int = 0
    processed: int = 0
    failed: int = 0
    errors: int = 0
    logs_dropped: int = 0  # invocations whose log lines the execution role may not write (lost, as on AWS)
    last_error: str = ""

    def count(self, **increments: int) -> None:
        with _STATS_LOCK:  # pollers of one mapping share these counters
            for name, value in increments.items():
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, Any]:
        with _STATS_LOCK:
            return dict(self.__dict__)


_STATS_LOCK = threading.Lock()


@dataclass
class _Mapping:
    """What a poller needs from moto's EventSourceMapping, copied (moto's object may be replaced)."""

    uuid: str
    account: str
    region: str
    function_arn: str
    queue_arn: str
    batch_size: int
    window_s: float
    report_item_failures: bool


def moto_mapping_ids() -> set[str]:
    """Every event source mapping that exists (enabled or not)."""
    from moto.awslambda.models import lambda_backends

    return {
        uuid
        for regions in list(lambda_backends.values())
        for backend in list(regions.values())
        for uuid in list(backend._event_source_mappings)
    }


def moto_sqs_mappings() -> Iterator[_Mapping]:
    from moto.awslambda.models import lambda_backends

    for account, regions in list(lambda_backends.items()):
        for region, backend in list(regions.items()):
            for esm in list(backend._event_source_mappings.values()):
                if ":sqs:" not in esm.event_source_arn or not esm.enabled:
                    continue
                yield _Mapping(
                    uuid=esm.uuid,
                    account=account,
                    region=region,
                    function_arn=esm.function_arn,
                    queue_arn=esm.event_source_arn,
                    batch_size=int(esm.batch_size or 10),
                    window_s=float(esm.max_batch_window or 0),
                    report_item_failures="ReportBatchItemFailures" in (esm.function_response_types or []),
                )


def detach_moto_consumers() -> None:
    """moto's SQS invokes Lambda itself (through Docker) and receives the queue's messages on every
    send when a queue has a mapping, even after the mapping is deleted; the mapping runner does that job.
    A queue's mapping table is made an always-empty view, so moto never sees a mapping there."""
    from moto.sqs.models import Queue

    if not isinstance(Queue.__dict__.get("lambda_event_source_mappings"), property):
        setattr(Queue, "lambda_event_source_mappings", property(lambda self: {}, lambda self, value: None))  # noqa: B010


def function_version(mapping: _Mapping) -> tuple[FunctionVersion, bytes] | None:
    from moto.awslambda.models import lambda_backends

    try:
        fn = lambda_backends[mapping.account][mapping.region].get_function(mapping.function_arn)
    except Exception:
        return None
    env = tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items()))
    version = FunctionVersion(
        name=fn.function_name,
        arn=fn.function_arn,
        region=mapping.region,
        code_sha256=str(fn.code_sha_256),
        handler=str(fn.handler or "handler.handler"),
        timeout_s=int(fn.timeout or 3),
        memory_mb=int(fn.memory_size or 128),
        environment=env,
        role=str(fn.role or ""),
    )
    return version, bytes(fn.code_bytes or b"")


class MappingRunner:
    def __init__(self, ctx: Context, cache_root: Path | None = None) -> None:
        self.ctx = ctx
        self.cache_root = cache_root or _default_cache_root()
        self.stats: dict[str, MappingStats] = {}  # live mappings only
        self._retired = {"processed": 0, "failed": 0}  # what deleted mappings counted
        self._pollers: dict[str, list[MappingPoller]] = {}
        self._pools: dict[FunctionVersion, WorkerPool] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread: threading.Thread | None = None
        self.sandbox = probe()  # whether workers confine function code (Landlock), warned once if not

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        detach_moto_consumers()
        self._thread = threading.Thread(target=self._run, name="mlpipe-lambda-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._stop_pollers()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
        import shutil

        shutil.rmtree(self.cache_root, ignore_errors=True)

    def reset(self) -> None:
        """Before moto resets: stop polling (in-flight batches finish), forget counters; pools stay warm."""
        self._paused.set()
        try:
            self._stop_pollers()
            with self._lock:
                self.stats.clear()
                self._retired = {"processed": 0, "failed": 0}
        finally:
            self._paused.clear()

    def status(self) -> dict[str, Any]:
        """The live mappings only (a long session deletes hundreds); the totals count the deleted too."""
        with self._lock:
            mappings = [s.as_dict() for s in self.stats.values()]
            retired = dict(self._retired)
        return {
            "mappings": mappings,
            "processed": retired["processed"] + sum(m["processed"] for m in mappings),
            "failed": retired["failed"] + sum(m["failed"] for m in mappings),
            "lambda_sandbox": self.sandbox.as_dict(),
        }

    def _retire(self, stats: MappingStats) -> None:
        counts = stats.as_dict()
        self._retired["processed"] += counts["processed"]
        self._retired["failed"] += counts["failed"]

    # -- scanning ---------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(SCAN_INTERVAL_S):
            if self._paused.is_set():
                continue
            try:
                self._scan()
            except Exception:
                log.exception("lambda runner scan failed")

    def _scan(self) -> None:
        wanted = {m.uuid: m for m in moto_sqs_mappings()}
        with self._lock:
            for mapping_id, pollers in list(self._pollers.items()):
                if mapping_id not in wanted or not all(p.is_alive() for p in pollers):
                    for poller in pollers:
                        poller.stop()
                    del self._pollers[mapping_id]
                    if mapping_id in self.stats and mapping_id not in wanted:
                        self.stats[mapping_id].enabled = False
            existing = moto_mapping_ids()
            for mapping_id in [m for m in self.stats if m not in existing]:  # deleted: no longer listed
                self._retire(self.stats.pop(mapping_id))
            for mapping_id, mapping in wanted.items():
                if mapping_id in self._pollers or self._paused.is_set():
                    continue
                stats = self.stats.setdefault(
                    mapping_id,
                    MappingStats(
                        mapping_id, mapping.function_arn.split(":")[-1], mapping.queue_arn, mapping.batch_size
                    ),
                )
                stats.enabled = True
                pollers = [MappingPoller(self, mapping, stats, n) for n in range(POLLERS_PER_MAPPING)]
                self._pollers[mapping_id] = pollers
                for poller in pollers:
                    poller.start()

    def _stop_pollers(self) -> None:
        with self._lock:
            pollers = [p for group in self._pollers.values() for p in group]
            self._pollers = {}
        for poller in pollers:
            poller.stop()
        for poller in pollers:
            poller.join(timeout=5 + poller.busy_timeout())

    # -- pools ----------------------------------------------------------------------------------
    def pool_for(self, version: FunctionVersion, code: bytes) -> WorkerPool:
        with self._lock:
            pool = self._pools.get(version)
            if pool is not None:
                return pool
        code_dir = extract_code(self.cache_root, version.code_sha256, code)
        with self._lock:
            pool = self._pools.get(version)
            if pool is None:
                # Another version of the same function: its old environments are gone, like Lambda's.
                for old in [v for v in self._pools if v.arn == version.arn]:
                    self._pools.pop(old).close()
                while len(self._pools) >= MAX_POOLS:
                    self._pools.pop(next(iter(self._pools))).close()
                confinement = confinement_for(
                    self.sandbox, self.cache_root, version.name, code_dir, self.ctx.endpoint_url
                )
                pool = self._pools[version] = WorkerPool(
                    version, code_dir, self._worker_env(version), WORKERS_PER_FUNCTION, confinement
                )
            return pool

    def _worker_env(self, version: FunctionVersion) -> dict[str, str]:
        # Not HOME: the pool gives the worker its private temp directory as HOME (Lambda's /tmp).
        env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT") if k in os.environ}
        # Lambda hands the handler its execution role's session credentials (session = function name).
        # Never the emulator's own keys: a function without a role (which the API refuses) gets none.
        identity = credentials_for(self.ctx, version.role, version.name)
        if identity.session_token:
            env["AWS_SESSION_TOKEN"] = identity.session_token
        env.update(
            {
                "AWS_ENDPOINT_URL": self.ctx.endpoint_url,
                "AWS_ACCESS_KEY_ID": identity.access_key_id,
                "AWS_SECRET_ACCESS_KEY": identity.secret_access_key,
                "AWS_REGION": version.region,
                "AWS_DEFAULT_REGION": version.region,
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_LAMBDA_FUNCTION_NAME": version.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(version.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": version.log_group,
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                "LAMBDA_TASK_ROOT": "",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        return env


def _default_cache_root() -> Path:
    import tempfile

    # Per server process: code is cached by CodeSha256 while it runs, removed when it stops. The pid
    # in the name lets the next server remove what a killed one left (server.sweep_stale_scratch).
    return Path(tempfile.mkdtemp(prefix=f"mlpipe-lambda-code-{os.getpid()}-"))
