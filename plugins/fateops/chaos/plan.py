"""Wiring a drill run: which party, which drills, which clients — then run them and write the scorecard.

Shared by ``fateops chaos`` and the ``fate_chaos_drill`` DAG, so both refuse the same things (a party
not marked ``chaos: allowed``, a drill that does not run on the backend) with the same messages, and
heal from the same ledger.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fateops.chaos.catalogue import Catalogue, Drill, FaultSpec
from fateops.chaos.injectors import REGISTRY, DrillContext
from fateops.chaos.ledger import FaultRecord, Ledger
from fateops.chaos.result import DrillResult
from fateops.chaos.runner import DrillRunner
from fateops.chaos.scorecard import Scorecard
from fateops.exceptions import DrillError
from fateops.federation import Federation, Party

__all__ = ["Targets", "allowed_party", "drill_context", "has_sites", "heal_ledger", "heal_record", "run_drills",
           "select_drills"]

log = logging.getLogger(__name__)
Log = Callable[[str], None]


@dataclass(frozen=True)
class Targets:
    """Names a drill needs under the party and that no federation config holds (vSphere inventory)."""

    vm_name: str | None = None
    host_name: str | None = None
    node_name: str | None = None


def allowed_party(federation: Federation, party_id: int | str) -> Party:
    """The party to drill, refused unless the federation marks it ``chaos: allowed``."""
    party = federation.party(party_id)
    if party.chaos != "allowed":
        allowed = [str(p.party_id) for p in federation.parties if p.chaos == "allowed"]
        raise DrillError(f"party {party.label} is 'chaos: {party.chaos}' in federation {federation.name!r}",
                         fix=f"drill one of {', '.join(allowed)} or set 'chaos: allowed' on it" if allowed
                         else "set 'chaos: allowed' on the party in the federation config to permit drills")
    return party


def has_sites(backend: str, federation: Federation | None) -> bool:
    """The federation's shape picks a drill's local fault: a site per party (``local_sites:``) or one engine."""
    if backend != "local" or federation is None:
        return False
    from fateops.engine.sites import uses_sites

    return uses_sites(federation)


def select_drills(catalogue: Catalogue, backend: str, ids: Iterable[str] = (),
                  federation: Federation | None = None) -> list[Drill]:
    """The drills to run (all that apply to ``backend`` when ``ids`` is empty), in catalogue order.

    With ``federation`` its shape decides what ``local`` offers: the ``local_sites`` faults (the Exchange, a
    broker, one party's own site) when it runs a site per party, only the one-engine ``local`` faults otherwise.
    """
    sites = has_sites(backend, federation)
    chosen = catalogue.select(backend, [i for i in ids if i], sites=sites)
    if not chosen:
        raise DrillError(f"no drill of the catalogue runs on {backend}", fix="pick another backend")
    return chosen


@contextlib.contextmanager
def drill_context(backend: str, federation: Federation, party: Party, *, fateflow_url: str = "",
                  fate_auth: Any = None, resolver: Callable[[str], Any] | None = None, vsphere: Any = None,
                  targets: Targets | None = None, run_id: str = "manual") -> Iterator[DrillContext]:
    """A :class:`DrillContext` with the clients the backend needs; every client is closed on exit.

    ``resolver`` maps a kubernetes connection id to a :class:`~fateops.k8s.access.KubeAccess` (the DAG
    passes the Airflow one, the CLI the environment one); ``vsphere`` is a
    :class:`~fateops.vsphere.session.VSphereSession` for the host/VM drills.
    """
    targets = targets or Targets()
    ctx = DrillContext(backend=backend, federation=federation, party=party,  # type: ignore[arg-type]
                       fateflow_url=fateflow_url, fate_auth=fate_auth, vsphere=vsphere, vm_name=targets.vm_name,
                       host_name=targets.host_name, node_name=targets.node_name, run_id=run_id)
    opened: list[Any] = []
    try:
        if backend == "local":
            from fateops.engine import LocalEngine
            from fateops.engine.sites import LocalSites, uses_sites

            # multi-site: the party's OWN FATE Flow is the target (the other site keeps serving); jobs are
            # submitted at the initiator's site and watched at every site
            if uses_sites(federation):
                sites = LocalSites(federation)
                ctx.engine = sites.site(party).engine
                ctx.site_urls = sites.urls()
            else:
                ctx.engine = LocalEngine()
            ctx.fateflow_url = ctx.fateflow_url or ctx.engine.config.base_url
        if party.kubernetes is not None and resolver is not None and backend in ("kubernetes", "vsphere"):
            ctx.kube = resolver(party.kubernetes.connection).api_client()
            opened.append(ctx.kube)
            exchange = federation.exchange
            if exchange is not None and exchange.kubernetes.connection != party.kubernetes.connection:
                ctx.exchange_kube = resolver(exchange.kubernetes.connection).api_client()
                opened.append(ctx.exchange_kube)
        yield ctx
    finally:
        for client in opened:
            with contextlib.suppress(Exception):
                client.close()


def run_drills(ctx: DrillContext, drills: list[Drill], *, dry_run: bool = False, use_fate: bool = True,
               log_to: Log | None = None) -> Scorecard:
    """Run ``drills`` one after the other (each heals before the next starts) and score them."""
    runner = DrillRunner(ctx, use_fate=use_fate, log=log_to)
    results: list[DrillResult] = [runner.run(d, dry_run=dry_run) for d in drills]
    return Scorecard.of(ctx.run_id, ctx.backend, ctx.party.party_id, results, dry_run=dry_run)


def heal_record(ledger: Ledger, record: FaultRecord, ctx: DrillContext, *,
                log_to: Log | None = None) -> dict[str, Any]:
    """Lift one recorded fault with ``ctx`` (its party's clients) and close the record; never raises."""
    say = log_to or (lambda line: log.info("%s", line))
    try:
        spec = FaultSpec.model_validate(record.spec)
        injector = REGISTRY[record.action].from_record(spec, ctx, record.params)
        injector.lift()
        ledger.close(record)
    except Exception as err:  # keep going: one stuck heal must not leave the others broken
        say(f"could not heal {record.key}: {err}")
        return {"key": record.key, "healed": False, "detail": str(err)}
    say(f"healed {record.key} ({record.action} of drill {record.drill_id}, run {record.run_id})")
    return {"key": record.key, "healed": True, "detail": "; ".join(injector.evidence) or "nothing was left to undo"}


def heal_ledger(ledger: Ledger, ctx_for: Callable[[FaultRecord], DrillContext | None], *,
                backend: str | None = None, log_to: Log | None = None) -> list[dict[str, Any]]:
    """Lift every fault still recorded (for ``backend``); ``ctx_for`` gives each record its context."""
    done = []
    for record in ledger.entries(backend=backend):
        ctx = ctx_for(record)
        if ctx is None:
            done.append({"key": record.key, "healed": False, "detail": "no context for its party/backend"})
            continue
        done.append(heal_record(ledger, record, ctx, log_to=log_to))
    return done
