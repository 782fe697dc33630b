"""FATE 2.2 job specs (``dag_schema`` dicts) built without fate_client.

fate_client cannot share a venv with Airflow 3 (it pins pydantic 1, Flask 2.2, …), so fateops builds
the DAGs FATE's pipeline compiler would build, as plain dicts. ``tests/fixtures/fate/`` holds the
compiler's own output for the same inputs and a unit test keeps the two equal.

Things the compiler does *not* tell you, verified against fate_flow 2.2's job parsing:

* the per-task timeout is ``dag.conf.task.timeout`` (seconds; FATE's default is 72 h) — fate_flow's
  ``TaskParser.timeout`` reads it and its detector marks the task ``timeout`` when it is exceeded;
* cores are ``dag.conf.task.engine_run.cores`` (per task) and ``dag.conf.cores`` (per job and party,
  the pool tasks draw from). ``conf.task_cores`` — which fate_client lets you set — is silently
  dropped by the server's schema. With both equal, a party runs one task at a time: right for a
  2-core box.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from fateops.exceptions import ConfigError

__all__ = [
    "BINARY_METRICS",
    "DEFAULT_METRICS",
    "SCHEMA_VERSION",
    "HomoLRParams",
    "PartyTables",
    "TableRef",
    "homo_lr_train_job",
    "predict_job",
    "reader_job",
    "toy_example_job",
]

SCHEMA_VERSION = "2.2.0"

#: The binary-classification metrics FATE 2.2's ``evaluation`` component can compute on request
#: (``fate.ml.evaluation.classification`` ``metric_name``s with a single value per dataset).
BINARY_METRICS = ("auc", "ks", "binary_precision", "binary_recall", "binary_accuracy", "binary_f1_score")
DEFAULT_METRICS = ("auc", "ks", "binary_precision", "binary_recall", "binary_accuracy")
_KNOWN_METRICS = frozenset((
    *BINARY_METRICS, "confusion_matrix", "gain", "lift", "biclass_precision_table", "biclass_recall_table",
    "biclass_accuracy_table", "fscore_table", "psi", "multi_accuracy", "multi_recall", "multi_precision",
    "multi_f1_score", "rmse", "mse", "mae", "r2_score",
))
_OPTIMIZERS = frozenset(("sgd", "adadelta", "adagrad", "adam", "adamax", "adamw", "asgd", "nadam", "radam",
                         "rmsprop", "rprop"))
_PENALTIES = frozenset(("l1", "l2", "none"))
_INIT_METHODS = frozenset(("zeros", "ones", "consts", "random", "random_uniform"))
_LR_SCHEDULERS = frozenset(("constant", "linear", "step"))

# FATE stores tables under <namespace>/<name> and passes both through shell and SQL paths: keep them tame.
_TABLE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_MAX_TIMEOUT_S = 30 * 24 * 3600

Party = int | str
Stage = Literal["train", "predict", "default"]


# ----------------------------------------------------------------------------------------- validation
def party_id(value: Party, field_name: str) -> str:
    """A FATE party id as the server wants it: a string of a positive integer."""
    text = str(value).strip() if not isinstance(value, bool) else ""
    if not text.isdigit() or int(text) <= 0:
        raise ConfigError("party ids are positive integers", field=field_name, value=value,
                          fix="use the party_id from the federation config, e.g. 9999")
    return str(int(text))


def _positive_int(value: Any, field_name: str, *, upper: int | None = None) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    if not ok or (upper is not None and value > upper):
        bound = f" and at most {upper}" if upper is not None else ""
        raise ConfigError(f"must be an integer > 0{bound}", field=field_name, value=value)
    return value


def _timeout(value: Any) -> int:
    return _positive_int(value, "timeout", upper=_MAX_TIMEOUT_S)


def _task_cores(value: Any) -> int:
    return _positive_int(value, "task_cores", upper=64)


@dataclass(frozen=True, slots=True)
class TableRef:
    """A FATE table: where an upload put a party's data."""

    namespace: str
    name: str

    def __post_init__(self) -> None:
        for part in ("namespace", "name"):
            value = getattr(self, part)
            if not isinstance(value, str) or not _TABLE_PART.match(value):
                raise ConfigError("table namespaces/names are 1-128 characters of letters, digits, '_', '-', '.'"
                                  " starting with a letter or digit", field=f"table.{part}", value=value)

    @classmethod
    def of(cls, value: TableRef | tuple[str, str] | Sequence[str], field_name: str = "table") -> TableRef:
        """Accept a TableRef or a ``(namespace, name)`` pair."""
        if isinstance(value, TableRef):
            return value
        if isinstance(value, str) or len(value) != 2:
            raise ConfigError("a table is a (namespace, name) pair", field=field_name, value=value)
        return cls(str(value[0]), str(value[1]))

    def as_params(self) -> dict[str, str]:
        return {"name": self.name, "namespace": self.namespace}


@dataclass(frozen=True, slots=True)
class PartyTables:
    """One table per data-holding party: the guest's and each host's (in the order of ``hosts``)."""

    guest: TableRef
    hosts: tuple[TableRef, ...]

    @classmethod
    def of(cls, guest: TableRef | tuple[str, str], hosts: Iterable[TableRef | tuple[str, str]],
           what: str = "tables") -> PartyTables:
        return cls(TableRef.of(guest, f"{what}.guest"),
                   tuple(TableRef.of(h, f"{what}.hosts[{i}]") for i, h in enumerate(hosts)))


@dataclass(frozen=True, slots=True)
class _Parties:
    guest: str
    hosts: tuple[str, ...]
    arbiter: str | None = None

    @classmethod
    def of(cls, guest: Party, hosts: Party | Iterable[Party], arbiter: Party | None) -> _Parties:
        host_list = [hosts] if isinstance(hosts, int | str) else list(hosts)
        if not host_list:
            raise ConfigError("at least one host is needed", field="hosts", value=host_list)
        ids = tuple(party_id(h, f"hosts[{i}]") for i, h in enumerate(host_list))
        if len(set(ids)) != len(ids):
            raise ConfigError("a host is listed twice", field="hosts", value=list(ids))
        return cls(party_id(guest, "guest"), ids, None if arbiter is None else party_id(arbiter, "arbiter"))

    def spec(self, roles: Sequence[str] = ("guest", "host", "arbiter")) -> list[dict[str, Any]]:
        """``[{"party_id": [...], "role": ...}]`` for the roles asked, in FATE's order."""
        out = []
        for role in roles:
            ids = {"guest": [self.guest], "host": list(self.hosts),
                   "arbiter": [self.arbiter] if self.arbiter else []}[role]
            if ids:
                out.append({"party_id": ids, "role": role})
        return out

    def check_tables(self, tables: PartyTables, what: str) -> None:
        if len(tables.hosts) != len(self.hosts):
            raise ConfigError(f"one {what} table per host is needed ({len(self.hosts)} hosts)",
                              field=f"{what}.hosts", value=[f"{t.namespace}/{t.name}" for t in tables.hosts])


# ------------------------------------------------------------------------------------------ DAG parts
def _conf(timeout: int, task_cores: int, **extra: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {"cores": task_cores, "task": {"engine_run": {"cores": task_cores}, "timeout": timeout}}
    conf.update(extra)
    return conf


def _schema(parties: _Parties, stage: Stage, conf: dict[str, Any], tasks: dict[str, Any],
            party_tasks: dict[str, Any] | None = None) -> dict[str, Any]:
    job_parties = parties.spec()
    for task in tasks.values():
        # Like FATE's compiler: a task runs on every job party unless it lists its own.
        if task.get("parties") == job_parties:
            del task["parties"]
    dag: dict[str, Any] = {"conf": conf, "parties": job_parties, "stage": stage, "tasks": tasks}
    if party_tasks:
        dag["party_tasks"] = party_tasks
    return {"dag": dag, "schema_version": SCHEMA_VERSION}


def _reader(task_name: str, parties: _Parties, tables: PartyTables, party_tasks: dict[str, Any]) -> dict[str, Any]:
    """A reader on guest+hosts; each party's table goes into ``party_tasks`` (only that party sees it)."""
    per_party = [("guest", parties.guest, tables.guest),
                 *(("host", pid, t) for pid, t in zip(parties.hosts, tables.hosts, strict=True))]
    for role, pid, table in per_party:
        entry = party_tasks.setdefault(f"{role}_{pid}", {"parties": [{"party_id": [pid], "role": role}],
                                                         "tasks": {}})
        entry["tasks"][task_name] = {"parameters": table.as_params()}
    return {"component_ref": "reader", "parameters": {}, "parties": parties.spec(("guest", "host")),
            "stage": "default"}


def _output(producer: str, key: str, parties: _Parties, *, source: str = "task_output_artifact") -> dict[str, Any]:
    return {source: {"output_artifact_key": key, "parties": parties.spec(("guest", "host")),
                     "producer_task": producer}}


def _outputs(items: Sequence[tuple[str, str]], parties: _Parties) -> dict[str, Any]:
    """A multi-input channel (the evaluation's ``input_datas``)."""
    return {"task_output_artifact": [_output(p, k, parties)["task_output_artifact"] for p, k in items]}


def _evaluation(inputs: Sequence[tuple[str, str]], parties: _Parties, metrics: Sequence[str]) -> dict[str, Any]:
    return {
        "component_ref": "evaluation",
        "dependent_tasks": sorted({p for p, _ in inputs}),
        "inputs": {"data": {"input_datas": _outputs(inputs, parties)}},
        "parameters": {"default_eval_setting": "binary", "label_column_name": None, "metrics": list(metrics),
                       "predict_column_name": None},
        "parties": parties.spec(("guest", "host")),
        "stage": "default",
    }


def _metrics(metrics: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(metrics)
    unknown = sorted(set(chosen) - _KNOWN_METRICS)
    if not chosen or unknown:
        raise ConfigError("unknown evaluation metric(s)" if unknown else "at least one metric is needed",
                          field="metrics", value=unknown or list(chosen),
                          fix=f"pick from {', '.join(BINARY_METRICS)}")
    return chosen


# ---------------------------------------------------------------------------------------- builders
def toy_example_job(guest: Party, host: Party, *, data_num: int = 1024, partition: int = 4, timeout: int = 600,
                    task_cores: int = 1) -> dict[str, Any]:
    """FATE's toy example: guest and host exchange ``data_num`` ids through the federation.

    The seed's ``run_toy_example`` check — it proves the two parties can federate, not that ML works.
    (``flow test toy``'s own conf ignores timeout and cores; this one sets both.)
    """
    parties = _Parties.of(guest, [host], None)
    task = {"component_ref": "toy_example",
            "parameters": {"data_num": _positive_int(data_num, "data_num"),
                           "partition": _positive_int(partition, "partition", upper=1024)},
            "stage": "default"}
    return _schema(parties, "train", _conf(_timeout(timeout), _task_cores(task_cores)), {"toy_example_0": task})


def reader_job(guest: Party, hosts: Party | Iterable[Party], guest_table: TableRef | tuple[str, str],
               host_tables: Iterable[TableRef | tuple[str, str]], *, timeout: int = 300,
               task_cores: int = 1) -> dict[str, Any]:
    """Only a reader per party: checks tables are readable — and, on a missing table, a job that fails
    fast (≈ 30 s) naming ``reader_0``, which is what failure-path tests need."""
    parties = _Parties.of(guest, hosts, None)
    tables = PartyTables.of(guest_table, host_tables, "tables")
    parties.check_tables(tables, "tables")
    party_tasks: dict[str, Any] = {}
    tasks = {"reader_0": _reader("reader_0", parties, tables, party_tasks)}
    return _schema(parties, "train", _conf(_timeout(timeout), _task_cores(task_cores)), tasks, party_tasks)


@dataclass(frozen=True, slots=True)
class HomoLRParams:
    """Hyper-parameters of FATE 2.2's ``homo_lr`` (names and choices from its component definition)."""

    epochs: int = 5
    batch_size: int = 100
    learning_rate: float = 0.15
    optimizer: str = "sgd"
    penalty: str = "l2"
    alpha: float = 0.01  # penalty strength
    init_method: str = "zeros"
    fit_intercept: bool = True
    lr_scheduler: str = "constant"
    lr_scheduler_params: dict[str, Any] = field(default_factory=lambda: {"factor": 1.0})
    threshold: float = 0.5

    def __post_init__(self) -> None:
        _positive_int(self.epochs, "epochs", upper=10_000)
        # The component spec says ">= 0" but HomoLRClient asserts "> 0": 0 fails at run time.
        _positive_int(self.batch_size, "batch_size")
        checks = [
            ("learning_rate", isinstance(self.learning_rate, int | float) and self.learning_rate > 0, "a number > 0"),
            ("alpha", isinstance(self.alpha, int | float) and self.alpha >= 0, "a number >= 0"),
            ("threshold", isinstance(self.threshold, int | float) and 0 <= self.threshold <= 1,
             "a number in [0, 1]"),
            ("optimizer", str(self.optimizer).lower() in _OPTIMIZERS, f"one of {sorted(_OPTIMIZERS)}"),
            ("penalty", str(self.penalty).lower() in _PENALTIES, f"one of {sorted(_PENALTIES)}"),
            ("init_method", self.init_method in _INIT_METHODS, f"one of {sorted(_INIT_METHODS)}"),
            ("lr_scheduler", self.lr_scheduler in _LR_SCHEDULERS, f"one of {sorted(_LR_SCHEDULERS)}"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ConfigError(f"must be {expected}", field=name, value=getattr(self, name))

    def train_parameters(self) -> dict[str, Any]:
        """The ``parameters`` block of a ``homo_lr`` train task, exactly as fate_client compiles it."""
        return {
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "init_param": {"fit_intercept": self.fit_intercept, "method": self.init_method},
            "label_num": None,
            "learning_rate_scheduler": {"method": self.lr_scheduler,
                                        "scheduler_params": dict(self.lr_scheduler_params)},
            "optimizer": {"alpha": self.alpha, "method": self.optimizer,
                          "optimizer_params": {"lr": self.learning_rate}, "penalty": self.penalty},
            "ovr": False,
            "threshold": self.threshold,
        }

    def predict_parameters(self) -> dict[str, Any]:
        """A predict-stage ``homo_lr`` task inside a training job (only batch size/threshold matter)."""
        return {"batch_size": self.batch_size, "epochs": self.epochs, "label_num": None, "ovr": False,
                "threshold": self.threshold}


def homo_lr_train_job(
    guest: Party,
    hosts: Party | Iterable[Party],
    arbiter: Party,
    guest_table: TableRef | tuple[str, str],
    host_tables: Iterable[TableRef | tuple[str, str]],
    *,
    validate_tables: PartyTables | None = None,
    test_tables: PartyTables | None = None,
    epochs: int = 5,
    batch_size: int = 100,
    learning_rate: float = 0.15,
    penalty: str = "l2",
    alpha: float = 0.01,
    optimizer: str = "sgd",
    init_method: str = "zeros",
    lr_scheduler: str = "constant",
    lr_scheduler_params: dict[str, Any] | None = None,
    threshold: float = 0.5,
    evaluate: bool = True,
    metrics: Iterable[str] = DEFAULT_METRICS,
    timeout: int = 3600,
    task_cores: int = 1,
) -> dict[str, Any]:
    """Horizontal (homo) logistic regression: every party holds labelled rows of the same columns.

    Tasks: ``reader_0`` (train tables) → ``homo_lr_0`` (the arbiter aggregates) → ``evaluation_0``;
    with ``validate_tables`` a ``reader_1`` feeds ``homo_lr_0``'s validate input (its output then holds
    ``train_set`` and ``validate_set`` rows, evaluated separately); with ``test_tables`` a ``reader_2``
    feeds ``homo_lr_1``, the trained model in predict stage, whose output is evaluated as ``test_set``.
    The model to deploy is ``homo_lr_0``'s (see :func:`predict_job`).
    """
    parties = _Parties.of(guest, hosts, arbiter)
    train = PartyTables.of(guest_table, host_tables, "train")
    params = HomoLRParams(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, optimizer=optimizer,
                          penalty=penalty, alpha=alpha, init_method=init_method, lr_scheduler=lr_scheduler,
                          lr_scheduler_params=lr_scheduler_params or {"factor": 1.0}, threshold=threshold)
    chosen_metrics = _metrics(metrics)
    for tables, what in ((train, "train"), (validate_tables, "validate"), (test_tables, "test")):
        if tables is not None:
            parties.check_tables(tables, what)

    party_tasks: dict[str, Any] = {}
    tasks: dict[str, Any] = {"reader_0": _reader("reader_0", parties, train, party_tasks)}
    data: dict[str, Any] = {"train_data": _output("reader_0", "output_data", parties)}
    if validate_tables is not None:
        tasks["reader_1"] = _reader("reader_1", parties, validate_tables, party_tasks)
        data["validate_data"] = _output("reader_1", "output_data", parties)
    tasks["homo_lr_0"] = {
        "component_ref": "homo_lr",
        "dependent_tasks": sorted(t for t in tasks if t.startswith("reader_")),
        "inputs": {"data": data, "model": {}},
        "parameters": params.train_parameters(),
    }
    evaluated = [("homo_lr_0", "train_output_data")]
    if test_tables is not None:
        tasks["reader_2"] = _reader("reader_2", parties, test_tables, party_tasks)
        tasks["homo_lr_1"] = {
            "component_ref": "homo_lr",
            "dependent_tasks": ["homo_lr_0", "reader_2"],
            "inputs": {"data": {"test_data": _output("reader_2", "output_data", parties)},
                       "model": {"input_model": _output("homo_lr_0", "output_model", parties)}},
            "parameters": params.predict_parameters(),
            "stage": "predict",
        }
        evaluated.append(("homo_lr_1", "test_output_data"))
    if evaluate:
        tasks["evaluation_0"] = _evaluation(evaluated, parties, chosen_metrics)
    return _schema(parties, "train", _conf(_timeout(timeout), _task_cores(task_cores)), tasks, party_tasks)


def predict_job(
    guest: Party,
    hosts: Party | Iterable[Party],
    arbiter: Party,
    guest_table: TableRef | tuple[str, str],
    host_tables: Iterable[TableRef | tuple[str, str]],
    model_id: str,
    model_version: str | int,
    *,
    params: HomoLRParams | None = None,
    model_task: str = "homo_lr_0",
    evaluate: bool = False,
    metrics: Iterable[str] = DEFAULT_METRICS,
    timeout: int = 3600,
    task_cores: int = 1,
) -> dict[str, Any]:
    """Score new tables with a trained homo-LR model (``stage="predict"``, ``conf.model_warehouse``).

    ``model_id``/``model_version`` are what the training submit returned; ``model_task`` is the trained
    task whose ``output_model`` is loaded (``homo_lr_0`` for :func:`homo_lr_train_job`). ``params`` are
    the hyper-parameters it was trained with — FATE's deploy copies them into the predict task; only
    ``batch_size`` and ``threshold`` affect scoring. ``evaluate`` adds ``evaluation_0`` on the scores
    (the tables must then be labelled).
    """
    parties = _Parties.of(guest, hosts, arbiter)
    tables = PartyTables.of(guest_table, host_tables, "tables")
    parties.check_tables(tables, "tables")
    if not (isinstance(model_id, str) and model_id.strip()):
        raise ConfigError("the model id returned by the training submit is needed", field="model_id", value=model_id)
    if not re.match(r"^[a-z][a-z0-9_]*$", model_task):
        raise ConfigError("task names are lower-case identifiers", field="model_task", value=model_task)
    version = str(model_version)
    params = params or HomoLRParams()
    chosen_metrics = _metrics(metrics)

    party_tasks: dict[str, Any] = {}
    tasks: dict[str, Any] = {
        "reader_0": _reader("reader_0", parties, tables, party_tasks),
        model_task: {
            "component_ref": "homo_lr",
            "dependent_tasks": ["reader_0"],
            "inputs": {"data": {"test_data": _output("reader_0", "output_data", parties)},
                       "model": {"input_model": _output(model_task, "output_model", parties,
                                                        source="model_warehouse")}},
            "parameters": params.train_parameters(),
        },
    }
    if evaluate:
        tasks["evaluation_0"] = _evaluation([(model_task, "test_output_data")], parties, chosen_metrics)
    conf = _conf(_timeout(timeout), _task_cores(task_cores),
                 model_warehouse={"model_id": model_id, "model_version": version})
    return _schema(parties, "predict", conf, tasks, party_tasks)
