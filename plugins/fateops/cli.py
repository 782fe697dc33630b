"""`fateops ...`: the same steps the DAGs run, from a shell or inside a pod.

Exit codes map to kinds of failure (as Flower does), so scripts and pod steps can react without
parsing text: 0 ok, 2 config error, 3 engine error, 4 FATE Flow/job error, 5 data validation error,
6 Kubernetes/vSphere error, 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from fateops import exceptions as exc

EXIT_CODES: dict[type[exc.FateopsError], int] = {
    exc.ConfigError: 2,
    exc.EngineError: 3,
    exc.FateFlowError: 4,
    exc.FateJobFailed: 4,
    exc.DataValidationError: 5,
    exc.KubernetesError: 6,
    exc.VSphereError: 6,
}


def exit_code_for(error: BaseException) -> int:
    for kind, code in EXIT_CODES.items():
        if isinstance(error, kind):
            return code
    return 1


def _print(data: object) -> None:
    print(json.dumps(data, indent=2, default=str))


def _sites_engine(args: argparse.Namespace) -> int:
    """``fateops engine ACTION --party ID|all``: a party's own site (or all of them, and the Exchange);
    ``purge --party ID|departed`` deletes the site of a party that left the federation config."""
    from fateops.engine.sites import LocalSites
    from fateops.federation import load_federation

    sites = LocalSites(load_federation(args.config))
    if args.action == "purge":
        if args.party != "departed" and not args.party.isdigit():
            raise exc.ConfigError("is not a party id", field="--party", value=args.party,
                                  fix="give a departed party's id, or `departed` for all of them")
        gone = sites.departed() if args.party == "departed" else [int(args.party)]
        _print([sites.purge(pid) for pid in gone])
        return 0
    chosen = sites.sites() if args.party == "all" else [sites.site(args.party)]
    if args.action == "install":
        from fateops.engine import install_engine

        _print({"installed": str(install_engine(sites.install).root)})
    elif args.action in ("start", "run"):
        if args.party == "all":
            sites.start_all(timeout_s=args.timeout)
        else:
            chosen[0].start(timeout_s=args.timeout)
        _print({str(s.party_id): s.status() for s in chosen})
        while args.action == "run" and all(s.engine.pid() is not None for s in chosen):
            time.sleep(2)
        return 3 if args.action == "run" else 0
    elif args.action == "stop":
        stopped: dict[str, object] = {str(s.party_id): s.stop() for s in chosen}
        if args.party == "all":
            stopped["exchange"] = sites.exchange.stop()
        _print(stopped)
    else:
        report = {str(s.party_id): s.status() for s in chosen}
        _print(report)
        healthy = all(r["fateflow"]["healthy"] for r in report.values())
        return 0 if healthy or not args.check else 3
    return 0


def _exchange(args: argparse.Namespace) -> int:
    """``fateops exchange federate|status|stop``: the local Exchange of a multi-site federation."""
    from fateops.engine.sites import LocalSites
    from fateops.exchange import federate_local_sites
    from fateops.federation import load_federation

    federation = load_federation(args.config)
    exchange = LocalSites(federation).exchange
    if args.action == "federate":
        _print(federate_local_sites(federation, log=lambda line: print(line, file=sys.stderr)))
    elif args.action == "stop":
        _print({"stopped": exchange.stop()})
    else:
        _print({"url": exchange.url, "pid": exchange.pid(), "problem": exchange.probe() if exchange.pid() else
                "not running", "routes": exchange.current_table().as_dict()})
    return 0


def _engine(args: argparse.Namespace) -> int:
    from fateops.engine import LocalEngine, install_engine

    if args.party is not None:
        return _sites_engine(args)
    if args.action == "purge":
        raise exc.ConfigError("purge deletes a departed party's site", field="--party", value=None,
                              fix="name it: `fateops engine purge --party ID` (or `--party departed`)")
    engine = LocalEngine()
    if args.action == "install":
        _print({"installed": str(install_engine(engine.install).root)})
    elif args.action == "start":
        _print(engine.start(timeout_s=args.timeout).as_dict())
    elif args.action == "run":  # foreground, for containers: start, then live and die with the server
        _print(engine.start(timeout_s=args.timeout).as_dict())
        while engine.pid() is not None:
            time.sleep(2)
        return 3
    elif args.action == "stop":
        _print({"stopped": engine.stop()})
    else:
        status = engine.status()
        _print(status.as_dict())
        return 0 if status.healthy or not args.check else 3
    return 0


def _federation(args: argparse.Namespace) -> int:
    from fateops.connection_check import check_federation_connections
    from fateops.federation import load_federation

    federation = load_federation(args.config)
    checked = check_federation_connections(federation, airflow_db=args.airflow)
    _print(federation.model_dump(mode="json"))
    for line in checked.lines():
        print(line, file=sys.stderr)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from fateops import demo

    if args.action == "down":
        demo.down()
        return 0
    try:
        conf = json.loads(args.conf) if args.conf else {}
    except ValueError as err:
        raise exc.ConfigError(f"--conf is not JSON: {err}", field="--conf", value=args.conf) from None
    rows = demo.FULL_ROWS if args.full else args.rows or demo.DEFAULT_ROWS
    demo.up(demo.DemoOptions(rows=rows, port=args.port, timeout_s=args.timeout, conf=conf,
                            predict_with=args.predict_with))
    return 0


def _compose(args: argparse.Namespace) -> int:
    from fateops.compose import render
    from fateops.federation import load_federation

    out = Path(args.out)
    changed = render(load_federation(args.config), out, check=args.check)
    for relative in changed:
        print(f"{'differs' if args.check else 'wrote'}: {out / relative}")
    if args.check and changed:
        print("the compose files are stale: run `fateops compose render`", file=sys.stderr)
        return 2
    print(f"{out}: up to date" if not changed else "then: `docker compose up -d` starts new parties; "
          "`docker compose exec exchange /opt/trafficserver/bin/traffic_ctl config reload` applies new routes")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fateops", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    engine = sub.add_parser("engine", help="the local FATE 2.2 standalone engine")
    engine.add_argument("action", choices=["install", "start", "run", "stop", "status", "purge"],
                        help="purge: stop and delete the site of a party removed from the config (its tables, "
                             "models and logs) and free its ports")
    engine.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for health on start")
    engine.add_argument("--check", action="store_true", help="status: exit 3 unless healthy")
    engine.add_argument("--party", default=None,
                        help="multi-site mode: this party's own site (FATE Flow + RabbitMQ), or 'all' (+ the "
                             "Exchange); with purge, 'departed' = every site whose party left the config")
    engine.add_argument("--config", default=None,
                        help="federation config with local_sites: (default federation.local.yaml)")
    engine.set_defaults(handler=_engine)

    exchange = sub.add_parser("exchange", help="the local Exchange (traffic-server) of a multi-site federation")
    exchange.add_argument("action", choices=["federate", "status", "stop"])
    exchange.add_argument("--config", default=None, help="federation config (default federation.local.yaml)")
    exchange.set_defaults(handler=_exchange)

    compose = sub.add_parser("compose", help="render docker-compose's sites and Exchange from a federation config")
    compose.add_argument("action", choices=["render"])
    compose.add_argument("--config", default="federation.local.yaml", help="federation config (default: the local "
                         "two-site one, whose topology docker-compose.yaml runs)")
    compose.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "include" / "compose"),
                         help="where the files go (default: include/compose of this checkout)")
    compose.add_argument("--check", action="store_true", help="write nothing; exit 2 if the files differ")
    compose.set_defaults(handler=_compose)

    federation = sub.add_parser("federation", help="validate and print a federation config")
    federation.add_argument("config", nargs="?", default=None, help="path (default: federation.local.yaml)")
    federation.add_argument("--airflow", action="store_true",
                            help="also look the connection ids up in Airflow's metadata DB (`airflow connections "
                                 "list`); without it only AIRFLOW_CONN_* variables are checked")
    federation.set_defaults(handler=_federation)

    demo = sub.add_parser("demo", help="run the credit-card pipeline end to end through Airflow's REST API")
    demo.add_argument("action", choices=["up", "down"])
    demo.add_argument("--rows", type=int, default=None, help="synthetic rows (default: demo.DEFAULT_ROWS)")
    demo.add_argument("--full", action="store_true", help="the full Kaggle size, 284,807 rows")
    demo.add_argument("--port", type=int, default=None, help="Airflow api-server port (default 8080)")
    demo.add_argument("--timeout", type=float, default=3 * 3600.0, help="seconds to wait for the run")
    demo.add_argument("--conf", default="", help="extra DAG Params as JSON, e.g. '{\"epochs\": 10}'")
    demo.add_argument("--predict-with", choices=["trained", "champion"], default="trained",
                      help="score with the model this run trained, labelled promoted or not (default), or with "
                           "the registry's @champion as production does (stops if none was ever promoted)")
    demo.set_defaults(handler=_demo)

    from fateops.chaos.cli import register as register_chaos
    from fateops.k8s.cli_steps import register as register_fate_steps

    register_chaos(sub)
    register_fate_steps(sub)  # `fateops fate submit-toy …`: what the Kubernetes pod steps run
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except exc.FateopsError as error:
        print(f"fateops: {error}", file=sys.stderr)
        return exit_code_for(error)


if __name__ == "__main__":
    sys.exit(main())
