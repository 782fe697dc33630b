"""Resilience drills: the seed's failure tables as executable, scored experiments.

* :mod:`~fateops.chaos.catalogue` — ``include/configs/drills.yaml`` validated into :class:`Drill` rows;
* :mod:`~fateops.chaos.injectors` — faults per backend (local engine, Kubernetes, vSphere), each with
  an idempotent heal;
* :mod:`~fateops.chaos.runner` — one drill: real job, injection, observation, judgement, heal;
* :mod:`~fateops.chaos.scorecard` — JSON, Markdown and a PNG timeline in the reports dir;
* :mod:`~fateops.chaos.ledger` — faults in force, so a crashed drill is still healed.

No Airflow here; the ``fate_chaos_drill`` DAG and ``fateops chaos`` are thin wrappers.
"""

from __future__ import annotations

from fateops.chaos.catalogue import Catalogue, Drill, FaultSpec, load_catalogue, parse_catalogue
from fateops.chaos.ledger import Ledger
from fateops.chaos.plan import (
    Targets,
    allowed_party,
    drill_context,
    heal_ledger,
    heal_record,
    run_drills,
    select_drills,
)
from fateops.chaos.result import DrillResult, judge
from fateops.chaos.runner import DrillRunner
from fateops.chaos.scorecard import Scorecard

__all__ = [
    "Catalogue",
    "Drill",
    "DrillResult",
    "DrillRunner",
    "FaultSpec",
    "Ledger",
    "Scorecard",
    "Targets",
    "allowed_party",
    "drill_context",
    "heal_ledger",
    "heal_record",
    "judge",
    "load_catalogue",
    "parse_catalogue",
    "run_drills",
    "select_drills",
]
