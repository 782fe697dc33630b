"""The whole credit-card pipeline the way a user runs it: real Airflow components, triggered over REST.

An :class:`~fateops.localstack.AirflowStack` (api-server, scheduler, dag-processor, triggerer on
127.0.0.1, its own AIRFLOW_HOME under the test state dir, spare port 8481; the session fixture
``airflow_stack``, shared with the UI trigger-form test) runs the pipeline against the test engine: the
LocalExecutor runs the tasks, the triggerer runs the deferred FATE job waits. The run is triggered and
followed only through the REST API, as ``make demo`` does. The stack is stopped whatever happens.
"""

from __future__ import annotations

import os
import re
import secrets
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from fateops.fate.client import FateFlowClient
from fateops.localstack import AirflowRestClient, AirflowStack

pytestmark = [pytest.mark.engine, pytest.mark.airflow, pytest.mark.timeout(5400)]

DAG_ID = "fate_credit_card_pipeline"
# the training defaults as a user gets them (min_steps and min_batch_size included: 2,400 training rows a party
# train 100 epochs of batch 25);
# test_pipeline_dags runs its many trainings at min_steps 0
CONF = {"rows": 6000, "fraud_ratio": 0.02, "min_rows": 100, "auc_threshold": 0.5, "sensor_timeout_s": 1800,
        "job_timeout_s": 1800}


@pytest.fixture(scope="module")
def stack(airflow_stack: AirflowStack, fate_engine: Any) -> AirflowStack:
    """The session's Airflow components (tests/engine_fixtures.py), with the test engine up."""
    assert fate_engine.config.base_url.endswith(f":{os.environ['FATEOPS_ENGINE_PORT']}")
    return airflow_stack


def test_pipeline_triggered_over_rest_runs_through_scheduler_and_triggerer(stack: AirflowStack,
                                                                           fate_engine: Any) -> None:
    namespace = f"fateops_rest_{secrets.token_hex(4)}"
    password = stack.admin_password()
    assert password, f"no admin password in {stack.password_file}"
    seen: dict[str, list[str | None]] = defaultdict(list)
    try:
        with AirflowRestClient(stack.url, "admin", password, timeout_s=60) as api:
            api.wait_for_dag(DAG_ID, timeout_s=600)
            api.unpause(DAG_ID)
            run_id = api.trigger(DAG_ID, conf={**CONF, "namespace": namespace}, note="test_rest_pipeline")
            final = api.wait_for_run(DAG_ID, run_id, timeout_s=4800,
                                     on_change=lambda task, state: seen[task].append(state))
            states = api.task_states(DAG_ID, run_id)
            assert final == "success", {t: s for t, s in states.items() if s != "success"}
            assert all(state == "success" for state in states.values()), states
            # the FATE job waits went through the triggerer: the scheduler saw them deferred, then they succeeded
            for wait in ("train.wait_training", "predict.wait_prediction"):
                assert "deferred" in seen[wait], (wait, seen[wait])
            result = api.xcom(DAG_ID, run_id, "report")
            registered = api.xcom(DAG_ID, run_id, "train.register_model")
            planned = api.xcom(DAG_ID, run_id, "train.plan_training", key="settings")
    finally:
        with FateFlowClient(fate_engine.config.base_url) as client:
            for party in (9999, 10000):
                for split in ("train", "test"):
                    client.table_delete(namespace, f"creditcard_{party}_{split}")

    assert Path(result["report_json"]).is_file() and Path(result["report_png"]).is_file()
    assert Path(result["predictions_csv"]).is_file()
    assert 0.5 < result["auc"] <= 1.0
    assert registered["promoted"] is True and result["model"]["model_id"] == registered["model_id"]
    # min_steps raised the small tables' epochs (2,400 rows a party: 24 batches of 100 an epoch) and
    # min_batch_size cut their batches to 25 at lr 1.0 × 25/100, in the job submitted and as recorded
    assert planned["epochs"] == 100 and planned["min_steps"] == 5700, planned
    assert planned["batch_size"] == 25 and planned["learning_rate"] == 0.25, planned
    assert set(result["job_ids"]) >= {"train", "predict", "upload 9999/train", "upload 10000/test"}
    # the scheduler (whose LocalExecutor forked every task above) started through the preload launcher
    # and imported every module on its list
    scheduler_log = (stack.home / "logs" / "scheduler.log").read_text()
    preloads = re.findall(r"fateops preload: (\d+) of (\d+) modules", scheduler_log)
    assert preloads and preloads[-1][0] == preloads[-1][1], preloads
