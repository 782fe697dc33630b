"""Our dag_schema builders against FATE's own pipeline compiler (fixtures from tests/fixtures/fate/regen.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fateops.exceptions import ConfigError
from fateops.fate import jobs
from fateops.fate.jobs import HomoLRParams, PartyTables, TableRef

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fate"


def canonical(node: Any) -> Any:
    """FATE's compiler emits party-id lists and dependent_tasks in set order: compare them sorted."""
    if isinstance(node, dict):
        out = {k: canonical(v) for k, v in node.items()}
        if isinstance(out.get("party_id"), list):
            out["party_id"] = sorted(out["party_id"])
        if isinstance(out.get("dependent_tasks"), list):
            out["dependent_tasks"] = sorted(out["dependent_tasks"])
        return out
    if isinstance(node, list):
        return [canonical(v) for v in node]
    return node


def fixture(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    return data["inputs"], data["dag_schema"]


def _tables(spec: dict[str, Any] | None, ns: str) -> PartyTables | None:
    if spec is None:
        return None
    return PartyTables.of((ns, spec["guest"]), [(ns, h) for h in spec["hosts"]])


def _homo_kwargs(i: dict[str, Any]) -> dict[str, Any]:
    return dict(epochs=i["epochs"], batch_size=i["batch_size"], learning_rate=i["learning_rate"],
                penalty=i["penalty"], alpha=i["alpha"], optimizer=i["optimizer"], threshold=i["threshold"])


def test_toy_example_matches_compiler() -> None:
    i, expected = fixture("toy_example")
    got = jobs.toy_example_job(i["guest"], i["host"], data_num=i["data_num"], partition=i["partition"],
                               timeout=i["timeout"], task_cores=i["task_cores"])
    assert canonical(got) == canonical(expected)


@pytest.mark.parametrize("case", ["homo_lr_train", "homo_lr_train_validate_test", "homo_lr_train_two_hosts"])
def test_homo_lr_train_matches_compiler(case: str) -> None:
    i, expected = fixture(case)
    ns = i["namespace"]
    got = jobs.homo_lr_train_job(
        i["guest"], i["hosts"], i["arbiter"], (ns, i["guest_table"]), [(ns, t) for t in i["host_tables"]],
        validate_tables=_tables(i["validate_tables"], ns), test_tables=_tables(i["test_tables"], ns),
        metrics=i["metrics"], timeout=i["timeout"], task_cores=i["task_cores"], **_homo_kwargs(i),
    )
    assert canonical(got) == canonical(expected)


@pytest.mark.parametrize("case", ["predict", "predict_evaluate"])
def test_predict_matches_compiler_deploy(case: str) -> None:
    i, expected = fixture(case)
    ns = i["namespace"]
    got = jobs.predict_job(
        i["guest"], i["hosts"], i["arbiter"], (ns, i["guest_table"]), [(ns, t) for t in i["host_tables"]],
        i["model_id"], i["model_version"], params=HomoLRParams(**_homo_kwargs(i)), evaluate=i["evaluate"],
        metrics=i["metrics"], timeout=i["timeout"], task_cores=i["task_cores"],
    )
    assert canonical(got) == canonical(expected)


def test_reader_job_matches_compiler() -> None:
    i, expected = fixture("reader_only")
    ns = i["namespace"]
    got = jobs.reader_job(i["guest"], i["hosts"], (ns, i["guest_table"]), [(ns, t) for t in i["host_tables"]],
                          timeout=i["timeout"], task_cores=i["task_cores"])
    assert canonical(got) == canonical(expected)


def test_timeout_and_cores_land_where_fate_flow_reads_them() -> None:
    dag = jobs.toy_example_job("9999", 10000, timeout=123, task_cores=2)["dag"]
    assert dag["conf"]["task"]["timeout"] == 123
    assert dag["conf"]["task"]["engine_run"] == {"cores": 2}
    assert dag["conf"]["cores"] == 2
    assert dag["parties"] == [{"party_id": ["9999"], "role": "guest"}, {"party_id": ["10000"], "role": "host"}]


def test_without_evaluation_and_with_a_scheduler() -> None:
    dag = jobs.homo_lr_train_job(9999, 10000, 9999, ("ns", "g"), [("ns", "h")], evaluate=False,
                                 lr_scheduler="linear", lr_scheduler_params={"start_factor": 0.7, "total_iters": 10},
                                 batch_size=1)["dag"]
    assert set(dag["tasks"]) == {"reader_0", "homo_lr_0"}
    params = dag["tasks"]["homo_lr_0"]["parameters"]
    assert params["learning_rate_scheduler"] == {"method": "linear",
                                                 "scheduler_params": {"start_factor": 0.7, "total_iters": 10}}
    assert params["batch_size"] == 1


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: jobs.toy_example_job("abc", 10000), "guest"),
        (lambda: jobs.toy_example_job(9999, -1), "hosts[0]"),
        (lambda: jobs.toy_example_job(9999, 10000, timeout=0), "timeout"),
        (lambda: jobs.toy_example_job(9999, 10000, task_cores=1.5), "task_cores"),
        (lambda: jobs.reader_job(9999, [10000, 10000], ("n", "g"), [("n", "a"), ("n", "b")]), "hosts"),
        (lambda: jobs.reader_job(9999, [10000], ("n", "g"), [("n", "a"), ("n", "b")]), "tables.hosts"),
        (lambda: jobs.reader_job(9999, [10000], ("n", "g; rm -rf /"), [("n", "a")]), "table.name"),
        (lambda: jobs.reader_job(9999, [10000], "n.g", [("n", "a")]), "tables.guest"),
        (lambda: jobs.homo_lr_train_job(1, 2, 1, ("n", "g"), [("n", "h")], epochs=0), "epochs"),
        (lambda: jobs.homo_lr_train_job(1, 2, 1, ("n", "g"), [("n", "h")], batch_size=0), "batch_size"),
        (lambda: jobs.homo_lr_train_job(1, 2, 1, ("n", "g"), [("n", "h")], penalty="l3"), "penalty"),
        (lambda: jobs.homo_lr_train_job(1, 2, 1, ("n", "g"), [("n", "h")], optimizer="lbfgs"), "optimizer"),
        (lambda: jobs.homo_lr_train_job(1, 2, 1, ("n", "g"), [("n", "h")], learning_rate=0), "learning_rate"),
        (lambda: jobs.homo_lr_train_job(1, 2, 1, ("n", "g"), [("n", "h")], metrics=["auc", "roc"]), "metrics"),
        (lambda: jobs.homo_lr_train_job(1, 2, 1, ("n", "g"), [("n", "h")],
                                        validate_tables=PartyTables.of(("n", "v"), [])), "validate.hosts"),
        (lambda: jobs.predict_job(1, 2, 1, ("n", "g"), [("n", "h")], "", "0"), "model_id"),
    ],
)
def test_bad_input_names_the_field(call: Any, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        call()
    assert err.value.field == field


def test_table_ref_accepts_pairs_only() -> None:
    assert TableRef.of(("ns", "t")) == TableRef("ns", "t")
    assert TableRef.of(TableRef("a", "b")).as_params() == {"name": "b", "namespace": "a"}
