"""Federated training of the fraud model: the job spec from Params, and what it scored.

The job is the seed's: every data party's ``train`` table → ``homo_lr_0`` (the arbiter averages the
parties' models) → ``evaluation_0`` (binary: AUC, KS, precision, recall, accuracy). The seed
evaluates on the training rows only; we also score each party's held-out ``test`` table with the
trained model (``homo_lr_1``) so the headline AUC is an honest one.

Each party's evaluation sees only that party's rows (data stays home), so FATE reports one set of
metrics per party. The headline — what the registry promotes on — is the guest's (the initiator's)
test-set score, as in the seed where the guest runs the evaluation; every party's numbers are kept
beside it.

FATE's evaluation has no precision-recall area, and a fraud model needs a decision threshold, so the
guest's scored rows are read back too (its own rows, on its own FATE Flow): its *training* rows
(``homo_lr_0``'s output) choose the threshold — best F1, or a target recall — and its held-out rows
(``homo_lr_1``) give the AUPRC and what that threshold does on unseen rows (:func:`fraud_metrics`).
Only the guest's rows: another party's row-level scores and labels never leave that party.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from fateops.exceptions import ConfigError, FateFlowError
from fateops.fate.client import FateFlowClient
from fateops.fate.jobs import DEFAULT_METRICS, HomoLRParams, homo_lr_train_job
from fateops.fate.metrics import metric_values
from fateops.federation import Federation, Party
from fateops.pipeline.tables import PartyTable, data_parties, data_role, tables_for_job
from fateops.registry import ModelRecord, ModelRegistry
from fateops.scoring import at_threshold, binary_scores, choose_threshold

if TYPE_CHECKING:
    import pandas as pd

    from fateops.tracking import MlflowModelRegistry

EVALUATION_TASK = "evaluation_0"
MODEL_TASK = "homo_lr_0"
TEST_TASK = "homo_lr_1"
_HEADLINE = {"auc": "auc", "ks": "ks", "precision": "binary_precision", "recall": "binary_recall",
             "accuracy": "binary_accuracy"}
_LABEL, _SCORE = "Class", "predict_score"  # the columns predicting.tidy_scores leaves
FULL_SIZE_STEPS = 5_700
"""Optimizer steps of the full-size job with the seed's 5 epochs × batch 100: Kaggle's 284,807 rows over 2
parties, 80 % of a party's 142,404 rows for training → ⌈113,923 / 100⌉ = 1,140 batches an epoch."""
MAX_EPOCHS_FOR_MIN_STEPS = 100
"""``min_steps`` raises the epochs at most to this: every epoch is also a federated round (an aggregation
and the trainer's per-epoch work), which a tiny table would otherwise repeat hundreds of times."""
MAX_MIN_STEPS = 1_000_000
DEFAULT_MIN_BATCH = 25
"""The smallest batch a small table's epochs are cut into (:attr:`TrainSettings.min_batch_size`): the panel's
100k-row, 0.1 %-fraud, weak-signal, 3-party cell (26,667 rows a party) lands on it, 1,067 steps an epoch at lr
0.25, and is within 0.005 there on every draw tried (batch 10 at lr 2.0 or 0.63 missed); a 20k-row table stops
at it too, so no job takes more than ≈ 24,000 steps."""
MAX_MIN_BATCH = 100_000


@dataclass(frozen=True)
class TrainSettings:
    """The homo-LR hyper-parameters a DAG run asks for; the defaults were chosen on bench/parity.py's panel.

    Why these values (the README's "Training defaults" has the table): the seed's SGD, 5 epochs, batch 100,
    lr 0.15 matched centralized scikit-learn at full size (−0.001 AUC) but stopped 0.03–0.48 AUC short on
    the panel's small and rare-fraud variants. Hugging Face's trainer under FATE's homo-LR clips every
    gradient to norm 1, so a step moves the weights by at most the learning rate: 0.15 × a few hundred
    steps cannot reach the optimum on 20k rows. A large constant rate (1.0) reaches the small variants but
    leaves SGD's noise in the large ones (−0.04 AUC on 284,807 rows, weak signal, 3 parties; −0.06 at 2 %
    fraud). So the rate starts large and falls linearly to ``lr_decay_to`` of itself over the job's steps
    (FATE's ``linear`` scheduler, stepped once per batch — its length is computed from the tables' rows,
    :meth:`homo_lr_kwargs`). That alone left the weak-signal, rare-fraud variants up to 0.06 AUC short on
    small tables (scored on a 1,000-fraud evaluation set): 5 epochs of 20k rows are only 400 steps. So
    ``min_steps`` raises the epochs of small tables until the largest party processes as many rows as the
    full-size job (5,700 steps of 100 rows): 15 of the panel's 16 cells within 0.005 AUC. The 16th (100k
    rows, 0.1 % fraud, weak signal, 3 parties: −0.0057, −0.0123 on another draw) was still short at batch
    100 (4× the epochs closed it, at 4× the rows). So a small table also takes *smaller batches*
    (``min_batch_size``): each of its epochs is cut into as many batches as a full-size epoch (1,140), at
    the full-size job's rate per row (``learning_rate`` × batch ÷ ``batch_size``) — the same epochs, rows
    and movement per epoch, in 4× as many smaller steps that follow the gradient more closely than large
    clipped ones. At a first rate of 2.0 that put the README's 16 cells within 0.005 (worst −0.0009) but
    left the full panel's 284,807-row, 0.1 %, weak, 2-party variant −0.0072 (5 × 100 there, which no rule
    may change); 1.0 (0.25 at batch 25) puts all 37 cells within 0.005 (worst −0.0026) and the four
    hardest on three more draws (worst −0.0008). lr 2.0 at batch 25 was worse than batch 100; √-scaling
    the rate missed once. The training loop's cost grows with the rows it processes (every epoch turns
    each row into tensors one by one), not with the steps (≈ 0.3 ms of torch each): the full-size job keeps
    exactly its 5 epochs × 1,140 batches of 100, and a smaller table processes about as many rows.
    Adam at a constant rate oscillated at full size (lr 0.3: −0.026 AUC).
    """

    epochs: int = 5
    """Federated rounds (the arbiter averages after every local epoch); the job's cost grows with them."""
    batch_size: int = 100
    """Rows per local optimizer step; also the scoring batch of the test rows inside the training job."""
    learning_rate: float = 1.0
    """SGD's first step size; with the trainer's gradient clipping a step moves the weights by at most this."""
    lr_decay_to: float | None = 0.02
    """The rate falls linearly to this fraction of ``learning_rate`` by the last step; None keeps it constant."""
    penalty: str = "l2"
    alpha: float = 1e-5
    """L2 strength, FATE's ``weight_decay`` applied at every step. 0.01 shrinks the weights faster than
    0.17 % of fraud rows can grow them (held-out AUC 0.67 against 0.95 centralized, full size); 1e-5 is
    close to scikit-learn's C=1 on the panel's sizes (1/n for 16k–228k training rows: 6e-5–4e-6)."""
    optimizer: str = "sgd"
    threshold: float = 0.5
    min_steps: int | None = FULL_SIZE_STEPS
    """Small tables train for more epochs until the largest party takes at least this many optimizer steps
    of ``batch_size`` rows (``epochs`` is the floor; None or 0: exactly ``epochs``, and ``batch_size``). The
    default is the full-size job's own count (284,807 rows over 2 parties: 5 epochs × 1,140 batches), so
    that job is unchanged and no job's training loop processes more rows than it does but for the last
    epoch's; at most :data:`MAX_EPOCHS_FOR_MIN_STEPS`."""
    min_batch_size: int | None = DEFAULT_MIN_BATCH
    """With ``min_steps``, a table with fewer rows than the full-size one also takes smaller batches, down to
    this: as many batches an epoch as ``min_steps`` ÷ ``epochs`` (the full-size job's 1,140), never more
    than ``batch_size`` rows; the first rate scales with the batch (× batch ÷ ``batch_size``: the same rate
    per row). None or 0: always ``batch_size``. The epochs (so the rows processed, the cost) are those of
    ``batch_size``."""

    def __post_init__(self) -> None:
        _check_optional_count("min_steps", self.min_steps, MAX_MIN_STEPS, "optimizer steps",
                              "train exactly `epochs`")
        _check_optional_count("min_batch_size", self.min_batch_size, MAX_MIN_BATCH, "rows",
                              "every table trains at `batch_size`")
        if self.lr_decay_to is not None and not (isinstance(self.lr_decay_to, int | float)
                                                 and 0 < self.lr_decay_to <= 1):
            raise ConfigError("must be a fraction in (0, 1] of the learning rate, or null for a constant rate",
                              field="lr_decay_to", value=self.lr_decay_to)
        HomoLRParams(**self._constant_rate_kwargs())  # the FATE-side checks, with field names in the errors

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TrainSettings:
        """Read the DAG Params of the same names; absent ones keep their defaults (``lr_decay_to``: null
        in the form means a constant rate, so it is read whenever it is present)."""
        casts = {"epochs": int, "batch_size": int, "learning_rate": float, "alpha": float, "threshold": float,
                 "penalty": lambda v: str(v).lower(), "optimizer": lambda v: str(v).lower()}
        values: dict[str, Any] = {name: cast(params[name]) for name, cast in casts.items()
                                  if params.get(name) is not None}
        if "lr_decay_to" in params:
            values["lr_decay_to"] = None if params["lr_decay_to"] is None else float(params["lr_decay_to"])
        for rule in ("min_steps", "min_batch_size"):  # null (an emptied form field) disables a rule, like 0
            if rule in params:
                values[rule] = None if params[rule] is None else _whole(params[rule])
        return cls(**values)

    def batches(self, train_rows: int) -> int:
        """Optimizer steps per epoch of a party with ``train_rows`` training rows (the last batch short), at
        the batch the job really runs (:meth:`batch_for`)."""
        return _batches(train_rows, self.batch_for(train_rows))

    def batch_for(self, train_rows: int) -> int:
        """The batch a job really runs when its largest party has ``train_rows`` training rows: ``batch_size``,
        cut (down to ``min_batch_size``, never above ``batch_size``) until an epoch takes ``min_steps`` ÷
        ``epochs`` batches — the full-size job's 1,140, which its batch 100 already gives (so it is unchanged)."""
        if not self.min_steps or not self.min_batch_size:
            return self.batch_size
        per_epoch = math.ceil(self.min_steps / self.epochs)
        return min(self.batch_size, max(self.min_batch_size, math.ceil(train_rows / per_epoch)))

    def learning_rate_for(self, train_rows: int) -> float:
        """The first rate a job really runs: ``learning_rate`` × :meth:`batch_for` ÷ ``batch_size`` — the same
        rate per row, so an epoch moves the weights as far as at ``batch_size``, in more, smaller steps."""
        batch = self.batch_for(train_rows)
        return self.learning_rate if batch == self.batch_size else self.learning_rate * batch / self.batch_size

    def epochs_for(self, train_rows: int) -> int:
        """The epochs a job really runs when its largest party has ``train_rows`` training rows: ``epochs``,
        raised (up to :data:`MAX_EPOCHS_FOR_MIN_STEPS`) until that party takes ``min_steps`` steps of
        ``batch_size`` rows (the rows processed: a smaller :meth:`batch_for` adds steps, not epochs)."""
        if not self.min_steps:
            return self.epochs
        needed = math.ceil(self.min_steps / _batches(train_rows, self.batch_size))
        return max(self.epochs, min(needed, MAX_EPOCHS_FOR_MIN_STEPS))

    def as_run(self, train_rows: int) -> TrainSettings:
        """These settings with ``epochs``, ``batch_size`` and ``learning_rate`` = what the job really runs:
        what the registry, the report and MLflow record, so a reader sees 22 epochs of batch 25 at lr 0.25,
        not the 5 × 100 at 1.0 asked for (the job spec is the same: the rules leave run values as they are)."""
        return replace(self, epochs=self.epochs_for(train_rows), batch_size=self.batch_for(train_rows),
                       learning_rate=self.learning_rate_for(train_rows))

    def steps(self, train_rows: int) -> int:
        """Optimizer steps of a party with ``train_rows`` rows: FATE's scheduler counts these, not epochs."""
        return self.epochs_for(train_rows) * self.batches(train_rows)

    def homo_lr_kwargs(self, *, train_rows: int) -> dict[str, Any]:
        """:func:`~fateops.fate.jobs.homo_lr_train_job`'s keywords. ``train_rows`` is the largest party's
        training table: it sets the epochs (``min_steps``), the batch and first rate (``min_batch_size``), and
        the decay spans its steps (a smaller party ends a little above ``lr_decay_to``)."""
        kwargs = {**self._constant_rate_kwargs(), "epochs": self.epochs_for(train_rows),
                  "batch_size": self.batch_for(train_rows), "learning_rate": self.learning_rate_for(train_rows)}
        if self.lr_decay_to is not None and self.lr_decay_to < 1:
            kwargs.update(lr_scheduler="linear", lr_scheduler_params={
                "start_factor": 1.0, "end_factor": float(self.lr_decay_to), "total_iters": self.steps(train_rows)})
        return kwargs

    def _constant_rate_kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("lr_decay_to", "min_steps", "min_batch_size")}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _batches(train_rows: int, batch: int) -> int:
    return max(1, math.ceil(train_rows / batch))


def _check_optional_count(field: str, value: Any, maximum: int, unit: str, when_off: str) -> None:
    """``field`` is null or a whole number (not a bool) from 0 to ``maximum``; 0 or null switch its rule off."""
    if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum):
        raise ConfigError(f"must be a whole number of {unit} from 0 to {maximum:,} (0 or null: {when_off})",
                          field=field, value=value)


def _whole(value: Any) -> int:
    """A Param's whole number (the form may send 5700.0); anything else is left for the field check."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return int(number) if number.is_integer() else value


def party_ids(federation: Federation) -> tuple[str, list[str], str]:
    """(guest, hosts, arbiter) of a homo job, as FATE party ids."""
    guest, *hosts = (str(p.party_id) for p in data_parties(federation))
    return guest, hosts, str(federation.arbiter.party_id)


def train_job(federation: Federation, tables: Iterable[PartyTable], settings: TrainSettings, *,
              timeout_s: int, train_rows: int) -> dict[str, Any]:
    """The ``dag_schema`` of one training run: train on ``train`` tables, score ``test`` tables, evaluate.

    ``train_rows``: the largest party's training table (FATE's table query says it), which sizes the
    learning-rate decay.
    """
    tables = list(tables)
    guest, hosts, arbiter = party_ids(federation)
    train = tables_for_job(tables, "train")
    return homo_lr_train_job(guest, hosts, arbiter, train.guest, train.hosts,
                             test_tables=tables_for_job(tables, "test"), evaluate=True, metrics=DEFAULT_METRICS,
                             timeout=timeout_s, **settings.homo_lr_kwargs(train_rows=train_rows))


@dataclass(frozen=True)
class TrainResult:
    """One training job's model and scores; ``parties[pid][dataset][metric]`` holds everything FATE reported."""

    job_id: str
    model_id: str
    model_version: str
    parties: dict[str, dict[str, dict[str, float]]]
    headline: dict[str, float | None]
    headline_source: str
    settings: dict[str, Any] = field(default_factory=dict)
    fraud: dict[str, Any] = field(default_factory=dict)
    """:func:`fraud_metrics` of the guest's rows: the decision threshold, AUPRC, outcomes at the threshold."""

    @property
    def auc(self) -> float | None:
        return self.headline.get("auc")

    @property
    def average_precision(self) -> float | None:
        return self.fraud.get("average_precision")

    @property
    def decision_threshold(self) -> float | None:
        return self.fraud.get("decision_threshold")

    @property
    def ks(self) -> float | None:
        return self.headline.get("ks")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def flatten_scores(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """``{dataset: {metric: value}}`` from one party's evaluation records (train_set, test_set, …)."""
    flat: dict[str, dict[str, float]] = {}
    for datasets in metric_values(records).values():
        for dataset, values in datasets.items():
            flat.setdefault(dataset, {}).update(values)
    return flat


def headline_scores(parties: Mapping[str, Mapping[str, Mapping[str, float]]], guest: str
                    ) -> tuple[dict[str, float | None], str]:
    """The guest's held-out scores (its train scores when no test set was evaluated)."""
    for dataset in ("test_set", "validate_set", "train_set", "origin"):
        values = parties.get(guest, {}).get(dataset)
        if values:
            return ({name: values.get(key) for name, key in _HEADLINE.items()}, f"party {guest} {dataset}")
    raise FateFlowError(f"the evaluation reported no scores for the guest {guest}",
                        fix="check that evaluation_0 ran on the guest (job log) and that the tables have labels")


def fraud_metrics(train: pd.DataFrame, test: pd.DataFrame | None, *, target_recall: float | None = None
                  ) -> dict[str, Any]:
    """The decision threshold chosen on the scored *training* rows, then AUPRC and that threshold's
    precision, recall and confusion counts on the held-out rows (``Class`` + ``predict_score`` frames)."""
    chosen = choose_threshold(train[_LABEL], train[_SCORE], target_recall=target_recall)
    rule = "maximise F1" if target_recall is None else f"highest threshold with recall ≥ {target_recall:g}"
    out: dict[str, Any] = {"decision_threshold": chosen.threshold, "threshold_rule": f"{rule} on training rows",
                           "training_rows": chosen.as_dict(),
                           "training_average_precision": binary_scores(train[_LABEL], train[_SCORE])
                           ["average_precision"]}
    if test is not None and len(test):
        out["average_precision"] = binary_scores(test[_LABEL], test[_SCORE])["average_precision"]
        out["held_out_at_threshold"] = at_threshold(test[_LABEL], test[_SCORE], chosen.threshold).as_dict()
    return out


def evaluation_records(client: FateFlowClient, job_id: str, party: Party) -> list[dict[str, Any]]:
    """One party's ``evaluation_0`` metric records, read from that party's own FATE Flow."""
    return client.query_metrics(job_id, str(data_role(party)), party.party_id, EVALUATION_TASK)


def train_result(federation: Federation, records: Mapping[str, Iterable[Mapping[str, Any]]], *, job_id: str,
                 model_id: str, model_version: str, settings: TrainSettings | None = None,
                 fraud: Mapping[str, Any] | None = None) -> TrainResult:
    """Scores per party (``records`` keyed by party id) and the guest's headline (+ its AUPRC from ``fraud``)."""
    parties = {str(p.party_id): flatten_scores(records.get(str(p.party_id), [])) for p in data_parties(federation)}
    headline, source = headline_scores(parties, str(federation.guest.party_id))
    fraud = dict(fraud or {})
    if "average_precision" in fraud:
        headline["average_precision"] = fraud["average_precision"]
    return TrainResult(job_id=job_id, model_id=model_id, model_version=str(model_version), parties=parties,
                       headline=headline, headline_source=source,
                       settings=settings.as_dict() if settings else {}, fraud=fraud)


def collect_train_result(client: FateFlowClient, federation: Federation, *, job_id: str, model_id: str,
                         model_version: str, settings: TrainSettings | None = None) -> TrainResult:
    """:func:`train_result` with every party's records read through one client (one FATE Flow serves all)."""
    records = {str(p.party_id): evaluation_records(client, job_id, p) for p in data_parties(federation)}
    return train_result(federation, records, job_id=job_id, model_id=model_id, model_version=model_version,
                        settings=settings)


def register_result(result: TrainResult, registry: ModelRegistry | MlflowModelRegistry, *,
                    dataset: Mapping[str, Any] | None = None, run_id: str | None = None) -> ModelRecord:
    """Record the trained model with its headline scores; the registry's rule decides promotion.

    ``run_id``: the MLflow training run the version links to (MLflow registry only).
    """
    if result.auc is None or result.ks is None:
        raise FateFlowError(f"job {result.job_id}: the evaluation reported no AUC/KS ({result.headline_source})",
                            fix="check evaluation_0's log; the model is not registered without scores")
    return registry.record(model_id=result.model_id, model_version=result.model_version, job_id=result.job_id,
                           auc=result.auc, ks=result.ks, average_precision=result.average_precision,
                           decision_threshold=result.decision_threshold,
                           metrics={"headline": result.headline, "source": result.headline_source,
                                    "parties": result.parties, "fraud": result.fraud},
                           params=result.settings, dataset=dict(dataset or {}),
                           **({"run_id": run_id} if run_id else {}))
