"""The credit-card pipeline's steps as plain functions: the DAGs, the demo and the benchmark share them.

No Airflow here (the DAG tasks in :mod:`fateops.airflow` are thin wrappers), and nothing is imported
eagerly: DAG files import :mod:`fateops.pipeline.tables` and :mod:`fateops.pipeline.errors` at parse
time, while pandas/scikit-learn stay behind the data, training and prediction modules.

* :mod:`~fateops.pipeline.tables` — which FATE table holds which party's split; Asset URIs;
* :mod:`~fateops.pipeline.dataset` — the source dataset and the per-party validation gate;
* :mod:`~fateops.pipeline.upload` — upload and verify a prepared table;
* :mod:`~fateops.pipeline.training` — the homo-LR job spec, its scores, the registry record;
* :mod:`~fateops.pipeline.predicting` — the model to use, the predict job, each party's predictions;
* :mod:`~fateops.pipeline.reporting` — the run report;
* :mod:`~fateops.pipeline.locations` — where all of it is written.
"""
