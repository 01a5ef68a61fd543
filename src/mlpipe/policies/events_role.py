"""The EventBridge role's policy: start this app's pipeline, nothing else.

EventBridge assumes it to deliver the CodeCommit branch event to the pipeline (AWS's recommended
trigger for CodeCommit sources: polling stops after 30 days without a run).
"""

from __future__ import annotations

from mlpipe.names import Names
from mlpipe.policies.statements import Policy, document, statement


def events_role_policy(names: Names) -> Policy:
    return document([statement("StartPipeline", ["codepipeline:StartPipelineExecution"], [names.pipeline_arn()])])
