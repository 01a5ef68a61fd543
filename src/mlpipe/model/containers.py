"""Which SageMaker XGBoost container serves a model correctly, and its image URI.

A model saved by xgboost >= 3.1 loads *silently wrong* (base_score lost) in the 1.7-1 and 3.0-5
containers, so the container must run the same xgboost minor version that saved the model. mlpipe
picks it from the installed xgboost and refuses any other version, with the command that fixes it.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata

from mlpipe.errors import ModelError

# xgboost "major.minor" that saved the model -> the container version that loads it correctly.
CONTAINERS = {"1.7": "1.7-1", "3.0": "3.0-5", "3.2": "3.2-0"}
RECOMMENDED_PIN = "xgboost-cpu>=3.2,<3.3"
FIX_COMMAND = f"pip uninstall -y xgboost && pip install '{RECOMMENDED_PIN}'"
REPOSITORY = "sagemaker-xgboost"

# Account of the SageMaker XGBoost ECR registry, per region (AWS publishes these; the sagemaker
# SDK's image_uri_config/xgboost.json). Other regions go through the SDK, when installed.
REGISTRY_ACCOUNTS = {
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
    "ca-central-1": "341280168497",
    "sa-east-1": "737474898029",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "eu-central-1": "492215442770",
    "eu-north-1": "662702820516",
    "ap-south-1": "720646828776",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
}


# The SDK whose image table has the 3.2-0 container (older ones fail for regions outside ours).
SDK_MINIMUM = {"sagemaker": "3.15.1", "sagemaker-core": "2.15.1"}
SDK_PIN = " ".join(f"'{dist}>={version}'" for dist, version in SDK_MINIMUM.items())


def _version_of(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def installed_xgboost_version(version_of: Callable[[str], str | None] = _version_of) -> str:
    """The version of the xgboost that trains here, without importing it (that is slow).

    xgboost-cpu and xgboost install the same `xgboost` package directory: with both, which files
    import is whichever was installed last, and neither's metadata can be trusted."""
    found = {dist: version for dist in ("xgboost-cpu", "xgboost") if (version := version_of(dist)) is not None}
    if len(found) == 2:
        raise ModelError(
            f"both xgboost-cpu {found['xgboost-cpu']} and xgboost {found['xgboost']} are installed: they "
            "share the `xgboost` import, so the build that trains cannot be told",
            hint=f"remove both, then install the one mlpipe pins: pip uninstall -y xgboost xgboost-cpu && "
            f"pip install '{RECOMMENDED_PIN}'",
        )
    if found:
        return next(iter(found.values()))
    raise ModelError(
        "xgboost is not installed: training needs it",
        hint=f"pip install '{RECOMMENDED_PIN}'",
    )


def container_version(xgboost_version: str | None = None) -> str:
    """The container version for a model saved by `xgboost_version` (default: the installed one)."""
    version = xgboost_version or installed_xgboost_version()
    series = ".".join(version.split(".")[:2])
    try:
        return CONTAINERS[series]
    except KeyError:
        served = ", ".join(f"{c} (xgboost {s}.x)" for s, c in CONTAINERS.items())
        raise ModelError(
            f"xgboost {version} is installed, but no SageMaker XGBoost container serves its models "
            f"correctly (containers: {served})",
            hint=f"install the build mlpipe pins: {FIX_COMMAND}",
        ) from None


def image_uri(region: str, version: str) -> str:
    """The SageMaker XGBoost image for a region and container version."""
    account = REGISTRY_ACCOUNTS.get(region)
    if account is not None:
        return f"{account}.dkr.ecr.{region}.amazonaws.com/{REPOSITORY}:{version}"
    return _sdk_image_uri(region, version)


def require_sdk(version_of: Callable[[str], str | None] = _version_of) -> None:
    """The SageMaker SDK, recent enough to know the 3.2-0 image (sagemaker 3.15.1, sagemaker-core 2.15.1)."""
    for dist, minimum in SDK_MINIMUM.items():
        installed = version_of(dist)
        if installed is not None and _release(installed) < _release(minimum):
            raise ModelError(
                f"{dist} {installed} is installed; resolving the XGBoost image outside mlpipe's table needs "
                f"{dist} >= {minimum}",
                hint=f"pip install {SDK_PIN}",
            )


def _release(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit()) if not part.isdigit() else part
        parts.append(int(digits or 0))
        if not part.isdigit():
            break
    return tuple(parts)


def _sdk_image_uri(region: str, version: str) -> str:
    require_sdk()
    try:
        from sagemaker.core import image_uris  # ~3 s to import: only for regions not in the table
    except ImportError:
        raise ModelError(
            f"mlpipe has no XGBoost image table entry for region {region}",
            hint=f"pip install {SDK_PIN} to resolve it with the SageMaker SDK, or use one of: "
            + ", ".join(sorted(REGISTRY_ACCOUNTS)),
        ) from None
    try:
        return str(image_uris.retrieve(framework="xgboost", region=region, version=version))
    except ValueError as exc:
        raise ModelError(f"no XGBoost {version} image in region {region}: {exc}") from None
