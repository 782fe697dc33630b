"""``fateops demo up|down``: the credit-card pipeline end to end on a laptop, driven like a user would.

``up`` starts (or reuses) the embedded FATE engine, the MLflow UI over the embedded tracking store and
Airflow's four components on 127.0.0.1,
triggers ``fate_credit_card_pipeline`` **through Airflow's REST API**, prints every task state change
while it runs, and ends with the AUC, the predictions and report paths, the UI URL and how to log in.
``down`` stops what ``up`` started and nothing else: the engine only if ``up`` started it (a
``fateops engine start`` of your own is left alone), the Airflow components of the demo's home.

Both are idempotent: ``up`` reuses whatever already runs and just triggers a new run; ``down`` with
nothing running says so. What was started is recorded in ``<state_dir>/demo.json``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fateops.engine.sites import uses_sites
from fateops.exceptions import FateopsError
from fateops.federation import Federation, load_federation
from fateops.paths import state_dir

log = logging.getLogger(__name__)

DAG_ID = "fate_credit_card_pipeline"
FULL_ROWS = 284_807
DEFAULT_ROWS = FULL_ROWS
Out = Callable[[str], None]


class DemoFailed(FateopsError):
    """The pipeline run ended in a state other than success."""

    default_fix = "open the run in the Airflow UI (URL above) and read the failed task's log"


@dataclass
class DemoOptions:
    """What ``fateops demo up`` runs."""

    rows: int = DEFAULT_ROWS
    port: int | None = None
    timeout_s: float = 3 * 3600
    conf: dict[str, Any] = field(default_factory=dict)
    predict_with: str = "trained"
    """The pipeline's ``predict_with``: a demo scores with the model it just trained (labelled, promoted or
    not), so a small demo whose model misses the promotion threshold still ends with predictions;
    ``champion`` is the production behaviour (stops at choose_model while no model was ever promoted)."""

    def run_conf(self) -> dict[str, Any]:
        return {"rows": self.rows, "predict_with": self.predict_with, **self.conf}


def state_file() -> Path:
    return state_dir() / "demo.json"


def _load_state() -> dict[str, Any]:
    try:
        return json.loads(state_file().read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _save_state(state: dict[str, Any]) -> None:
    state_file().parent.mkdir(parents=True, exist_ok=True)
    state_file().write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")


def _stack(port: int | None, conns: dict[str, str], mlflow_url: str = "") -> Any:
    """Airflow's components, with one ``fateflow`` connection per conn id (env ``AIRFLOW_CONN_<ID>``)."""
    from fateops.localstack import AirflowStack

    env = {f"AIRFLOW_CONN_{conn_id.upper()}": url.replace("http://", "fateflow://") for conn_id, url in conns.items()}
    if mlflow_url:
        env["FATEOPS_MLFLOW_UI_URL"] = mlflow_url  # the task logs link their runs here
    stack = AirflowStack(extra_env=env)
    if port is not None:
        stack.port = port
    return stack


def up(options: DemoOptions, out: Out = print) -> dict[str, Any]:
    """Start what is missing, run the pipeline over REST, print the outcome; returns the report XCom."""
    from fateops.engine import LocalEngine
    from fateops.localstack import AirflowRestClient

    started = time.monotonic()
    state = _load_state()
    federation = load_federation()
    if uses_sites(federation):
        conns = _start_sites(federation, state, out)
    else:
        engine = LocalEngine()
        engine_was_running = engine.pid() is not None
        out(f"==> FATE engine at {engine.config.base_url} ({'already running' if engine_was_running else 'starting'})")
        status = engine.start(timeout_s=300)
        state["engine_started"] = bool(state.get("engine_started")) or not engine_was_running
        out(f"    FATE Flow {status.version}, {len(status.components)} components")
        conns = {"fateflow_default": status.url}
    state["conns"] = conns

    mlflow = _mlflow(state.get("mlflow_port"))
    mlflow_was_running = mlflow.running() is not None
    out(f"==> MLflow UI on {mlflow.url} over {mlflow.store.uri} "
        f"({'already running' if mlflow_was_running else 'starting'})")
    state["mlflow_started"] = bool(state.get("mlflow_started")) or not mlflow_was_running
    state["mlflow_port"] = mlflow.port
    _save_state(state)
    mlflow.start(timeout_s=600)

    stack = _stack(options.port if options.port is not None else state.get("port"), conns, mlflow.url)
    before = {name for name, pid in stack.running().items() if pid is not None}
    out(f"==> Airflow api-server, scheduler, dag-processor, triggerer on {stack.url} "
        f"({'already running' if len(before) == 4 else 'starting'})")
    state.update(port=stack.port, airflow_home=str(stack.home))
    _save_state(state)  # before the wait: `demo down` must find what we started even if start-up fails
    stack.start(timeout_s=300)
    password = stack.admin_password()
    if not password:
        raise FateopsError(f"no admin password in {stack.password_file}", fix="run `fateops demo down`, then retry")

    with AirflowRestClient(stack.url, "admin", password, timeout_s=30) as api:
        api.wait_for_dag(DAG_ID, timeout_s=300)
        api.unpause(DAG_ID)
        run_id = api.trigger(DAG_ID, conf=options.run_conf(), note="fateops demo up")
        out(f"==> triggered {DAG_ID} run {run_id} through the REST API (conf {json.dumps(options.run_conf())})")
        t0 = time.monotonic()

        def progress(task: str, task_state: str | None) -> None:
            if task_state not in (None, "scheduled", "queued", "removed"):  # the changes a person cares about
                out(f"    [{time.monotonic() - t0:7.1f}s] {task:<40} {task_state}")

        final = api.wait_for_run(DAG_ID, run_id, timeout_s=options.timeout_s, on_change=progress)
        if final != "success":
            failed = sorted(t for t, s in api.task_states(DAG_ID, run_id).items() if s in ("failed", "upstream_failed"))
            raise DemoFailed(f"run {run_id} ended {final}; failed tasks: {', '.join(failed) or 'none'} — "
                             f"{stack.url}/dags/{DAG_ID}/runs/{run_id}")
        run_seconds = time.monotonic() - t0
        result: dict[str, Any] = api.xcom(DAG_ID, run_id, "report")
    _print_outcome(result, stack, run_id, run_seconds, time.monotonic() - started, out)
    _print_mlflow(result, mlflow, federation.name, out)
    return result


def _print_mlflow(result: dict[str, Any], mlflow: Any, federation: str, out: Out) -> None:
    """The run's MLflow links, what the promotion rule decided (and why) and who holds ``@champion``."""
    from fateops.tracking import MlflowModelRegistry

    registry = MlflowModelRegistry(mlflow.store, federation)
    trained = result.get("training") or {}
    version = registry.version_of(trained["job_id"]) if trained.get("job_id") else None
    champion = registry.champion_version()
    for line in mlflow_lines(result, ui=mlflow.url, name=registry.name,
                             version=None if version is None else str(version.version),
                             champion=None if champion is None else (str(champion.version), registry.promoted())):
        out(line)


def mlflow_lines(result: dict[str, Any], *, ui: str, name: str, version: str | None,
                 champion: tuple[str, Any] | None) -> list[str]:
    """The closing MLflow lines: runs, this run's version and the rule's decision, the champion, the model used."""
    models = f"{ui}/#/models/{name}"
    lines = [f"==> MLflow UI: {ui}  (experiment {name.removesuffix('-fraud')}, registered model {name}: {models})"]
    lines += [f"    MLflow {what} run: {url}" for what, url in (result.get("mlflow_runs") or {}).items() if url]
    trained = result.get("training") or {}
    if trained:
        here = f"version {version} ({models}/versions/{version})" if version else "not registered"
        decision = str(trained.get("decision") or "")
        if trained.get("promoted"):
            lines.append(f"    this run's model {trained['model_id']}/{trained['model_version']}: {name} {here}, "
                         f"PROMOTED to @champion — {decision.removeprefix('promoted: ')}")
        else:
            lines.append(f"    this run's model {trained['model_id']}/{trained['model_version']}: {name} {here}, "
                         f"NOT promoted — {decision.removeprefix('not promoted: ')}")
            lines.append("      (the rule's Params: auc_threshold, auc_tolerance; a small synthetic demo has few "
                         "frauds to learn from — try more --rows)")
    if champion is None:
        lines.append(f"    {name}@champion: none yet (no model has passed the promotion rule)")
    else:
        number, record = champion
        lines.append(f"    {name}@champion: version {number}, FATE model {record.model_id}/{record.model_version}, "
                     f"AUC {record.auc:.4f} — {models}/versions/{number}")
    used = result.get("model") or {}
    if used:
        lines.append(f"    predictions made with {used.get('model_id')}/{used.get('model_version')}: "
                     f"{used.get('source')}")
    return lines


def _mlflow(port: int | None) -> Any:
    from fateops.localstack.mlflow import MlflowServer

    return MlflowServer() if port is None else MlflowServer(port=int(port))


def _start_sites(federation: Federation, state: dict[str, Any], out: Out) -> dict[str, str]:
    """Every party's own site and the Exchange with its routes; returns conn id → that party's FATE Flow."""
    from fateops.engine.sites import LocalSites
    from fateops.exchange import federate_local_sites

    sites = LocalSites(federation)
    running = all(s.engine.pid() is not None for s in sites.sites()) and sites.exchange.pid() is not None
    out(f"==> {len(sites.parties)} sites (FATE Flow + RabbitMQ each) and the Exchange on {sites.exchange.url} "
        f"({'already running' if running else 'starting'})")
    t0 = time.monotonic()
    statuses = sites.start_all(timeout_s=300)
    federate_local_sites(federation, log=lambda line: out(f"    {line}"))
    state["sites_started"] = bool(state.get("sites_started")) or not running
    state["federation"] = federation.name
    for party_id, status in statuses.items():
        out(f"    party {party_id}: FATE Flow {status.version} at {status.url}, home {status.home}")
    out(f"    sites ready in {time.monotonic() - t0:.0f} s")
    conns = {p.connection or "fateflow_default": sites.site(p).url for p in sites.parties}
    conns.setdefault("fateflow_default", sites.site(federation.guest).url)  # the initiator's site
    return conns


def _print_outcome(result: dict[str, Any], stack: Any, run_id: str, run_seconds: float, total_seconds: float,
                   out: Out) -> None:
    auc = result.get("auc")
    training_auc = result.get("training_auc")
    out("")
    out(f"==> {DAG_ID} succeeded: the run took {run_seconds:.0f} s from trigger to end; `demo up` "
        f"{total_seconds:.0f} s in all (starting the engine/sites, MLflow and Airflow included) — run {run_id}")
    out(f"    AUC (guest's held-out rows, scored by the federated model): {auc:.4f}" if auc is not None
        else "    AUC: n/a (no labels)")
    if training_auc is not None:
        out(f"    AUC reported by FATE's evaluation at training time:         {training_auc:.4f}")
    for line in _fraud_lines(result):
        out(line)
    for party, path in sorted(result.get("predictions", {}).items()):
        out(f"    predictions of party {party}: {path}")
    out(f"    report JSON: {result['report_json']}")
    out(f"    report PNG:  {result['report_png']}")
    for what, job_id in result.get("job_ids", {}).items():
        out(f"    FATE job {what}: {job_id}")
    # the password stays in its file: terminal scrollback and CI logs are not a place for secrets
    out(f"==> Airflow UI: {stack.url}  (user admin; password: cat {stack.password_file})")
    out("    stop everything with: make demo-down   (or: fateops demo down)")


def _fraud_lines(result: dict[str, Any]) -> list[str]:
    """AUPRC and what the decision threshold catches: at 0.17 % frauds the AUC alone flatters the model."""
    lines = []
    ap = result.get("average_precision")
    if ap is not None:
        lines.append(f"    AUPRC (average precision, same held-out rows):               {ap:.4f}")
    outcome = result.get("at_threshold") or {}
    if outcome.get("recall") is not None:
        frauds = outcome["true_positives"] + outcome["false_negatives"]
        precision = outcome.get("precision")
        source = result.get("threshold_source") or "decision threshold"
        lines.append(f"    at the decision threshold {outcome['threshold']:.4g} ({source}): recall "
                     f"{outcome['recall']:.3f} ({outcome['true_positives']} of {frauds} frauds flagged), precision "
                     + (f"{precision:.3f}" if precision is not None else "n/a")
                     + f" ({outcome['false_positives']} false alarms)")
    return lines


def down(out: Out = print) -> dict[str, Any]:
    """Stop the Airflow components of the demo and the engine if the demo started it."""
    from fateops.engine import LocalEngine

    state = _load_state()
    stack = _stack(state.get("port"), state.get("conns", {}))
    if state.get("airflow_home"):
        stack.home = Path(state["airflow_home"])
    stopped = stack.stop()
    out(f"==> Airflow components stopped: {', '.join(stopped) if stopped else 'none were running'}")
    mlflow_stopped = bool(state.get("mlflow_started")) and _mlflow(state.get("mlflow_port")).stop()
    out(f"==> MLflow UI {'stopped' if mlflow_stopped else 'was not running'}")
    engine_stopped = False
    if state.get("sites_started"):
        from fateops.engine.sites import LocalSites

        federation = load_federation()
        if uses_sites(federation):
            stopped_sites = LocalSites(federation).stop_all()
            out(f"==> sites and Exchange stopped: {stopped_sites}")
            engine_stopped = True
    if state.get("engine_started"):
        engine_stopped = LocalEngine().stop()
        out(f"==> FATE engine {'stopped' if engine_stopped else 'was not running'}")
    else:
        out("==> FATE engine left alone (the demo did not start it)")
    state_file().unlink(missing_ok=True)
    return {"airflow_stopped": stopped, "engine_stopped": engine_stopped, "mlflow_stopped": mlflow_stopped}
