"""Every failure fateops raises, each carrying what went wrong *and* what to do about it.

Like Flower's exit codes, each kind maps to a fix: operators print ``str(error)`` (the cause and the
fix on one line) and tests match on the type, never on the wording.
"""

from __future__ import annotations


class FateopsError(Exception):
    """Base of all fateops errors: a cause plus the next step for the operator."""

    default_fix = "see the task log for details"

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix or self.default_fix
        super().__init__(f"{message} — fix: {self.fix}")


class ConfigError(FateopsError):
    """A federation/chaos/job config is malformed; nothing has been deployed or uploaded."""

    default_fix = "correct the named field in the config file and run again"

    def __init__(self, message: str, *, field: str | None = None, value: object = None, fix: str | None = None):
        self.field = field
        self.value = value
        where = f"{field}: " if field else ""
        shown = f" (got {value!r})" if value is not None else ""
        super().__init__(f"{where}{message}{shown}", fix=fix)


class DataValidationError(FateopsError):
    """A dataset failed validation; nothing was uploaded."""

    default_fix = "fix the rows/columns named above in the source file, then re-run the prepare step"


class EngineError(FateopsError):
    """The local FATE engine could not be installed, started, stopped or reached."""

    default_fix = ("run `fateops engine status` and read the server log .fateops/engine/server.log (FATE's own logs: "
                   ".fateops/engine/home/logs/; both under $FATEOPS_STATE_DIR when it is set)")


class FateFlowError(FateopsError):
    """FATE Flow answered with ``code != 0`` or an unusable response."""

    default_fix = "check the FATE Flow server log and the request parameters"

    def __init__(self, message: str, *, code: int | None = None, endpoint: str | None = None, fix: str | None = None):
        self.code = code
        self.endpoint = endpoint
        prefix = f"{endpoint}: " if endpoint else ""
        suffix = f" (code {code})" if code is not None else ""
        super().__init__(f"{prefix}{message}{suffix}", fix=fix)


class FateFlowUnavailable(FateFlowError):
    """FATE Flow could not be reached (connection refused/reset, timeout, 5xx): transient."""

    default_fix = "is the engine running? `fateops engine status`; on Kubernetes check the python pod"


class FateJobFailed(FateopsError):
    """A FATE job ended failed/canceled/timeout on at least one party."""

    default_fix = "read the failing task's log excerpt above; fix the input and rerun or resubmit the job"

    def __init__(self, message: str, *, job_id: str, status: str, failed_tasks: list[str] | None = None,
                 fix: str | None = None):
        self.job_id = job_id
        self.status = status
        self.failed_tasks = failed_tasks or []
        super().__init__(message, fix=fix)


class FateJobTimeout(FateJobFailed):
    """fateops' own deadline passed before the job ended; the job has been stopped."""

    default_fix = ("raise the sensor timeout Param if the job is just slow; otherwise check that every "
                   "party's FATE Flow is up (a hung party makes FATE jobs wait until their own timeout)")


class KubernetesError(FateopsError):
    """A Kubernetes or Helm action failed or timed out."""

    default_fix = "check `kubectl -n <namespace> get events` and the Airflow connection of that cluster"


class VSphereError(FateopsError):
    """A vCenter action failed or timed out."""

    default_fix = "check the vSphere connection (host, user) and the VM/host names in the drill config"


class DrillError(FateopsError):
    """A chaos drill could not be run safely (not allowed, unknown, or a heal failed)."""

    default_fix = "mark the party `chaos: allowed` in the federation config or pick another drill"
