"""The prepare stage: dataset → split → prepare (per party) → validation gate → upload → verify → Assets.

Order matters and is the point of this stage: **every** party's prepared tables pass the expectation
suite before the first upload is planned (``validation_gate`` is a single task downstream of all the
mapped validations), so a bad batch anywhere means nothing reaches FATE. Each mapped per-party task
is handed one party id and builds that party's own data dir from it — party B's tasks cannot name
party A's files. The split is the one step that writes into several parties' dirs: it plays the data
owner handing each bank its slice.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import XComArg, task

from fateops.airflow.assets import PARTY_TABLES
from fateops.airflow.pipeline_common import DATA_TASK_TIMEOUT, WAIT_EXECUTION_TIMEOUT

_UPLOAD_KWARGS = ("file_path", "namespace", "name", "meta", "partitions", "fateflow_conn_id")


@task(execution_timeout=DATA_TASK_TIMEOUT)
def source_dataset(parties: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """The user's creditcard.csv, or a seeded SYNTHETIC one of the same schema."""
    from fateops.pipeline.dataset import resolve_source

    return resolve_source(params["dataset_path"], rows=int(params["rows"]), fraud_ratio=float(params["fraud_ratio"]),
                          seed=int(params["seed"])).as_dict()


@task(execution_timeout=DATA_TASK_TIMEOUT)
def split_dataset(source: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Stratified, seeded split by rows; each data party's slice lands in its own data dir."""
    from fateops.airflow.pipeline_common import federation_of
    from fateops.data import split_by_parties
    from fateops.paths import data_dir
    from fateops.pipeline.tables import data_parties, data_role

    parties = data_parties(federation_of(params))
    slices = split_by_parties(source["path"], [p.party_id for p in parties], data_dir(), seed=int(params["seed"]))
    out = []
    for party in parties:
        piece = slices[party.party_id]
        print(f"party {party.party_id} ({data_role(party)}): {piece.rows} rows, {piece.frauds} frauds -> {piece.path}"
              + (" [SYNTHETIC]" if piece.synthetic else ""))
        out.append({"party_id": party.party_id, "role": data_role(party), "rows": piece.rows, "frauds": piece.frauds})
    return out


@task(execution_timeout=DATA_TASK_TIMEOUT, map_index_template="{{ party_label }}")
def prepare(party: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The seed's preprocessing on this party's slice only: RobustScaler, ids, held-out split."""
    from airflow.sdk import get_current_context

    from fateops.data import PartyDataDir, prepare_party
    from fateops.paths import data_dir

    get_current_context()["party_label"] = str(party["party_id"])  # type: ignore[typeddict-unknown-key]
    done = prepare_party(PartyDataDir.for_party(data_dir(), party["party_id"]),
                         test_fraction=float(params["test_fraction"]), seed=int(params["seed"]))
    return {**party, "train_rows": done.train_rows, "test_rows": done.test_rows, "train_frauds": done.train_frauds,
            "test_frauds": done.test_frauds, "synthetic": done.synthetic, "summary": str(done.summary_json)}


@task(retries=0, execution_timeout=DATA_TASK_TIMEOUT, map_index_template="{{ party_label }}")
def validate(party: dict[str, Any], params: dict[str, Any], run_id: str | None = None) -> dict[str, Any]:
    """Great Expectations gate on this party's prepared train and test tables (result kept as JSON)."""
    from airflow.sdk import get_current_context

    from fateops.data import PartyDataDir
    from fateops.paths import data_dir
    from fateops.pipeline.dataset import validate_party

    get_current_context()["party_label"] = str(party["party_id"])  # type: ignore[typeddict-unknown-key]
    bounds = {name: params[name] for name in ("min_rows", "fraud_ratio_min", "fraud_ratio_max")}
    checked = validate_party(PartyDataDir.for_party(data_dir(), party["party_id"]), str(run_id), bounds)
    for split in ("train", "test"):
        print(f"party {party['party_id']} {split}: {checked[split]['rows']} rows passed "
              f"{checked[split]['expectations']} expectations; result {checked[split]['artifact']}")
    return {**party, "validation": checked}


@task(retries=0)
def validation_gate(validated: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs only when every party passed; plans one upload per party table."""
    from fateops.airflow.pipeline_common import federation_of, tables_of
    from fateops.airflow.tasks import fateflow_conn_id
    from fateops.data import PartyDataDir
    from fateops.paths import data_dir
    from fateops.pipeline.upload import prepared_meta

    federation = federation_of(params)
    by_party = {int(v["party_id"]): v for v in validated}
    plans = []
    for table in tables_of(params, federation):
        party = by_party[table.party_id]
        files = PartyDataDir.for_party(data_dir(), table.party_id)
        plans.append({
            "file_path": str(files.train_csv if table.split == "train" else files.test_csv),
            "namespace": table.namespace, "name": table.name, "meta": prepared_meta(),
            "partitions": int(params["upload_partitions"]),
            "fateflow_conn_id": fateflow_conn_id(federation.party(table.party_id)),
            "party_id": table.party_id, "split": table.split, "uri": table.uri,
            "expected_rows": int(party[f"{table.split}_rows"]),
        })
    print(f"validation passed for all {len(by_party)} parties; uploading {len(plans)} tables: "
          + ", ".join(p["uri"] for p in plans))
    return plans


def upload_kwargs(plan: dict[str, Any]) -> dict[str, Any]:
    """A plan's keys the upload operator takes (the rest is for the verify step)."""
    return {key: plan[key] for key in _UPLOAD_KWARGS}


@task(outlets=[PARTY_TABLES], map_index_template="{{ table_label }}")
def verify_table(pair: tuple[dict[str, Any], dict[str, Any]], outlet_events: Any = None) -> dict[str, Any]:
    """The table exists with the prepared file's row count and schema; publish its Asset event."""
    from airflow.sdk import get_current_context

    from fateops.airflow.assets import table_asset
    from fateops.airflow.pipeline_common import client_for
    from fateops.pipeline.upload import verify_table as check

    plan, uploaded = pair
    get_current_context()["table_label"] = f"{plan['party_id']}/{plan['split']}"  # type: ignore[typeddict-unknown-key]
    with client_for(plan["fateflow_conn_id"]) as client:
        info = check(client, plan["namespace"], plan["name"], plan["expected_rows"])
    extra = {"party_id": plan["party_id"], "split": plan["split"], "rows": info.count,
             "upload_job_id": uploaded["job_id"]}
    outlet_events[PARTY_TABLES].add(table_asset(plan["namespace"], plan["name"]), extra=extra)
    print(f"{plan['uri']}: {info.count} rows, match id {info.match_id_name}, label {info.label_name} "
          f"(upload job {uploaded['job_id']}) — asset event published")
    return {**extra, "namespace": plan["namespace"], "name": plan["name"], "uri": plan["uri"]}


@task(retries=0)
def tables_ready(verified: list[dict[str, Any]], source: dict[str, Any]) -> dict[str, Any]:
    """Every party table is in FATE and verified: the stage's summary."""
    tables = sorted(verified, key=lambda t: (t["party_id"], t["split"]))
    for t in tables:
        print(f"ready: {t['uri']} ({t['rows']} rows, upload job {t['upload_job_id']})")
    if source.get("synthetic"):
        print("NOTE: these tables hold SYNTHETIC data, not Kaggle's creditcard.csv")
    return {"tables": tables, "source": source}


def prepare_stage(parties: XComArg, *, before_upload: Any = None) -> XComArg:
    """Build the stage after ``validate_federation``; returns ``tables_ready``'s output.

    ``before_upload`` (a task or group, e.g. the pipeline's bootstrap) must finish before the uploads
    are planned: the data steps need no engine, so they run while the engines come up and federate;
    only the uploads wait for them.
    """
    from fateops.airflow.operators import FateUploadOperator
    from fateops.airflow.sensors import FateJobSensor
    from fateops.airflow.tasks import sensor_kwargs

    source = source_dataset(parties)
    validated = validate.expand(party=prepare.expand(party=split_dataset(source)))
    plans = validation_gate(validated)
    if before_upload is not None:
        before_upload >> plans
    # retries=0 spelled out: .partial() applies the DAG's default_args over the operators' own defaults
    uploaded = FateUploadOperator.partial(task_id="upload_table", retries=0,
                                          map_index_template="{{ task.namespace }}/{{ task.name }}"
                                          ).expand_kwargs(plans.map(upload_kwargs))
    waited = FateJobSensor.partial(
        task_id="wait_upload", retries=0, map_index_template="job {{ task.job_id }}",
        wait_timeout="{{ params.sensor_timeout_s }}", poll_interval="{{ params.poll_interval_s }}",
        execution_timeout=WAIT_EXECUTION_TIMEOUT,
    ).expand_kwargs(uploaded.output.map(sensor_kwargs))
    verified = verify_table.expand(pair=plans.zip(uploaded.output))
    waited >> verified
    return tables_ready(verified, source)
