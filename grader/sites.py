"""What a course site hands a TA, and what it takes back.

In: `SUBMISSIONS` may be
- one folder per student (today's layout; also Moodle's `Full Name_123_assignsubmission_file_/`
  folders and nbgrader's own `submitted/<student>/<assignment>/` tree: point at `submitted/`);
- a course site's flat folder of files whose names carry the student (Canvas, Blackboard): each
  file name is parsed by nbgrader's `FileNameCollectorPlugin` with the site's pattern (`SITE_PATTERNS`);
- the bulk-download zip itself (any of the above inside), extracted with its entries' times kept.

Anything else is reported by name, and nothing is graded from it.

Out: a course-site gradebook import (Canvas's CSV, and a plain id,score CSV) matched through an
optional roster (the site's gradebook export), with the roster students who submitted nothing and
the submissions no roster entry matches; and one feedback zip per student, named for upload.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin

# Named groups as nbgrader's FileNameCollectorPlugin expects (student_id, file_id; timestamp optional),
# plus site_id (the site's numeric user id) where the site writes one.
SITE_PATTERNS = {
    # doejane_LATE_123456_7891011_w02-1-rope-yarn.ipynb (a resubmission may end in -1, -2 before .ipynb)
    "canvas": r"^(?P<student_id>[a-z0-9-]+?)(?P<late>_LATE)?_(?P<site_id>\d+)_(?P<submission_id>\d+)_(?P<file_id>.+)$",
    # Lab 2_jdoe_attempt_2026-10-05-21-14-03_w02-1-rope-yarn.ipynb
    "blackboard": r"^(?P<assignment>.+?)_(?P<student_id>[^_]+)_attempt_"
                  r"(?P<timestamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)_(?P<file_id>.+)$",
}
# Moodle: one folder per student, "Full Name_123456_assignsubmission_file_"; the number is the site's id
MOODLE_FOLDER = re.compile(r"^(?P<name>.+)_(?P<site_id>\d+)_assignsubmission_\w+_?$")

MAX_ZIP_BYTES = 4 << 30  # a bulk download, uncompressed; a larger one is refused with a message
MAX_ZIP_ENTRY_BYTES = 64 << 20
NOT_STUDENTS = {".DS_Store", ".ipynb_checkpoints", "__MACOSX", ".git", "Thumbs.db"}  # left by zip tools and OSes


@dataclass
class Collected:
    """Where the per-student folders are, and what the course site said about each."""

    root: Path  # one folder per student under it
    layout: str  # "folders", "canvas", "blackboard", plus "zip+" when it came zipped
    site: dict[str, dict] = field(default_factory=dict)  # folder name -> site_id / timestamp / late
    messages: list[str] = field(default_factory=list)  # files nothing was graded from, and why


def _safe_extract(archive: Path, dest: Path) -> list[str]:
    """Extract a zip: no absolute paths, no `..`, no links, bounded sizes; entry times kept (they are
    the site's submission times). Returns messages for the entries left out."""
    messages = []
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > MAX_ZIP_BYTES:
            raise ValueError(f"{archive.name} would unpack to {total >> 20} MiB (limit {MAX_ZIP_BYTES >> 20} MiB)")
        for info in infos:
            name = info.filename.replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".")]
            is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
            if not parts or name.startswith("/") or ".." in parts or is_link:
                if parts:
                    messages.append(f"{info.filename}: unsafe path or link in the zip, left out")
                continue
            if info.is_dir():
                continue
            if info.file_size > MAX_ZIP_ENTRY_BYTES:
                messages.append(f"{info.filename}: {info.file_size >> 20} MiB, over {MAX_ZIP_ENTRY_BYTES >> 20} MiB, left out")
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            stamp = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(target, (stamp, stamp))
    return messages


def _entries(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.name not in NOT_STUDENTS), key=lambda p: p.name)


def _match_site(name: str) -> tuple[str, dict] | None:
    for site, pattern in SITE_PATTERNS.items():
        plugin = FileNameCollectorPlugin(named_regexp=pattern)
        plugin.log.disabled = True  # its "did not match" warnings are ours to word
        found = plugin.collect(name)
        if found:
            return site, found
    return None


def _parse_site_time(text: str) -> datetime | None:
    for fmt in ("%Y-%m-%d-%H-%M-%S", "%Y-%m-%d %H:%M:%S.%f %Z", "%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            parsed = datetime.strptime(text.strip(), fmt)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        from nbgrader.utils import parse_utc

        return parse_utc(text.strip()).replace(tzinfo=UTC)
    except Exception:  # noqa: BLE001 - anything unreadable is "no timestamp"
        return None


def collect_site(submissions: Path, work: Path) -> Collected:
    """Turn whatever the course site gave into one folder per student under `work` (or the given
    folder itself when it already is that)."""
    submissions = Path(submissions)
    zipped = ""
    messages: list[str] = []
    if submissions.is_file():
        if not zipfile.is_zipfile(submissions):
            raise ValueError(f"{submissions.name}: not a folder and not a zip; SUBMISSIONS is the course site's "
                             "bulk download (zip), its folder of files, or one folder per student")
        extracted = work / "extracted"
        if extracted.exists():
            shutil.rmtree(extracted)
        messages += _safe_extract(submissions, extracted)
        submissions, zipped = extracted, "zip+"
        while True:  # a zip of one folder: the folder is the submissions
            inside = _entries(submissions)
            if len(inside) == 1 and inside[0].is_dir() and not MOODLE_FOLDER.match(inside[0].name) and any(
                    p.is_dir() or _match_site(p.name) for p in _entries(inside[0])):
                submissions = inside[0]
            else:
                break
    entries = _entries(submissions)
    files = [p for p in entries if p.is_file() and not p.is_symlink()]
    site: dict[str, dict] = {}
    for folder in (p for p in entries if p.is_dir()):
        moodle = MOODLE_FOLDER.match(folder.name)
        if moodle:
            site[folder.name] = {"site_id": moodle.group("site_id"), "name": moodle.group("name")}
        stamp = next((p for p in folder.rglob("timestamp.txt") if p.is_file()), None)
        if stamp is not None:
            when = _parse_site_time(stamp.read_text(errors="replace")[:100])
            if when:
                site.setdefault(folder.name, {})["timestamp"] = when.isoformat()
    if not files:
        return Collected(submissions, zipped + "folders", site, messages)
    # a flat folder of files named by the course site: one folder per student, built from the names
    grouped = work / "by-student"
    if grouped.exists():
        shutil.rmtree(grouped)
    layouts = set()
    for path in files:
        match = _match_site(path.name)
        if match is None:
            if path.suffix == ".ipynb" or path.suffix == ".zip":
                messages.append(f"{path.name}: the name matches no course-site layout (Canvas "
                                "'<name>[_LATE]_<userid>_<submissionid>_<file>', Blackboard "
                                "'<assignment>_<user>_attempt_<time>_<file>'): not graded")
            continue
        layout, found = match
        layouts.add(layout)
        student = found["student_id"]
        dest = grouped / student / re.sub(r"[/\\]", "_", found["file_id"])
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
        info = site.setdefault(student, {})
        if found.get("site_id"):
            info["site_id"] = found["site_id"]
        if found.get("late"):
            info["late_on_site"] = True
        if found.get("timestamp"):
            when = _parse_site_time(found["timestamp"])
            if when and (not info.get("timestamp") or when.isoformat() > info["timestamp"]):
                info["timestamp"] = when.isoformat()
    for folder in (p for p in entries if p.is_dir()):  # folders beside the files: graded as they are
        shutil.copytree(folder, grouped / folder.name, symlinks=True, dirs_exist_ok=True)
    grouped.mkdir(parents=True, exist_ok=True)
    return Collected(grouped, zipped + "+".join(sorted(layouts)) if layouts else zipped + "folders", site, messages)


# --- the roster and the course site's gradebook import ---------------------------------------------------
ROSTER_KEYS = ("ID", "SIS User ID", "SIS Login ID", "Student", "id", "login", "username", "email", "name")


def _norm(text: str) -> str:
    """Names as sites write them in file names: 'Doe, Jane' and 'Jane Doe' -> 'doejane' / 'janedoe'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]", "", ascii_text)


def read_roster(path: Path) -> list[dict]:
    """A course-site gradebook export (Canvas's CSV: Student, ID, SIS User ID, SIS Login ID, Section, ...)
    or any CSV with an id column. Canvas's 'Points Possible' row is skipped."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh)]
    return [r for r in rows if not str(r.get("Student", "")).strip().startswith("Points Possible")]


def match_roster(roster: list[dict], folder: str, site_info: dict) -> dict | None:
    """The roster row of a submission: by the site's user id, else by a login/id/name equal to the
    folder name (normalised as sites write names into file names)."""
    site_id = str(site_info.get("site_id", ""))
    if site_id:
        for row in roster:
            if str(row.get("ID", row.get("id", ""))).strip() == site_id:
                return row
    keys = {_norm(folder), _norm(site_info.get("name", ""))} - {""}
    for row in roster:
        values = {_norm(str(row.get(k, ""))) for k in ROSTER_KEYS if row.get(k)}
        student = str(row.get("Student", ""))
        if "," in student:  # Canvas: "Doe, Jane"; its file names: "doejane"
            last, first = student.split(",", 1)
            values |= {_norm(last + first), _norm(first + last)}
        if keys & values:
            return row
    return None


def roster_id(row: dict) -> str:
    for key in ("ID", "id", "SIS User ID", "SIS Login ID", "login", "username", "email"):
        if str(row.get(key, "")).strip():
            return str(row[key]).strip()
    return ""


@dataclass
class SiteExport:
    canvas: Path
    plain: Path
    unmatched_submissions: list[str]
    missing_students: list[str]


def export_for_site(week: str, students: list[dict], roster: list[dict] | None, out_dir: Path) -> SiteExport:
    """students: dicts with folder, student_id, score, max_score, site (the site's info).
    Writes `<week>-canvas.csv` (Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID,
    Section, then one column for the assignment) and `<week>-scores.csv` (id, score)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    roster = roster or []
    column = week
    if roster:  # the site's own column for this assignment, if the export has one (e.g. "Lab w02-1 (1234)")
        column = next((k for k in roster[0] if week in k), week)
    matched: dict[int, dict] = {}
    unmatched = []
    for s in students:
        row = match_roster(roster, s["folder"], s.get("site", {})) if roster else None
        if row is None and roster:
            unmatched.append(s["folder"])
        if row is not None:
            matched[id(row)] = s
        s["roster_id"] = roster_id(row) if row else s.get("site", {}).get("site_id") or s["folder"]
    canvas = out_dir / f"{week}-canvas.csv"
    with open(canvas, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column])
        if roster:
            for row in roster:
                s = matched.get(id(row))
                w.writerow([row.get("Student", ""), row.get("ID", row.get("id", "")), row.get("SIS User ID", ""),
                            row.get("SIS Login ID", ""), row.get("Section", ""), "" if s is None else f"{s['score']:g}"])
        else:
            for s in students:
                w.writerow([s["folder"], s.get("site", {}).get("site_id", ""), "", "", "", f"{s['score']:g}"])
    plain = out_dir / f"{week}-scores.csv"
    with open(plain, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "score", "max_score", "folder"])
        for s in students:
            w.writerow([s["roster_id"], f"{s['score']:g}", f"{s['max_score']:g}", s["folder"]])
    missing = [str(row.get("Student") or roster_id(row)) for row in roster if id(row) not in matched]
    for path in (canvas, plain):
        os.chmod(path, 0o600)
    return SiteExport(canvas, plain, unmatched, missing)


# --- per student: feedback packaged for upload -------------------------------------------------------------
def package_feedback(feedback_dir: Path, out: Path) -> Path | None:
    """One zip of a student's feedback folder (HTML), or None when there is none."""
    pages = sorted(p for p in feedback_dir.rglob("*") if p.is_file()) if feedback_dir.is_dir() else []
    if not pages:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for page in pages:
            zf.write(page, page.relative_to(feedback_dir))
    return out


def upload_name(folder: str) -> str:
    """A file name for a student's feedback: the course site's folder name, made safe for a file system."""
    return re.sub(r"[^\w.@+-]+", "_", unicodedata.normalize("NFC", folder)).strip("._") or "student"


def write_students(path: Path, rows: dict[str, dict]) -> None:
    """student id -> folder and site info, beside the reports (the export maps ids back with it)."""
    old = json.loads(path.read_text()) if path.is_file() else {}
    old.update(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(old, indent=1, ensure_ascii=False))
