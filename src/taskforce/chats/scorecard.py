"""The evaluation's scorecard: what was measured on what, and the figures, as `taskforce chats
evaluate` prints them (a table, or JSON). Pure: `evaluation` fills it, the command shows it."""

from __future__ import annotations

from dataclasses import dataclass

from taskforce.chats import metrics


@dataclass(frozen=True)
class EvaluationReport:
    """What was measured on what. `figures` are over the `scored` conversations (labelled and
    read); the counts say what was left out and why."""

    directory: str
    labels: str  # where the labels came from
    model_version: str
    threshold: float
    folds: int | None
    trained: str  # what was trained per fold, or "not cross-validated: the tagger as given"
    files: int
    messages: int
    problems: int
    problem_samples: tuple[str, ...]
    conversations_read: int
    unlabelled: int  # conversations read that no label names
    labels_not_found: int  # labelled conversations no file held
    figures: metrics.Figures
    fold_f_half: tuple[float | None, ...] = ()

    @property
    def scored(self) -> int:
        return self.figures.conversations


def plural(count: int, word: str) -> str:
    """`1 message`, `2 messages`: the domain's console lines count in words (the CLI's too)."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _share(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f} %" if whole else "–"


def render(report: EvaluationReport) -> str:
    """The report as the command prints it: what was measured on what, then the figures."""
    f = report.figures
    c = f.confusion
    lines = [
        f"Evaluated {f.conversations:,} conversations ({f.positives:,} positive) of "
        f"{report.directory}; labels from {report.labels}",
        f"Tagger {report.model_version}; {report.trained}",
        f"Threshold {f.threshold:.2f}: a conversation whose risk is at or over it is flagged",
        f"Read {plural(report.files, 'file')}, {plural(report.messages, 'message')}, "
        f"{plural(report.problems, 'problem')}; "
        f"{plural(report.conversations_read, 'conversation')}, "
        f"{report.unlabelled:,} with no label (not scored); "
        f"{plural(report.labels_not_found, 'label')} named no conversation read",
        *(f"  problem: {p}" for p in report.problem_samples),
        "",
        f"F0.5              {_num(f.f_half)}  (precision {_num(f.precision)}, "
        f"recall {_num(f.recall)})",
    ]
    if report.fold_f_half:
        lines.append("  per fold         " + ", ".join(_num(v) for v in report.fold_f_half))
    for k, value in f.at_k.items():
        note = f"  (fewer than {k} conversations scored)" if value is None else ""
        if value is not None and f.positives < k:  # read with its ceiling, not as a miss
            note = f"  (at most {f.positives / k:.3f}: {plural(f.positives, 'positive')})"
        lines.append(f"Precision at {k:<4} {_num(value)}{note}")
    lat = f.latency
    lines += [
        "",
        f"Early-warning latency ({lat.positives:,} positive conversations)",
        f"  flagged          {lat.flagged:,}, after a median of {_num(lat.median, 1)} messages "
        f"read (mean {_num(lat.mean, 1)})",
        f"  never flagged    {lat.never_flagged:,} ({_share(lat.never_flagged, lat.positives)})",
        "",
        f"Confusion at {f.threshold:.2f}   labelled positive   labelled negative",
        f"  flagged          {c.true_positives:>17,}   {c.false_positives:>17,}",
        f"  not flagged      {c.false_negatives:>17,}   {c.true_negatives:>17,}",
        "",
        "Reliability       conversations   positives   mean risk   share positive",
    ]
    for band in f.reliability:
        lines.append(
            f"  {band.low:.1f}–{band.high:.1f}        {band.conversations:>13,}   "
            f"{band.positives:>9,}   {_num(band.mean_risk):>9}   {_num(band.observed):>14}"
        )
    lines += [
        f"Brier score       {_num(f.brier)}  (mean squared gap of risk and label: 0 is perfect)",
        "",
        "These figures hold for this corpus only; a synthetic corpus proves the pipeline, not "
        "the model (docs/chats.md, Evaluation and its limits).",
    ]
    return "\n".join(lines)


def as_json(report: EvaluationReport) -> dict[str, object]:
    """The report for `--json`: the same figures, named."""
    f = report.figures
    c = f.confusion
    return {
        "directory": report.directory,
        "labels": report.labels,
        "model_version": report.model_version,
        "trained": report.trained,
        "folds": report.folds,
        "threshold": f.threshold,
        "read": {
            "files": report.files,
            "messages": report.messages,
            "problems": report.problems,
            "problem_samples": list(report.problem_samples),
            "conversations": report.conversations_read,
            "unlabelled": report.unlabelled,
            "labels_not_found": report.labels_not_found,
        },
        "conversations": f.conversations,
        "positives": f.positives,
        "f_half": f.f_half,
        "precision": f.precision,
        "recall": f.recall,
        "fold_f_half": list(report.fold_f_half),
        "precision_at": {str(k): v for k, v in f.at_k.items()},
        "latency": {
            "positives": f.latency.positives,
            "flagged": f.latency.flagged,
            "never_flagged": f.latency.never_flagged,
            "never_share": f.latency.never_share,
            "median": f.latency.median,
            "mean": f.latency.mean,
        },
        "confusion": {
            "true_positives": c.true_positives,
            "false_positives": c.false_positives,
            "false_negatives": c.false_negatives,
            "true_negatives": c.true_negatives,
        },
        "reliability": [
            {
                "low": b.low,
                "high": b.high,
                "conversations": b.conversations,
                "positives": b.positives,
                "mean_risk": b.mean_risk,
                "observed": b.observed,
            }
            for b in f.reliability
        ],
        "brier": f.brier,
    }
