"""``fateops chaos list|run|heal`` — the drills from a shell, the same code the DAG runs.

``run`` exits 0 only when every drill passed (or, with ``--dry-run``, when every drill's preflight found
its target ready: a refused preflight makes the dry run "not ready", exit 1, with the reason); the plan
(dry run), the verdict and the scorecard's paths are printed either way. Connections come from the
environment: the local engine from ``FATEOPS_ENGINE_*``, Kubernetes clusters from ``AIRFLOW_CONN_<ID>`` /
``FATEOPS_KUBECONFIG_<ID>``, vCenter from ``FATEOPS_VSPHERE_URL`` + ``FATEOPS_VSPHERE_PASSWORD``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["register"]


def _print(data: object) -> None:
    print(json.dumps(data, indent=2, default=str))


def _list(args: argparse.Namespace) -> int:
    from fateops.chaos.catalogue import load_catalogue
    from fateops.chaos.plan import has_sites
    from fateops.federation import load_federation

    catalogue = load_catalogue(args.catalogue)
    sites = has_sites(args.backend, load_federation(args.federation)) if args.backend == "local" else False
    drills = catalogue.for_backend(args.backend, sites=sites) if args.backend else list(catalogue.drills)
    _print([{"id": d.id, "table": d.table, "title": d.title, "expected": d.expected, "backends": list(d.backends),
             "recovery_slo_s": d.recovery_slo_s} for d in drills])
    return 0


@contextlib.contextmanager
def _vsphere(backend: str) -> Iterator[Any]:
    if backend != "vsphere":
        yield None
        return
    from fateops.vsphere.session import VSphereSession, VSphereSettings

    with VSphereSession(VSphereSettings.from_env()) as session:
        yield session


def _fateflow_url(args: argparse.Namespace, party: Any) -> str:
    if args.fateflow_url:
        return str(args.fateflow_url)
    if party.backend == "kubernetes":
        from fateops.k8s.desired import fateflow_url

        return fateflow_url(party)
    return ""  # local: the engine's own URL


def _run(args: argparse.Namespace) -> int:
    from fateops.chaos.catalogue import load_catalogue
    from fateops.chaos.plan import Targets, allowed_party, drill_context, run_drills, select_drills
    from fateops.federation import load_federation
    from fateops.k8s.access import env_resolver

    federation = load_federation(args.federation)
    party = allowed_party(federation, args.party)
    drills = select_drills(load_catalogue(args.catalogue), args.backend, args.drills, federation)
    run_id = args.run_id or f"cli-{args.backend}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    targets = Targets(vm_name=args.vm, host_name=args.host, node_name=args.node)
    with _vsphere(args.backend) as session, drill_context(
            args.backend, federation, party, fateflow_url=_fateflow_url(args, party), resolver=env_resolver,
            vsphere=session, targets=targets, run_id=run_id) as ctx:
        card = run_drills(ctx, drills, dry_run=args.dry_run, use_fate=not args.no_jobs, log_to=print)
    paths = card.write()
    if args.dry_run:  # the plan is the point of a dry run: show it here, not only in the scorecard file
        for result in card.results:
            print(f"drill {result.drill_id} (table {result.table}): {result.title}")
            print("\n".join(f"  {n}. {step}" for n, step in enumerate(result.plan, 1)))
    print(f"Verdict: {card.verdict}" + "".join(f"\n  {reason}" for reason in card.reasons()))
    _print({"passed": card.passed, "verdict": card.verdict.lower(), "reasons": card.reasons(),
            "counts": card.counts(), **{k: str(v) for k, v in paths.items()}})
    if not card.passed:
        print(f"fateops: chaos {'dry run' if args.dry_run else 'run'}: {card.verdict.lower()} — "
              + "; ".join(card.reasons()), file=sys.stderr)
    return 0 if card.passed else 1


def _heal(args: argparse.Namespace) -> int:
    from fateops.chaos.ledger import Ledger
    from fateops.chaos.plan import Targets, drill_context, heal_record
    from fateops.federation import load_federation
    from fateops.k8s.access import env_resolver

    federation = load_federation(args.federation)
    ledger = Ledger()
    done: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        for record in ledger.entries(backend=args.backend):
            vsphere = stack.enter_context(_vsphere(record.backend))
            ctx = stack.enter_context(drill_context(
                record.backend, federation, federation.party(record.party_id), resolver=env_resolver,
                vsphere=vsphere, targets=Targets(args.vm, args.host, args.node), run_id=record.run_id))
            done.append(heal_record(ledger, record, ctx, log_to=print))
    _print({"healed": [d for d in done if d["healed"]], "left": [d for d in done if not d["healed"]]})
    return 0 if all(d["healed"] for d in done) else 1


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``chaos`` to the ``fateops`` command line."""
    chaos = sub.add_parser("chaos", help="resilience drills (the seed's failure tables as experiments)")
    verbs = chaos.add_subparsers(dest="verb", required=True)

    listing = verbs.add_parser("list", help="the drill catalogue")
    listing.add_argument("--backend", choices=["local", "kubernetes", "vsphere"])
    listing.add_argument("--catalogue", default=None, help="drill catalogue (default: drills.yaml)")
    listing.add_argument("--federation", default=None,
                         help="local: its shape picks the drills (a site per party, or one engine)")
    listing.set_defaults(handler=_list)

    run = verbs.add_parser("run", help="run drills against one party (one at a time, always healed)")
    run.add_argument("drills", nargs="*", help="drill ids (default: every drill of the backend)")
    run.add_argument("--backend", required=True, choices=["local", "kubernetes", "vsphere"])
    run.add_argument("--party", required=True, help="party id (must be 'chaos: allowed')")
    run.add_argument("--federation", default=None, help="federation config (default: federation.local.yaml)")
    run.add_argument("--catalogue", default=None, help="drill catalogue (default: drills.yaml)")
    run.add_argument("--dry-run", action="store_true", help="list what would be done; change nothing")
    run.add_argument("--no-jobs", action="store_true", help="observe the platform only (no FATE jobs)")
    run.add_argument("--fateflow-url", default=None, help="FATE Flow of the party (default: from the backend)")
    run.add_argument("--vm", default=None, help="vSphere: the worker VM to power off")
    run.add_argument("--host", default=None, help="vSphere: the ESXi host to fail / put in maintenance")
    run.add_argument("--node", default=None, help="the Kubernetes node running on --vm (relaunch check)")
    run.add_argument("--run-id", default=None, help="names the scorecard directory")
    run.set_defaults(handler=_run)

    heal = verbs.add_parser("heal", help="lift every fault still recorded in the ledger")
    heal.add_argument("--backend", choices=["local", "kubernetes", "vsphere"])
    heal.add_argument("--federation", default=None)
    heal.add_argument("--vm", default=None)
    heal.add_argument("--host", default=None)
    heal.add_argument("--node", default=None)
    heal.set_defaults(handler=_heal)
