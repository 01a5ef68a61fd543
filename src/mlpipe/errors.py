"""One exception hierarchy. Each error carries the process exit code and an optional hint.

The CLI prints ``Error: <message>`` and, on a second line, ``Hint: <hint>``; a traceback only with
``--debug``. Library code raises these instead of printing.
"""

from __future__ import annotations


class MlpipeError(Exception):
    """Base of every error mlpipe reports to the user."""

    exit_code = 1
    # True when the same call may well succeed if made again (the network or the service blinked).
    transient = False

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(MlpipeError):
    """Bad command-line usage or input values (a missing file, a malformed payload...)."""

    exit_code = 2


class ConfigError(MlpipeError):
    """mlpipe.yaml (or its overrides) is invalid."""

    exit_code = 3


class AwsTargetError(MlpipeError):
    """Credentials, region or endpoint problems: we cannot talk to the target at all."""

    exit_code = 4


class AwsError(MlpipeError):
    """An AWS API call failed in a way the user must act on."""

    exit_code = 5

    def __init__(self, message: str, hint: str | None = None, code: str | None = None, aws_message: str = "") -> None:
        super().__init__(message, hint)
        self.code = code
        self.aws_message = aws_message  # the service's own message, for callers that match on it


class NotSupportedByEmulator(AwsError):
    """The embedded AWS does not implement an operation (moto answers HTTP 500)."""


class ForeignResourceError(MlpipeError):
    """A resource with the name mlpipe wants exists but carries no (or other) mlpipe tags."""

    exit_code = 6


class NotDeployedError(MlpipeError):
    """The command needs a deployment (or endpoint) that does not exist yet."""

    exit_code = 7


class ModelError(MlpipeError):
    """Training data, training or the model artifact is unusable."""

    exit_code = 8


class DeliveryError(MlpipeError):
    """Some messages could not be sent (or did not come back) - never silently dropped."""

    exit_code = 9


class WaitTimeout(AwsError):
    """Something mlpipe waited for (a resource settling, a task ending) did not happen in time."""


class Interrupted(MlpipeError):
    """Ctrl-C (SIGINT) stopped the command. The message says how far it got; `rerun` means running
    the same command again finishes the work (the CLI names that command in the hint)."""

    exit_code = 130  # 128 + SIGINT: what a shell reports for a process Ctrl-C ended

    def __init__(self, message: str, hint: str | None = None, rerun: bool = False) -> None:
        super().__init__(message, hint)
        self.rerun = rerun
