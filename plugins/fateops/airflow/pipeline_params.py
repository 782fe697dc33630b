"""The Params of the credit-card pipeline, grouped by stage so every DAG that runs a stage offers the
same knobs under the same names (the pipeline DAG simply merges the groups).

Defaults are the seed's where it gives them (homo LR, L2, namespace ``experiment``), Kaggle's dataset
shape for the data, and for the training knobs the values chosen on bench/parity.py's panel (the seed's
SGD, 5 iterations, batch 100, learning rate 0.15 fell short of centralized training on rare-fraud data).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param

from fateops.airflow.defaults import federation_param, job_timeout_param, poll_interval_param, sensor_timeout_param

KAGGLE_ROWS = 284_807  # fateops.data.synthetic.KAGGLE_ROWS; repeated to keep DAG parsing free of pandas
KAGGLE_FRAUD_RATIO = 0.00172


def common_params(*, job_timeout_s: int = 3600, sensor_timeout_s: int = 3600) -> dict[str, Param]:
    """The federation and the deadlines every FATE job of a run gets."""
    return {
        "federation": federation_param(),
        "job_timeout_s": job_timeout_param(job_timeout_s),
        "sensor_timeout_s": sensor_timeout_param(sensor_timeout_s),
        "poll_interval_s": poll_interval_param(),
    }


def table_params() -> dict[str, Param]:
    """Where each party's tables live in FATE (shared by prepare, train, predict and retrain)."""
    return {
        "namespace": Param("experiment", type="string", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$",
                           title="FATE namespace",
                           description="Namespace of the party tables (the seed uses 'experiment')."),
        "table_name_template": Param(
            "creditcard_{party_id}_{split}", type="string", title="Table name template",
            description="Name of each party's table; {party_id} (or {role}: guest/host) and {split} "
                        "(train/test) are filled in, e.g. creditcard_9999_train."),
    }


def dataset_params() -> dict[str, Param]:
    """Which data, how it is split and prepared, and the validation gate's bounds."""
    return {
        "dataset_path": Param(
            None, type=["null", "string"], title="creditcard.csv path",
            description="Absolute path of a Kaggle-format creditcard.csv (Time, V1..V28, Amount, Class; quoted "
                        "headers and labels accepted). Empty: generate SYNTHETIC data of the same schema."),
        "rows": Param(KAGGLE_ROWS, type="integer", minimum=100, maximum=10_000_000, title="Synthetic rows",
                      description="Rows of the synthetic dataset (Kaggle's file has 284,807). Ignored when a "
                                  "dataset path is given."),
        "fraud_ratio": Param(KAGGLE_FRAUD_RATIO, type="number", exclusiveMinimum=0, exclusiveMaximum=0.5,
                             title="Synthetic fraud ratio",
                             description="Share of frauds in the synthetic dataset (Kaggle: 0.172 %)."),
        "seed": Param(42, type="integer", minimum=0, title="Seed",
                      description="Seed of the synthetic data, the party split and the train/test split."),
        "test_fraction": Param(0.2, type="number", exclusiveMinimum=0, exclusiveMaximum=1,
                               title="Held-out fraction",
                               description="Share of each party's rows kept out of training for evaluation."),
        "min_rows": Param(1000, type="integer", minimum=1, title="Minimum rows per table",
                          description="Validation gate: a prepared train or test table with fewer rows fails."),
        "fraud_ratio_min": Param(0.0005, type="number", minimum=0, maximum=1, title="Lowest fraud ratio",
                                 description="Validation gate: a table with fewer frauds than this share fails "
                                             "(labels probably lost)."),
        "fraud_ratio_max": Param(0.05, type="number", minimum=0, maximum=1, title="Highest fraud ratio",
                                 description="Validation gate: a table with more frauds than this share fails "
                                             "(probably the wrong label column)."),
        "upload_partitions": Param(4, type="integer", minimum=1, maximum=64, title="Upload partitions",
                                   description="Partitions of each uploaded FATE table."),
    }


def train_params() -> dict[str, Param]:
    """Homo-LR hyper-parameters (chosen on the panel; the defaults of TrainSettings) and the promotion rule."""
    return {
        "epochs": Param(5, type="integer", minimum=1, maximum=1000, title="Epochs (federated rounds)",
                        description="Passes over each party's training rows; the arbiter averages the parties' "
                                    "models after each. The least a job runs: small tables get more (see "
                                    "min_steps). The job's cost grows with the rows its epochs process (each "
                                    "epoch converts every row to tensors one by one), so the full-size job "
                                    "keeps the seed's 5: with the decaying rate below they reach the "
                                    "centralized AUC on the panel (bench/parity.py --panel; README, Training "
                                    "defaults)."),
        "batch_size": Param(100, type="integer", minimum=1, title="Batch size",
                            description="Rows per local optimizer step on each party (and per scoring batch of "
                                        "the test rows); the largest batch a job runs (see min_batch_size). "
                                        "The seed's 100: the full-size job takes as many steps as before, so "
                                        "it costs what it did."),
        "learning_rate": Param(1.0, type="number", exclusiveMinimum=0, title="Learning rate",
                               description="SGD's first step size at `batch_size` (the smaller batch a small "
                                           "table runs scales it: batch ÷ batch_size). FATE's trainer clips "
                                           "each gradient to norm 1, so a step moves the weights by at most "
                                           "this: the seed's constant 0.15 left the panel's 20k-row variants up "
                                           "to 0.48 AUC short of centralized; 1.0 decaying (next field) reaches "
                                           "them. 2.0 did too on the README's 16 cells but left the panel's "
                                           "284,807-row, 0.1 %-fraud, weak-signal, 2-party variant −0.0072 AUC "
                                           "(1.0: −0.0026; all 37 cells within 0.005)."),
        "lr_decay_to": Param(0.02, type=["null", "number"], exclusiveMinimum=0, maximum=1,
                             title="Learning rate: decays to this fraction",
                             description="The rate falls linearly over the job's steps (FATE's linear scheduler, "
                                         "its length computed from the tables' rows) to this fraction of the "
                                         "first one; empty = constant. A constant large rate left SGD's noise "
                                         "in the panel's big variants (−0.04 AUC at 284,807 rows, weak signal, "
                                         "3 parties); decaying to 0.02, with min_steps and min_batch_size, keeps "
                                         "all 37 cells within 0.005 AUC of centralized."),
        "min_steps": Param(5700, type=["null", "integer"], minimum=0, maximum=1_000_000,
                           title="Minimum optimizer steps (more epochs for small tables)",
                           description="Epochs are raised (up to 100) until the largest party takes at least "
                                       "this many optimizer steps of `batch_size` rows; empty or 0 = exactly "
                                       "`epochs` and `batch_size`. 5 epochs of a 20k-row table are only 400 "
                                       "steps: on the panel that left the weak-signal, rare-fraud variants up "
                                       "to 0.06 AUC short of centralized (scored on a 1,000-fraud evaluation "
                                       "set). 5,700 is the full-size job's own count (284,807 rows, 2 parties: "
                                       "5 × 1,140), so that job is unchanged and a small table's training loop "
                                       "processes no more rows than it does but for its last epoch's. On the "
                                       "panel: 15 of 16 cells within 0.005 AUC of centralized, against 10 "
                                       "without it (16 with min_batch_size)."),
        "min_batch_size": Param(25, type=["null", "integer"], minimum=0, maximum=100_000,
                                title="Smallest batch (more steps for small tables)",
                                description="With min_steps, a table smaller than the full-size one is also cut "
                                            "into smaller batches, down to this, so that each epoch takes as "
                                            "many steps as a full-size epoch (min_steps ÷ epochs = 1,140); the "
                                            "first rate scales with the batch (batch 25: lr 0.25), the same rate "
                                            "per row. Same epochs and rows processed, up to 4× the (cheap) "
                                            "steps. On the panel the 100k-row, 0.1 %-fraud, weak-signal, 3-party "
                                            "cell was −0.0057 AUC (−0.0123 on another draw) at batch 100; at 25 "
                                            "it is +0.0001 (worst of 4 draws × 3 row orders −0.0008), and all "
                                            "37 panel cells are within 0.005. Empty or 0 = always batch_size; the "
                                            "full-size job's 1,140 batches of 100 already meet it (unchanged)."),
        "penalty": Param("l2", type="string", enum=["l2", "l1", "none"], title="Penalty",
                         description="Regularisation of the logistic regression (the seed's L2)."),
        "alpha": Param(0.00001, type="number", minimum=0, title="Penalty strength",
                       description="Weight of the penalty (FATE applies it as weight decay at every step). 0.01 "
                                   "wipes out the fraud signal at Kaggle's 0.17 % fraud rate; 1e-5 is close to "
                                   "a centralized scikit-learn model's C=1 on 16k–228k training rows (the panel "
                                   "kept it; 1e-4 was worse on the small variants)."),
        "optimizer": Param("sgd", type="string", enum=["sgd", "adam", "adagrad", "rmsprop"], title="Optimizer",
                           description="Local optimizer of each party (the seed's SGD). On the panel Adam at one "
                                       "constant learning rate either stopped short on the small variants or "
                                       "oscillated on the full-size one (lr 0.3: −0.026 AUC)."),
        "auc_threshold": Param(0.9, type="number", minimum=0, maximum=1, title="Promotion: AUC threshold",
                               description="A new model is promoted only if its held-out AUC reaches this."),
        "auc_tolerance": Param(0.01, type="number", minimum=0, maximum=1, title="Promotion: AUC tolerance",
                               description="...and it is not worse than the promoted model by more than this."),
        "auprc_threshold": Param(None, type=["null", "number"], minimum=0, maximum=1,
                                 title="Promotion: AUPRC threshold",
                                 description="Empty: no AUPRC floor. Else a new model is promoted only if its "
                                             "held-out area under the precision-recall curve also reaches this "
                                             "(at a 0.17 % fraud rate a high AUC can hide a model that buries "
                                             "the frauds under false alarms)."),
        "target_recall": Param(None, type=["null", "number"], exclusiveMinimum=0, maximum=1,
                               title="Decision threshold: target recall",
                               description="How the decision threshold recorded with the model is chosen on the "
                                           "guest's training rows. Empty: the threshold of best F1 (balances "
                                           "missed frauds against false alarms). A recall such as 0.8: the "
                                           "highest threshold that still catches that share of the frauds."),
    }


def predict_params() -> dict[str, Param]:
    """Which model scores which table, and the decision threshold."""
    return {
        "model_id": Param(None, type=["null", "string"], title="Model id",
                          description="FATE model id to predict with; empty: the registry's promoted model."),
        "model_version": Param(None, type=["null", "string"], title="Model version",
                               description="Version of that model (needed with a model id; FATE's is '0')."),
        "predict_split": Param("test", type="string", enum=["test", "train"], title="Table to score",
                               description="Which of each party's tables is scored: the held-out test rows "
                                           "(labels present → AUC) or the training rows."),
        "decision_threshold": Param(None, type=["null", "number"], minimum=0, maximum=1,
                                    title="Decision threshold",
                                    description="A row is a predicted fraud when its score reaches this. Empty: "
                                                "the threshold chosen on the training rows and recorded with the "
                                                "model (0.5 for a model without one)."),
    }


def sectioned(section: str, *groups: dict[str, Param]) -> dict[str, Param]:
    """The groups' Params under one heading of the trigger form (Airflow's Param ``section``), so a DAG with
    many knobs reads like the runbook: federation & deadlines, data, training, prediction."""
    out: dict[str, Param] = {}
    for group in groups:
        for name, param in group.items():
            param.schema["section"] = section
            out[name] = param
    return out


def merged(*groups: dict[str, Param]) -> dict[str, Any]:
    """One DAG's params from several groups; a name defined twice must mean the same thing."""
    out: dict[str, Any] = {}
    for group in groups:
        for name, param in group.items():
            if name in out and out[name].value != param.value:
                raise ValueError(f"param {name!r} is defined twice with different defaults")
            out[name] = param
    return out
