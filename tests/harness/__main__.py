"""``python -m tests.harness prepare|up|down|status``: the harness outside pytest.

* ``prepare`` builds/fetches everything into ``~/.cache/fateops`` and prints how long each part
  took (the first run builds for minutes; later runs return in well under a second);
* ``up`` starts two clusters (party-a, party-b) with node simulators and vcsim in the background and
  writes ``<repo>/.fateops/harness/env.json`` (kubeconfig paths, vcsim address and credentials);
* ``down`` stops everything recorded there, by pid; ``status`` shows what still runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from tests.harness._common import HarnessError
from tests.harness.k8s_build import kube_root
from tests.harness.runner import ENV_FILE_NAME, Harness, harness_state_dir, prepare, status_from_env, stop_from_env


def _prepare() -> int:
    timings: dict[str, float] = {}
    started = time.monotonic()
    prepared = prepare(timings)
    total = time.monotonic() - started
    for name, seconds in timings.items():
        print(f"  {name:<14} {seconds:8.2f} s  {'(cached)' if seconds < 1.0 else '(built/fetched)'}")
    print(f"prepare total  {total:8.2f} s")
    paths = (("kube binaries", prepared.kube_bin), ("etcd", prepared.etcd), ("vcsim", prepared.vcsim),
             ("helm", prepared.helm), ("kubectl", prepared.kubectl))
    for label, path in paths:
        print(f"  {label:<14} {path}")
    for label, record in (("kube binaries", kube_root() / "build-seconds.txt"),
                          ("vcsim", prepared.vcsim.parent / "build-seconds.txt" if prepared.vcsim else None)):
        if record is not None and record.exists():
            print(f"  cold build of {label} took {float(record.read_text()):.0f} s (recorded when built)")
    return 0


def _up(with_vcsim: bool = True) -> int:
    env_path = harness_state_dir() / ENV_FILE_NAME
    if any(alive for _, _, alive in status_from_env(env_path)):
        print(f"harness already up (see {env_path}); run `python -m tests.harness down` first")
        return 1
    stop_from_env(env_path)  # clean a stale record
    run_dir = harness_state_dir() / "up"
    harness = Harness(run_dir=run_dir, with_vcsim=with_vcsim)
    harness.start()
    harness.write_env(env_path)
    print(f"harness up in {harness.startup_seconds:.1f} s")
    for name, cluster in harness.clusters.items():
        print(f"  {name}: {cluster.server}  kubeconfig={cluster.kubeconfig}")
    if harness.vcsim:
        print(f"  vcsim: {harness.vcsim.url} user={harness.vcsim.user} (password in {env_path})")
    print(f"env: {env_path}")
    return 0


def _down() -> int:
    env_path = harness_state_dir() / ENV_FILE_NAME
    stopped = stop_from_env(env_path)
    print(f"stopped {stopped} process(es)" if stopped else "harness was not running")
    return 0


def _status() -> int:
    env_path = harness_state_dir() / ENV_FILE_NAME
    rows = status_from_env(env_path)
    if not rows:
        print("harness is down (no env.json)")
        return 1
    for name, pid, alive in rows:
        print(f"  {name:<34} pid {pid:<8} {'running' if alive else 'DEAD'}")
    env = json.loads(env_path.read_text())
    for name, cluster in env["clusters"].items():
        print(f"  {name}: {cluster['server']} kubeconfig={cluster['kubeconfig']}")
    return 0 if all(alive for _, _, alive in rows) else 1


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="python -m tests.harness", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("prepare", "up", "down", "status"))
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings in the log")
    parser.add_argument("--no-vcsim", action="store_true", help="up: start only the two clusters")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    commands = {"prepare": _prepare, "up": lambda: _up(not args.no_vcsim), "down": _down, "status": _status}
    try:
        return commands[args.command]()
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
