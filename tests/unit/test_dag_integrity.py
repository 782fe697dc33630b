"""DagBag integrity (the Astro practice): every DAG file imports, and every DAG carries what an operator
needs in the UI — tags, an owner, documentation, Params with descriptions, retries and timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {"fate_party_bootstrap", "fate_exchange_federate", "fate_chaos_drill", "fate_dataset_prepare",
            "fate_train", "fate_predict", "fate_credit_card_pipeline", "fate_retrain", "fate_sizing_audit"}


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}


def test_expected_dags_present(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert set(dagbag.dag_ids) >= EXPECTED


def test_one_dag_per_file_named_after_it(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        assert Path(dag.fileloc).stem == dag_id


def test_every_dag_is_documented_tagged_and_owned(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and "fateops" in dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 200, dag_id
        assert dag.dagrun_timeout is not None, dag_id
        for task in dag.tasks:
            assert task.owner == "fateops", (dag_id, task.task_id)
            assert task.execution_timeout is not None, (dag_id, task.task_id)


def test_every_param_has_a_description_and_a_title(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        for name, param in dag.params.items():
            assert param.description and param.schema.get("title"), (dag_id, name)
            optional = "null" in (param.schema.get("type") or [])  # type=["null", ...]: empty means "not set"
            assert param.value is not None or optional, (dag_id, name)


def test_every_default_passes_the_trigger_forms_check(dagbag) -> None:  # type: ignore[no-untyped-def]
    """The UI's trigger form validates each field against its JSON schema and sends an empty field as
    null: a ``""`` default of a plain ``string`` Param is "missing" there and disables *Trigger*. An
    optional value must be declared ``type: ["null", ...]`` with default None."""
    import jsonschema

    problems = []
    for dag_id, dag in dagbag.dags.items():
        for name, param in dag.params.items():
            as_sent = None if param.value in ("", None) else param.value
            try:
                jsonschema.validate(as_sent, param.schema, format_checker=jsonschema.FormatChecker())
            except jsonschema.ValidationError as err:
                problems.append(f"{dag_id}.{name}: default {param.value!r}: {err.message}")
    assert problems == []


def test_the_pipeline_form_is_grouped_like_the_runbook(dagbag) -> None:  # type: ignore[no-untyped-def]
    params = dagbag.dags["fate_credit_card_pipeline"].params
    sections = {name: params.get_param(name).schema.get("section") for name in params}
    assert set(sections.values()) == {"Federation & deadlines", "Data", "Training", "Prediction"}
    assert (sections["federation"], sections["dataset_path"], sections["epochs"], sections["model_id"]) == (
        "Federation & deadlines", "Data", "Training", "Prediction")
