"""Helpers every planner uses: ownership checks and comparing what exists with what is wanted."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from mlpipe.errors import ForeignResourceError
from mlpipe.names import TAG_APP, TAG_STAGE, Names


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """{"k": "v"} -> [{"Key": "k", "Value": "v"}] (IAM, S3, SageMaker, CodeBuild... style)."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def tag_dict(tags: Iterable[Mapping[str, str]] | Mapping[str, str] | None) -> dict[str, str]:
    """Either AWS tag shape -> a plain dict."""
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        return dict(tags)
    return {t.get("Key", t.get("key", "")): t.get("Value", t.get("value", "")) for t in tags}


def require_owned(names: Names, kind: str, name: str, tags: Mapping[str, str] | None) -> None:
    """Refuse to touch a same-named resource that mlpipe did not create for this app and stage."""
    if names.owns(dict(tags or {})):
        return
    tags = dict(tags or {})
    owner = (
        f"it belongs to mlpipe app '{tags.get(TAG_APP)}' stage '{tags.get(TAG_STAGE)}'"
        if TAG_APP in tags
        else "it has no mlpipe tags, so someone else created it"
    )
    raise ForeignResourceError(
        f"{kind} '{name}' already exists and {owner}; mlpipe will not modify it",
        hint="choose another app or stage in mlpipe.yaml, or delete/rename that resource yourself",
    )


def normalized(document: Any) -> Any:
    """A JSON document (or its string form) in a canonical form, for comparisons."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return document
    return json.loads(json.dumps(document, sort_keys=True))
