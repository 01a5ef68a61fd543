"""sagemaker-runtime InvokeEndpoint with real predictions (moto answers a canned body).

endpoint -> endpoint config -> model -> ModelDataUrl -> model.tar.gz in the emulated S3, loaded
the way its container loads it (the framework of the model's image, mlpipe.model.framework) and cached by the
artifact's location and ETag, so a retrained artifact under the same key is picked up. The artifact
is read as the model's execution role, as SageMaker does (its policy must allow s3:GetObject), and
the container's lines (model loaded, each refused request) are written as that role too.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from mlpipe.local.registry import AwsApiError, Context, on_reset, on_startup, override

log = logging.getLogger("mlpipe.local")

# (region, config name) -> (artifact url, variant, the model's execution role ARN, container image)
_configs: dict[tuple[str, str], tuple[str, str, str, str]] = {}
_models: dict[tuple[str, str], tuple[Any, Any]] = {}  # (artifact url, etag) -> (framework, loaded model)
_etags: dict[tuple[str, str], tuple[str, float]] = {}  # (bucket, key) -> (etag, when checked)
_log_refused: set[str] = set()  # endpoints whose container lines are being lost (warned once)
ETAG_TTL_S = 1.0
_lock = threading.Lock()


@override("sagemaker-runtime", "InvokeEndpoint")
def invoke_endpoint(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    from mlpipe.model.framework import ServingError

    name = params["EndpointName"]
    artifact_url, variant, role, image = _resolve(ctx, name)
    framework, model, loaded = _model(ctx, artifact_url, role, image)
    if loaded:  # the container started with this model
        _container_log(ctx, name, variant, role, f"{framework.name} model loaded from {artifact_url}")
    try:
        body, content_type = framework.predict(
            model, params.get("Body") or b"", params.get("ContentType"), params.get("Accept")
        )
    except ServingError as exc:
        _container_log(ctx, name, variant, role, f"ERROR: {exc.status}: {exc.message}")
        kind = "client" if exc.status < 500 else "server"
        raise AwsApiError(
            "ModelError",
            f'Received {kind} error ({exc.status}) from primary with message "{exc.message}". '
            f"See https://us-east-1.console.aws.amazon.com/cloudwatch/home?region={ctx.region}"
            f"#logEventViewer:group=/aws/sagemaker/Endpoints/{name} in account {ctx.account_id} for more information.",
            424,
            extra={
                "OriginalStatusCode": exc.status,
                "OriginalMessage": exc.message,
                "LogStreamArn": f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:/aws/sagemaker/Endpoints/{name}",
            },
        ) from None
    return {"Body": body, "ContentType": content_type, "InvokedProductionVariant": variant}


@on_startup
def preload(ctx: Context) -> None:
    """Import xgboost/numpy in the background now: ~2 s that would otherwise delay the first prediction."""

    def load() -> None:
        import numpy  # noqa: F401
        import xgboost  # noqa: F401

    threading.Thread(target=load, name="mlpipe-preload-xgboost", daemon=True).start()


@on_reset
def forget(ctx: Context) -> None:
    with _lock:
        _configs.clear()
        _models.clear()
        _etags.clear()
        _log_refused.clear()


def _resolve(ctx: Context, name: str) -> tuple[str, str, str, str]:
    config_name, status = _endpoint(ctx, name)
    if status not in ("InService", "Updating", "SystemUpdating"):
        raise AwsApiError("ValidationError", f"Endpoint {name} is not in service (status {status}).", 400)
    key = (ctx.region, config_name)
    with _lock:
        if key in _configs:
            return _configs[key]
    sagemaker = ctx.client("sagemaker", ctx.region)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    variant = config["ProductionVariants"][0]
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    url = container.get("ModelDataUrl") or (container.get("ModelDataSource", {}).get("S3DataSource", {}).get("S3Uri"))
    if not url:
        raise AwsApiError("ModelError", f"model {variant['ModelName']} has no ModelDataUrl", 424)
    resolved = (
        str(url),
        str(variant.get("VariantName", "AllTraffic")),
        str(model.get("ExecutionRoleArn") or ""),
        str(container.get("Image") or ""),
    )
    with _lock:
        _configs[key] = resolved
    return resolved


def _endpoint(ctx: Context, name: str) -> tuple[str, str]:
    """(config name, status) read from moto's backend in-process: this runs on every prediction,
    and a DescribeEndpoint through HTTP would cost as much as the prediction itself."""
    from moto.sagemaker.models import sagemaker_backends

    try:
        endpoint = sagemaker_backends[ctx.account_id][ctx.region].endpoints.get(name)
    except KeyError:
        endpoint = None
    if endpoint is None:
        raise AwsApiError("ValidationError", f"Endpoint {name} of account {ctx.account_id} not found.", 400)
    return str(endpoint.endpoint_config_name), str(endpoint.endpoint_status)


def _s3(ctx: Context, role: str) -> Any:
    """S3 as the model's execution role (the emulator's own identity when a model names none)."""
    if not role:
        return ctx.client("s3", ctx.region)
    from mlpipe.local.iam.actors import role_client

    return role_client(ctx, role, "SageMaker", "s3", ctx.region)


def _download_error(bucket: str, key: str, role: str, exc: Any) -> AwsApiError:
    code = exc.response.get("Error", {}).get("Code", "") if hasattr(exc, "response") else ""
    if code in ("AccessDenied", "403"):  # a HEAD's 403 has no body: say what SageMaker says
        reason = (
            f'access denied. Ensure that the role "{role}" has "s3:GetObject" permission on '
            f"arn:aws:s3:::{bucket}/{key} (SageMaker reads the model as the model's execution role)."
        )
    else:
        reason = "the object does not exist."
    return AwsApiError("ModelError", f"Failed to download model data from s3://{bucket}/{key}: {reason}", 424)


def _etag(ctx: Context, bucket: str, key: str, role: str) -> str:
    """The artifact's ETag, re-checked at most every ETAG_TTL_S (a retrained artifact under the same
    key is noticed within that time)."""
    now = time.monotonic()
    with _lock:
        cached = _etags.get((bucket, key))
    if cached is not None and now - cached[1] < ETAG_TTL_S:
        return cached[0]
    s3 = _s3(ctx, role)
    try:
        etag = str(s3.head_object(Bucket=bucket, Key=key)["ETag"])
    except s3.exceptions.ClientError as exc:
        raise _download_error(bucket, key, role, exc) from None
    with _lock:
        _etags[(bucket, key)] = (etag, now)
    return etag


def _model(ctx: Context, url: str, role: str, image: str) -> tuple[Any, Any, bool]:
    """(framework, loaded model, loaded just now): the framework whose container the model names
    loads it (XGBoost, as ever, for an image no framework claims)."""
    from mlpipe.model.framework import ServingError, for_image, get

    if not url.startswith("s3://"):
        raise AwsApiError("ModelError", f"ModelDataUrl {url} is not an s3:// URL", 424)
    bucket, _, key = url[len("s3://") :].partition("/")
    etag = _etag(ctx, bucket, key, role)
    s3 = _s3(ctx, role)
    with _lock:
        cached = _models.get((url, etag))
        if cached is not None:
            return (*cached, False)
        try:
            framework = for_image(image) or get()
            loaded = (framework, framework.load(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
        except ServingError as exc:
            raise AwsApiError("ModelError", f"Failed to load the model from {url}: {exc.message}", 424) from None
        _models[(url, etag)] = loaded
        return (*loaded, True)


def _container_log(ctx: Context, endpoint: str, variant: str, role: str, line: str) -> None:
    """A line of the serving container into `/aws/sagemaker/Endpoints/<endpoint>`, stream
    `<variant>/i-<id>`, written as the model's execution role as SageMaker does: refused, it is lost
    (the prediction is unaffected) and the server log says so once per endpoint."""
    import hashlib

    from mlpipe.local.role_logs import RoleLogStream

    instance = hashlib.sha256(f"{ctx.account_id}/{ctx.region}/{endpoint}".encode()).hexdigest()[:17]
    group = f"/aws/sagemaker/Endpoints/{endpoint}"
    writer = RoleLogStream(ctx.account_id, ctx.region, group, f"{variant}/i-{instance}", role, "SageMaker")
    refused = writer.write(ctx, [{"timestamp": int(time.time() * 1000), "message": line}])
    with _lock:
        first = bool(refused) and endpoint not in _log_refused
        if refused:
            _log_refused.add(endpoint)
        else:
            _log_refused.discard(endpoint)
    if first:
        log.warning("endpoint %s: its container's log lines are lost: %s", endpoint, refused)
