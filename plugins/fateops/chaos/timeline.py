"""A PNG timeline of a drill run: one lane per drill, from the injection to recovery, against its SLO.

Drawn with matplotlib's Agg backend (no display, safe in an Airflow worker). Each lane shows the fault
window (injected → lifted/recovered), the SLO as a hatched band from where recovery is measured, and
markers for detection, recovery, job end and rerun — so a missed SLO is visible at a glance.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fateops.chaos.scorecard import Scorecard

__all__ = ["draw_timeline"]

_COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "error": "#ef6c00", "skipped": "#9e9e9e", "dry_run": "#1565c0"}
_MARKS = {"submitted": ("s", "#607d8b"), "injected": ("x", "#000000"), "detected": ("v", "#c62828"),
          "lifted": ("^", "#6a1b9a"), "recovered": ("o", "#2e7d32"), "relaunched": ("P", "#00838f"),
          "job_ended": ("D", "#37474f"), "rerun_ended": ("*", "#f9a825"), "resubmit_ended": ("X", "#f9a825")}


def draw_timeline(card: Scorecard, path: Path) -> Path:
    """Render ``card`` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from fateops.chaos.injectors import REGISTRY

    rows = card.results or []
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.55 * max(1, len(rows))), dpi=110)
    labelled: set[str] = set()
    try:
        for lane, r in enumerate(rows):
            y = len(rows) - 1 - lane
            t = r.timeline
            start = t.get("injected")
            if start is not None:
                end = t.get("recovered") or t.get("lifted") or max(t.values())
                ax.barh(y, max(end - start, 0.3), left=start, height=0.35, color=_COLOURS.get(r.status, "#777"),
                        alpha=0.35)
                healer = REGISTRY.get(r.action)
                slo_from = start if healer is None or healer.self_healing else t.get("lifted", start)
                ax.barh(y, r.recovery_slo_s, left=slo_from, height=0.12, color="none", edgecolor="#555",
                        hatch="///", linewidth=0.6)
            for name, (marker, colour) in _MARKS.items():
                if name in t:
                    ax.plot(t[name], y, marker=marker, color=colour, markersize=7, linestyle="none",
                            label=None if name in labelled else name)
                    labelled.add(name)
            label = f"{r.drill_id} — {r.status}"
            ax.text(0, y + 0.28, label, fontsize=8, color=_COLOURS.get(r.status, "#333"))
        ax.set_yticks([])
        ax.set_xlabel("seconds since the drill started")
        title = f"Resilience drills — {card.backend}, party {card.party_id} (run {card.run_id})"
        ax.set_title(title + ("  [dry run]" if card.dry_run else ""), fontsize=10)
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            ax.legend(handles, labels, loc="lower right", fontsize=7, ncol=4, framealpha=0.8)
        ax.set_ylim(-0.8, max(1, len(rows)) - 0.2)
        ax.grid(axis="x", alpha=0.3)
        if not rows or not any(r.timeline for r in rows):
            ax.text(0.5, 0.5, "no timed events (dry run or nothing ran)", transform=ax.transAxes, ha="center",
                    fontsize=9, color="#777")
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path

