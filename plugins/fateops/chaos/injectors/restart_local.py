"""A local daemon of the multi-site topology restarted mid-job: the Exchange's traffic-server, or one party's broker.

The Kubernetes drills delete a pod and its controller brings a new one; locally nothing supervises these
daemons but fateops, so the restart is played in two halves: :meth:`inject` stops the daemon (its process
group, the way a deleted pod goes), the daemon stays down for the fault's ``duration_s``, and :meth:`lift`
starts it again — a new process, checked by pid. Time to detect is the daemon's own probe failing; time to
recover runs from the lift until the new process serves (and, for the Exchange, routes every party again).

Multi-site mode only (``local_sites:``): a single shared engine has neither an Exchange nor a broker.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from fateops.chaos.injectors.base import DrillContext, Injector, JobRef, require_local_sites
from fateops.exceptions import DrillError

__all__ = ["RestartBroker", "RestartExchange"]

START_TIMEOUT_S = 180.0


class _RestartDaemon(Injector):
    """Stop a daemon (inject), start it again (lift); ``recovered`` = serving with a new pid."""

    backend = "local"
    what: str = "daemon"

    def __init__(self, spec: Any, ctx: DrillContext) -> None:
        super().__init__(spec, ctx)
        self.sites = require_local_sites(ctx, self.action, f"one shared engine has no {self.what}",
                                         fix="use federation.local.yaml (or another config with local_sites:)")
        self.old_pid: int | None = None
        self.new_pid: int | None = None

    # what a daemon must say about itself
    @abstractmethod
    def _pid(self) -> int | None: ...

    @abstractmethod
    def _problem(self) -> str:
        """'' when the daemon serves, else what is wrong (its own health probe)."""

    @abstractmethod
    def _stop(self) -> None: ...

    @abstractmethod
    def _start(self) -> int: ...

    def preflight(self) -> None:
        if self._pid() is None or self._problem():
            raise DrillError(f"{self.what} is not serving before the drill: {self._problem() or 'not running'}",
                             fix="start the sites and the Exchange first (`fateops engine start --party all`, "
                                 "`fateops exchange federate`): drills only break what is healthy")

    def inject(self, job: JobRef | None) -> None:
        self.old_pid = self._pid()
        if self.old_pid is None:
            raise DrillError(f"{self.what} stopped before the drill could restart it")
        self._stop()
        self.note(f"{self.what} (pid {self.old_pid}) stopped")

    def detected(self) -> bool:
        return self._pid() is None or bool(self._problem())

    def recovered(self) -> bool:
        pid = self._pid()
        return pid is not None and pid != self.old_pid and not self._problem()

    def lift(self) -> None:
        if self._pid() is None:
            self.new_pid = self._start()
            self.note(f"{self.what} started again: new pid {self.new_pid} (was {self.old_pid})")

    def record(self) -> dict[str, Any]:
        return {"old_pid": self.old_pid}

    def restore(self, record: dict[str, Any]) -> None:
        self.old_pid = record.get("old_pid")


class RestartExchange(_RestartDaemon):
    """The Exchange's traffic-server restarted (traffic_manager and traffic_server: a new process)."""

    action = "restart_exchange"

    def __init__(self, spec: Any, ctx: DrillContext) -> None:
        super().__init__(spec, ctx)
        self.what = f"the Exchange (traffic-server at {self.sites.exchange.url})"

    def describe(self) -> str:
        return (f"stop {self.what}, keep it down {self.spec.duration_s or 0:.0f}s, start it again with the "
                "federation's routes (a new pid); heal: start it if it is still down")

    def _pid(self) -> int | None:
        return self.sites.exchange.pid()

    def _problem(self) -> str:
        return self.sites.exchange.probe()

    def _stop(self) -> None:
        self.sites.exchange.stop()

    def _start(self) -> int:
        return self.sites.exchange.start(self.sites.route_table(), timeout_s=START_TIMEOUT_S)

    def recovered(self) -> bool:
        """Serving with a new pid *and* routing every party to its own FATE Flow again."""
        if not super().recovered():
            return False
        try:
            self.sites.verify_routes(timeout_s=5.0)
        except Exception:  # not yet: a route check failing is "still recovering", never a crash
            return False
        return True


class RestartBroker(_RestartDaemon):
    """The drilled party's own RabbitMQ node restarted (``rabbitmqctl stop``, then a new node process)."""

    action = "restart_broker"

    def __init__(self, spec: Any, ctx: DrillContext) -> None:
        super().__init__(spec, ctx)
        self.broker = self.sites.site(ctx.party).broker
        self.what = f"party {ctx.party.party_id}'s RabbitMQ node {self.broker.node}"

    def describe(self) -> str:
        return (f"stop {self.what} (`rabbitmqctl stop`), keep it down {self.spec.duration_s or 0:.0f}s, start it "
                "again (a new pid); heal: start it if it is still down")

    def _pid(self) -> int | None:
        return self.broker.pid()

    def _problem(self) -> str:
        return self.broker.probe()

    def _stop(self) -> None:
        self.broker.stop()

    def _start(self) -> int:
        return self.broker.start(timeout_s=START_TIMEOUT_S)
