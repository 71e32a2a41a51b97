"""The triage report folder: summary.json, results.csv, results.vics.json, report.html.

Hashes, paths, categories and counts only: no thumbnail or preview of any file, known or new.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from jinja2 import Environment, PackageLoader, select_autoescape

from taskforce.hashsets import categories
from taskforce.media.hashing import MAX_IMAGE_PIXELS
from taskforce.triage import evidence

CSV_COLUMNS = (
    "path",
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "pdq_quality",
    "match_type",
    "distance",
    "hashset",
    "category",
    "series",
    "victim_identified",
    "error",
    "size",
    "media_type",
    "camera_make",
    "camera_model",
    "camera_serial",
    "taken_at",
    "gps_lat",
    "gps_lon",
    "video_share",
    "identified_by",
)


@dataclass
class Summary:
    files_total: int = 0
    files_hashed: int = 0
    matched_exact: int = 0
    matched_perceptual: int = 0
    new_images: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    series: dict[str, int] = field(default_factory=dict)
    identified_victims: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    limits: dict[str, str] = field(default_factory=dict)
    selectors_added: int | None = None
    evidence: list[str] = field(default_factory=list)
    finished_at: str = ""


def summarise(rows: list[dict[str, Any]], roots: list[Path]) -> Summary:
    summary = Summary(files_total=len(rows))
    categories: Counter[str] = Counter()
    series: Counter[str] = Counter()
    for row in rows:
        if row["md5"]:
            summary.files_hashed += 1
        if row["match_type"] == "exact":
            summary.matched_exact += 1
        elif row["match_type"] == "perceptual":
            summary.matched_perceptual += 1
        elif (row.get("media_type") or "").startswith("image/") and row["pdq"]:
            summary.new_images += 1
        if row["match_type"] != "none":
            categories[row["category"] or "uncategorised"] += 1
            if row["series"]:
                series[row["series"]] += 1
            if row["victim_identified"]:
                summary.identified_victims += 1
        if row["error"]:
            summary.errors.append({"path": row["path"], "reason": row["error"]})
    summary.by_category = dict(sorted(categories.items()))
    summary.series = dict(series.most_common())
    summary.limits = {
        "archive_depth": f"{evidence.MAX_DEPTH} levels of archives inside archives",
        "archive_expanded": f"{evidence.MAX_EXPANDED_BYTES >> 30} GiB expanded and "
        f"{evidence.MAX_MEMBERS:,} members from all archives of the run, every level counted",
        "image_pixels": f"{MAX_IMAGE_PIXELS:,} pixels per image",
    }
    summary.evidence = [evidence.display_name(r) for r in roots]
    summary.finished_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return summary


def write_all(out_dir: Path, rows: list[dict[str, Any]], roots: Any) -> Summary:
    summary = summarise(rows, list(roots))
    write_summary(out_dir, summary)
    with (out_dir / "results.csv").open("w", encoding="utf-8", newline="") as f:
        write_csv(f, rows)
    with (out_dir / "results.vics.json").open("w", encoding="utf-8") as f:
        write_vics(f, rows)
    _write_html(out_dir / "report.html", summary, rows)
    return summary


def write_summary(out_dir: Path, summary: Summary) -> None:
    text = json.dumps(asdict(summary), indent=2, ensure_ascii=False)
    (out_dir / "summary.json").write_text(text + "\n", encoding="utf-8")


def write_csv(out: IO[str], rows: Iterable[dict[str, Any]]) -> int:
    """results.csv: one line per file (also what a case's triage page downloads)."""
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_COLUMNS})
        count += 1
    return count


def write_vics(out: IO[str], rows: Iterable[dict[str, Any]]) -> int:
    """A VICS 2.0 case export of every hashed file, for the investigator's forensic viewer."""
    media: dict[str, dict[str, Any]] = {}
    for row in rows:
        if not row["md5"]:
            continue
        entry = media.get(row["md5"])
        if entry is None:
            category = row["category"] or ""
            entry = media[row["md5"]] = {
                "MediaID": len(media) + 1,
                "Category": int(category.split(":")[1]) if category.startswith("vic-us:") else None,
                "MD5": row["md5"].upper(),
                "SHA1": (row["sha1"] or "").upper(),
                "MediaSize": row["size"],
                "MimeType": row["media_type"] or "",
                "IsPrecategorized": "true" if row["match_type"] != "none" else "false",
                "VictimIdentified": "true" if row["victim_identified"] else "false",
                "Series": row["series"] or "",
                "Tags": category,
                "Comments": f"taskforce triage: {row['match_type']} match"
                + (f" in {row['hashset']}" if row["hashset"] else ""),
                "AlternativeHashes": [{"HashName": "SHA256", "HashValue": row["sha256"]}]
                + ([{"HashName": "PDQ", "HashValue": row["pdq"]}] if row["pdq"] else []),
                "MediaFiles": [],
            }
        inner = row["path"].rpartition("!/")[2]
        entry["MediaFiles"].append(
            {"MD5": row["md5"].upper(), "FileName": Path(inner).name, "FilePath": row["path"]}
        )
    document = {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/"
        "$metadata#Cases",
        "value": [
            {
                "CaseID": "",
                "SourceApplicationName": "taskforce triage",
                "TotalMediaFiles": len(media),
                "Media": list(media.values()),
            }
        ],
    }
    out.write(json.dumps(document, ensure_ascii=False) + "\n")
    return len(media)


def _write_html(path: Path, summary: Summary, rows: list[dict[str, Any]]) -> None:
    env = Environment(
        loader=PackageLoader("taskforce.triage", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    matched = [r for r in rows if r["match_type"] != "none"]
    biggest = max(summary.by_category.values(), default=1)
    labels = {}
    for name in summary.by_category:
        scheme, _, code = name.partition(":")
        known = categories.SCHEMES.get(scheme, {}).get(code)
        labels[name] = known.label if known else ""
    html = env.get_template("report.html").render(
        summary=summary,
        matched=matched[:500],
        matched_total=len(matched),
        biggest=biggest,
        labels=labels,
    )
    path.write_text(html, encoding="utf-8")
