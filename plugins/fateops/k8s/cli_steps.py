"""``fateops fate ...``: FATE steps a KubernetesPodOperator runs inside a party's namespace.

The pod replaces the seed's step 5 (``kubectl exec -it python-... -- python run_toy_example.py
30000 40000 1``): it submits FATE 2.2's toy example from the initiator's own cluster, where
``http://fateflow:9380`` answers, and hands the job id back (:mod:`fateops.k8s.step_result`); the
DAG's deferrable job sensor then awaits the job from Airflow. Registered on the main parser by
``fateops.cli`` with ``cli_steps.register(sub)``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from fateops.k8s import step_result

DEFAULT_FATEFLOW_URL = "http://fateflow:9380"  # the party's FATE Flow Service, same namespace


def _submit_toy(args: argparse.Namespace) -> int:
    from fateops.fate.client import FateFlowClient
    from fateops.fate.jobs import toy_example_job

    url = args.fateflow_url or os.environ.get("FATEOPS_FATE_URL") or DEFAULT_FATEFLOW_URL
    schema = toy_example_job(guest=args.guest, host=args.host, timeout=args.timeout, data_num=args.data_num)
    with FateFlowClient(url) as client:
        submitted = client.submit_job(schema)
    result = {"job_id": submitted.job_id, "model_id": submitted.model_id, "model_version": submitted.model_version,
              "guest": args.guest, "host": args.host, "fateflow_url": url}
    print(json.dumps(result, indent=2))
    step_result.write_termination_message(result, Path(args.result_file))
    print(step_result.format_line(result), flush=True)  # last line: what the pod operator reads back
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``fateops fate submit-toy`` to the main parser's subcommands."""
    fate = sub.add_parser("fate", help="FATE steps run in a party's place (e.g. inside its namespace)")
    actions = fate.add_subparsers(dest="action", required=True)
    toy = actions.add_parser("submit-toy", help="submit FATE's toy example between a guest and a host")
    toy.add_argument("--guest", type=int, required=True, help="guest party id (the initiator)")
    toy.add_argument("--host", type=int, required=True, help="host party id")
    toy.add_argument("--timeout", type=int, default=600, help="the job's own timeout in seconds (dag.conf)")
    toy.add_argument("--data-num", type=int, default=1024, help="ids each side exchanges")
    toy.add_argument("--fateflow-url", default=None,
                     help=f"FATE Flow base URL (default $FATEOPS_FATE_URL or {DEFAULT_FATEFLOW_URL})")
    toy.add_argument("--result-file", default=str(step_result.TERMINATION_LOG),
                     help="where to write the result JSON for the pod status (default the termination log)")
    toy.set_defaults(handler=_submit_toy)


def main(argv: list[str] | None = None) -> int:
    """Run these subcommands alone (``python -m fateops.k8s.cli_steps fate submit-toy ...``), with the
    same exit codes as ``fateops`` — for images built before ``fateops.cli`` registered them."""
    import sys

    from fateops import exceptions
    from fateops.cli import exit_code_for

    parser = argparse.ArgumentParser(prog="fateops")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except exceptions.FateopsError as error:
        print(f"fateops: {error}", file=sys.stderr)
        return exit_code_for(error)


if __name__ == "__main__":
    raise SystemExit(main())
