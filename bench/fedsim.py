"""FATE 2.2's homo-LR replayed in NumPy: screens many training settings on the panel in seconds.

A benchmark aid, not a model fateops deploys. A real FATE job costs one to twenty minutes on this
machine, so the panel's 36 variants × a dozen candidate settings cannot all run through FATE Flow; the
candidates are screened with this replay and the chosen ones confirmed with real FATE jobs
(``bench/parity.py --panel --replay``; without ``--replay`` the same candidates run as FATE jobs).

What it reproduces, read from FATE 2.2's source (``fate/ml/glm/homo/lr/client.py``,
``fate/ml/nn/homo/fedavg.py``, ``fate/ml/nn/trainer/trainer_base.py`` over Hugging Face's ``Trainer``):

* the model: one ``Linear(features, 1)`` + sigmoid, BCE loss averaged over the batch, weights
  initialised to zeros (our ``init_method`` default);
* each party trains locally with its own torch optimizer — ``sgd`` (L2 as ``weight_decay`` added to the
  gradient) or ``adam`` (torch's Adam: L2 added to the gradient, bias-corrected moments, eps 1e-8) —
  on batches of ``batch_size`` rows drawn in a fresh random order every epoch (the last batch short);
* Hugging Face's ``Trainer`` clips the gradient norm to ``max_grad_norm`` = 1.0 before every step and
  steps the LR scheduler after it (torch's ``LinearLR`` / ``StepLR`` / ``ConstantLR``, per *step*);
* after every local epoch the arbiter replaces every party's weights by their mean weighted by the
  parties' training rows (FedAVG ``weighted_mean``); each party's optimizer state stays local.

Not reproduced: the order of rows inside a party (FATE's shuffle seed), float32 arithmetic. So a
replayed AUC matches FATE's to a few thousandths, not exactly — parity.py prints FATE's own numbers
for the settings it confirms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_GRAD_NORM = 1.0  # Hugging Face TrainingArguments' default, which FATE's homo trainer keeps


@dataclass(frozen=True)
class Setting:
    optimizer: str
    epochs: int
    batch_size: int
    learning_rate: float
    alpha: float
    lr_scheduler: str = "constant"
    lr_scheduler_params: tuple[tuple[str, float], ...] = ()


def _lr_factor(setting: Setting, step: int) -> float:
    """torch's schedulers as FATE builds them (``lr_scheduler_factory``), stepped once per optimizer step."""
    params = dict(setting.lr_scheduler_params)
    if setting.lr_scheduler == "linear":
        start, end = params.get("start_factor", 1 / 3), params.get("end_factor", 1.0)
        total = params.get("total_iters", 5)
        return start + (end - start) * min(step, total) / total
    if setting.lr_scheduler == "step":
        return float(params.get("gamma", 0.1) ** (step // int(params.get("step_size", 1))))
    factor, total = params.get("factor", 1.0), params.get("total_iters", 5)
    return factor if step < total else 1.0


class _Party:
    def __init__(self, x: np.ndarray, y: np.ndarray, setting: Setting, seed: int) -> None:
        self.x = np.hstack([x, np.ones((len(x), 1))])  # the intercept as a last column
        self.y = y.astype(np.float64)
        self.setting = setting
        self.rng = np.random.default_rng(seed)
        self.m = np.zeros(self.x.shape[1])
        self.v = np.zeros(self.x.shape[1])
        self.step = 0

    def epoch(self, w: np.ndarray) -> np.ndarray:
        s = self.setting
        w = w.copy()
        order = self.rng.permutation(len(self.y))
        for start in range(0, len(order), s.batch_size):
            idx = order[start:start + s.batch_size]
            xb, yb = self.x[idx], self.y[idx]
            p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -500, 500)))
            grad = xb.T @ (p - yb) / len(idx)
            norm = float(np.sqrt(grad @ grad))
            if norm > MAX_GRAD_NORM:
                grad *= MAX_GRAD_NORM / (norm + 1e-6)
            grad = grad + s.alpha * w  # torch's weight_decay: every parameter, the bias too
            lr = s.learning_rate * _lr_factor(s, self.step)
            self.step += 1
            if s.optimizer == "sgd":
                w -= lr * grad
            else:  # adam
                b1, b2 = 0.9, 0.999
                self.m = b1 * self.m + (1 - b1) * grad
                self.v = b2 * self.v + (1 - b2) * grad * grad
                m_hat = self.m / (1 - b1 ** self.step)
                v_hat = self.v / (1 - b2 ** self.step)
                w -= lr * m_hat / (np.sqrt(v_hat) + 1e-8)
        return w


def train(parts: Sequence[tuple[np.ndarray, np.ndarray]], setting: Setting, seed: int = 42) -> np.ndarray:
    """FedAVG over ``parts`` (each party's scaled features and labels); the final weights (bias last)."""
    parties = [_Party(x, y, setting, seed + i) for i, (x, y) in enumerate(parts)]
    sizes = np.array([len(y) for _, y in parts], dtype=np.float64)
    w = np.zeros(parts[0][0].shape[1] + 1)
    for _ in range(setting.epochs):
        local = [party.epoch(w) for party in parties]
        w = np.average(np.vstack(local), axis=0, weights=sizes)
    return w


def scores(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x @ w[:-1] + w[-1], -500, 500)))


def setting_of(values: dict[str, Any]) -> Setting:
    """A :class:`Setting` from TrainSettings-like values (``lr_scheduler_params`` a dict)."""
    return Setting(optimizer=values["optimizer"], epochs=int(values["epochs"]), batch_size=int(values["batch_size"]),
                   learning_rate=float(values["learning_rate"]), alpha=float(values["alpha"]),
                   lr_scheduler=values.get("lr_scheduler", "constant"),
                   lr_scheduler_params=tuple(sorted((values.get("lr_scheduler_params") or {}).items())))
