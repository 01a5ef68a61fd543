"""Where trained models live in S3, and which one is current.

Layout in the model bucket (`Names.model_bucket`):
    models/<version>/model.tar.gz      the artifact (only the model file at its root)
    models/<version>/metadata.json     feature names and count, xgboost version, image URI, metrics...
    models/current.json                the metadata of the version the endpoint serves, plus
                                       "version" and "artifact_uri"; written by `train` after the
                                       endpoint update succeeded, read by `deploy` and `send`.
"""

from __future__ import annotations

import json
from typing import Any

from mlpipe.aws.calls import read
from mlpipe.aws.clients import Clients
from mlpipe.names import Names

CURRENT_KEY = "models/current.json"


def artifact_key(version: str) -> str:
    return f"models/{version}/model.tar.gz"


def metadata_key(version: str) -> str:
    return f"models/{version}/metadata.json"


def read_current(clients: Clients, names: Names) -> dict[str, Any] | None:
    """The current model's metadata, or None when no model was trained for this app and stage."""
    s3 = clients.client("s3")
    found = read(
        clients,
        s3.get_object,
        Bucket=names.model_bucket,
        Key=CURRENT_KEY,
        missing=("NoSuchBucket", "NoSuchKey", "404", "AccessDenied"),
    )
    if found is None:
        return None
    data: dict[str, Any] = json.loads(found["Body"].read())
    return data


def write_current(clients: Clients, names: Names, metadata: dict[str, Any]) -> None:
    clients.client("s3").put_object(
        Bucket=names.model_bucket,
        Key=CURRENT_KEY,
        Body=json.dumps(metadata, indent=2, sort_keys=True).encode(),
        ContentType="application/json",
        ServerSideEncryption="AES256",
    )
