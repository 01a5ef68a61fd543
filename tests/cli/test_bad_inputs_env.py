"""A bad environment: credentials, profile, region, endpoints that are not AWS, a cache directory
or HOME that cannot be written, a directory init cannot write to. One line naming what and where,
and the fix; nothing created."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from battery import GOOD, Case, run_case

from conftest import free_port
from mlpipe.aws.clients import Clients

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}
NO_CACHE = {"MLPIPE_CACHE_DIR": "", "XDG_CACHE_HOME": ""}  # the cache goes under HOME


def _unwritable_directory() -> str | None:
    """A directory even root cannot write in (sysfs), when this machine has one."""
    try:
        Path("/sys/.mlpipe-probe").write_text("")
    except OSError:
        return "/sys"
    Path("/sys/.mlpipe-probe").unlink()
    return None


def env(id: str, argv: tuple[str, ...], expect: str | tuple[str, ...], code: int, **kw: object) -> Case:
    return Case(id, argv, expect, code, local=bool(kw.pop("local", False)), **kw)  # type: ignore[arg-type]


CASES = [
    env(
        "profile-from-env",
        ("--region", "eu-west-1", "status"),
        ("'nosuchprofile' (from AWS_PROFILE)", "unset AWS_PROFILE"),
        4,
        env={"AWS_PROFILE": "nosuchprofile"},
    ),
    env("profile-option", ("--profile", "nobody", "--region", "eu-west-1", "deploy"), "profile 'nobody'", 4),
    env("profile-in-yaml", ("--region", "eu-west-1", "deploy"), "profile 'ghost'", 4, yaml=GOOD + "profile: ghost\n"),
    env("no-credentials", ("--region", "eu-west-1", "deploy"), ("no AWS credentials found", "aws configure"), 4),
    env("no-region", ("deploy",), ("no AWS region configured", "--region"), 4, env=CREDENTIALS),
    env(
        "unreachable-endpoint",
        ("--endpoint-url", "http://127.0.0.1:{free}", "deploy"),
        ("cannot reach the embedded AWS at http://127.0.0.1:", "mlpipe local up"),
        4,
    ),
    env(
        "unreachable-aws-endpoint-url-env",
        ("status",),
        "cannot reach the embedded AWS",
        4,
        env={"AWS_ENDPOINT_URL": "http://127.0.0.1:{free}"},
    ),
    env("endpoint-is-a-web-server", ("--endpoint-url", "{web}", "deploy"), ("{web}", "does not answer like AWS"), 4),
    env("endpoint-web-server-json-api", ("--endpoint-url", "{web}", "tail", "logs"), "{web}", 4),
    env("endpoint-web-server-status", ("--endpoint-url", "{web}", "status"), "{web}", 4),
    env("endpoint-not-http", ("--endpoint-url", "ftp://x", "deploy"), ("option --endpoint-url", "'ftp://x'"), 3),
    env(
        "local-unknown-region",
        ("--region", "xx-nowhere-9", "status"),
        ("region 'xx-nowhere-9' is not an AWS region", "us-east-1"),
        4,
        local=True,
    ),
    env(
        "local-unknown-region-yaml",
        ("deploy",),
        "region 'xx-nowhere-9'",
        4,
        yaml=GOOD + "region: xx-nowhere-9\n",
        local=True,
    ),
    env(
        "local-not-running-yaml",
        ("status",),
        ("embedded AWS is not running", "set target: aws in mlpipe.yaml"),
        4,
        yaml=GOOD + "target: local\n",
    ),
    env("local-not-running-option", ("--local", "status"), ("embedded AWS is not running", "drop --local"), 4),
    env(
        "local-not-running-env", ("status",), ("not running", "unset MLPIPE_TARGET"), 4, env={"MLPIPE_TARGET": "local"}
    ),
    env(
        "cache-dir-is-a-file",
        ("local", "up", "--port", "0"),
        ("MLPIPE_CACHE_DIR", "it is a file", "MLPIPE_CACHE_DIR="),
        2,
        env={"MLPIPE_CACHE_DIR": "{project}/afile"},
        files={"afile": "x"},
    ),
    env(
        "home-not-writable-local-up",
        ("local", "up", "--port", "0"),
        ("afile/.cache/mlpipe", "MLPIPE_CACHE_DIR="),
        2,
        env={"HOME": "{project}/afile", **NO_CACHE},
        files={"afile": "x"},
    ),
    env(
        "xdg-cache-is-a-file",
        ("local", "up", "--port", "0"),
        "afile/mlpipe",
        2,
        env={"MLPIPE_CACHE_DIR": "", "XDG_CACHE_HOME": "{project}/afile"},
        files={"afile": "x"},
    ),
    env(
        "home-not-writable-demo",
        ("demo",),
        ("afile/.cache/mlpipe", "MLPIPE_CACHE_DIR="),
        2,
        env={"HOME": "{project}/afile", **NO_CACHE},
        files={"afile": "x"},
        yaml=None,
    ),
    env(
        "cache-dir-is-a-file-demo",
        ("demo", "--rows", "1"),
        ("MLPIPE_CACHE_DIR", "it is a file"),
        2,
        env={"MLPIPE_CACHE_DIR": "{project}/afile"},
        files={"afile": "x"},
        yaml=None,
    ),
    env("config-env-is-a-directory", ("status",), "cannot read", 3, env={"MLPIPE_CONFIG": "{project}"}),
    env(
        "config-not-utf8",
        ("status",),
        ("mlpipe.yaml: cannot read", "utf-8"),
        3,
        yaml=None,
        files={"mlpipe.yaml": b"app: caf\xe9\n"},
    ),
    env(
        "typo-in-env",
        ("status",),
        ("MLPIPE_FUNCTON__TIMEOUT_S", "did you mean MLPIPE_FUNCTION__TIMEOUT_S"),
        3,
        env={"MLPIPE_FUNCTON__TIMEOUT_S": "60"},
    ),
    env("env-stage-bad", ("status",), ("env MLPIPE_STAGE", "'Prod'"), 3, env={"MLPIPE_STAGE": "Prod"}),
    env(
        "env-out-of-range",
        ("status",),
        ("env MLPIPE_QUEUE__RETENTION_S", "30"),
        3,
        env={"MLPIPE_QUEUE__RETENTION_S": "30"},
    ),
]
if _unwritable_directory():
    CASES.append(
        env(
            "init-read-only-dir",
            ("--config", "/sys/mlpipe.yaml", "init"),
            ("/sys/mlpipe.yaml: cannot write it", "a directory you can write to"),
            2,
            yaml=None,
        )
    )


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    """An HTTP service that is not AWS: every request gets a 200 web page."""

    class Page(http.server.BaseHTTPRequestHandler):
        def _page(self) -> None:
            body = b"<!doctype html><html><body>\n<h1>Welcome</h1>\n</body></html>\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_HEAD = _page

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_environment_gives_one_line_error_and_creates_nothing(
    case: Case,
    module_clients: Clients,
    endpoint_url: str,
    web: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    places = {"web": web, "free": str(free_port())}
    case = Case(**{**case.__dict__, "expect": tuple(f.replace("{web}", web) for f in case.fragments)})
    run_case(case, module_clients, endpoint_url, tmp_path, monkeypatch, capsys, places=places)
