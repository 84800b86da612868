"""What a course site hands a TA and takes back (grader/sites.py, grader/policy.py): its bulk-download
zip and flat folders of named files, a roster, due dates and the late policy, written questions
graded by hand through nbgrader's gradebook, and the files a TA uploads."""

from __future__ import annotations

import csv
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from fixture_lab import WRITTEN_ID, make_fixture_lab
from llm901_grader import notebooks, policy, sites
from llm901_grader.batch import grade, gradebook_rows
from llm901_grader.cli import main
from llm901_grader.course import Course
from llm901_grader.samples import answered


def _nb_bytes(nb) -> bytes:
    return notebooks.dumps(nb).encode()


def _zip(path: Path, files: dict[str, tuple[bytes, tuple]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, (data, when) in files.items():
            info = zipfile.ZipInfo(name, date_time=when)
            zf.writestr(info, data)
    return path


ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,Lab w00-1 (5501)
Points Possible,,,,,7
"Doe, Alice",123,S123,adoe,L01,
"Roe, Bob",124,S124,broe,L01,
"Xu, Carol",125,S125,cxu,L02,
"Park, Dana",126,S126,dpark,L02,
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A Canvas bulk download of three students (one late), a file no pattern matches, a roster with a
    student who submitted nothing, a due date and a late policy."""
    base = tmp_path_factory.mktemp("site")
    lab = make_fixture_lab(base / "labs", written=True)
    correct = answered(lab)
    half = answered(lab, keep_unanswered={"softmax_rows", WRITTEN_ID})
    for cell in correct.cells:
        if notebooks.grade_id(cell) == WRITTEN_ID:
            cell.source = "Doubling distributes over sums and commutes with scaling."
    untouched = notebooks.read(lab.student)
    archive = _zip(base / "submissions.zip", {
        "doealice_123_9001_w00-1-fixture.ipynb": (_nb_bytes(correct), (2026, 10, 5, 20, 0, 0)),
        "roebob_LATE_124_9002_lab-2.ipynb": (_nb_bytes(half), (2026, 10, 7, 12, 0, 0)),
        "xucarol_125_9003_Untitled.ipynb": (_nb_bytes(untouched), (2026, 10, 5, 23, 0, 0)),
        "my_notes.ipynb": (_nb_bytes(untouched), (2026, 10, 5, 23, 0, 0)),
    })
    roster = base / "roster.csv"
    roster.write_text(ROSTER)
    course = Course(base / "course")
    (course.root / policy.SETTINGS_FILE).write_text(
        '[due]\n"w00-1" = 2026-10-06T00:00:00\n\n[late]\npenalty_per_day = 0.1\nmax_penalty = 0.5\n'
        "grace_minutes = 15\n")
    result = grade(lab, archive, course, progress=False, workers=1, roster=roster)
    return lab, course, result, roster


def test_canvas_zip_is_collected_by_its_file_names(graded):
    lab, course, result, _ = graded
    assert result.layout == "zip+canvas"
    by = {s.folder: s for s in result.students}
    assert set(by) == {"doealice", "roebob", "xucarol"}
    assert by["doealice"].site["site_id"] == "123" and by["roebob"].site.get("late_on_site")
    assert any(m.startswith("my_notes.ipynb: the name matches no course-site layout") for m in result.collection)


def test_late_policy_through_nbgrader(graded):
    """Bob submitted 1 d 12 h after the due date (the zip entry's time): two started days, 20 % of his score."""
    lab, course, result, _ = graded
    by = {s.folder: s for s in result.students}
    alice, bob = by["doealice"], by["roebob"]
    assert alice.score == result.auto_max and not alice.late
    assert bob.raw_score == 3 and bob.score == pytest.approx(3 * 0.8)
    assert bob.late.startswith("late by 1 d 12 h") and "penalty 0.6" in bob.late
    rows = list(csv.DictReader(open(result.csv)))
    bob_row = next(r for r in rows if r["folder"] == "roebob")
    assert float(bob_row["late_submission_penalty"]) == pytest.approx(0.6) and bob_row["site_id"] == "124"


def test_roster_export_and_missing_students(graded):
    lab, course, result, _ = graded
    export = result.site_export
    rows = list(csv.DictReader(open(export.canvas)))
    by_id = {r["ID"]: r for r in rows}
    assert list(rows[0]) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab w00-1 (5501)"]
    assert float(by_id["123"]["Lab w00-1 (5501)"]) == result.auto_max
    assert float(by_id["124"]["Lab w00-1 (5501)"]) == pytest.approx(2.4)
    assert by_id["126"]["Lab w00-1 (5501)"] == ""  # no submission: left empty, not zero
    assert export.missing_students == ["Park, Dana"] and export.unmatched_submissions == []
    plain = list(csv.DictReader(open(export.plain)))
    assert {r["id"] for r in plain} == {"123", "124", "125"}


def test_feedback_packaged_per_student(graded):
    lab, course, result, _ = graded
    zips = sorted(p.name for p in result.feedback_packages.glob("*.zip"))
    assert zips == ["doealice.zip", "roebob.zip", "xucarol.zip"]
    with zipfile.ZipFile(result.feedback_packages / "roebob.zip") as zf:
        assert any(n.endswith(".html") for n in zf.namelist())


def test_written_answer_graded_by_hand_reaches_the_export(graded, capsys):
    """A TA grades Alice's written answer through nbgrader's gradebook API, as formgrader's grade handler
    does; the export then combines automatic and manual points. Unanswered written cells need no TA
    (nbgrader scores an unchanged answer cell 0 by itself)."""
    lab, course, result, roster = graded
    assert result.manual_max == 2 and result.max_score == result.auto_max + 2
    alice = next(s for s in result.students if s.folder == "doealice")
    assert alice.needs_manual_grade
    assert main(["export", "--course", str(course.root), "--week", lab.week, "--roster", str(roster)]) == 0
    assert "still to grade by hand in formgrader (1): doealice" in capsys.readouterr().out
    with Gradebook(course.gradebook_url, course.coursedir.course_id) as gb:
        grade_ = gb.find_grade(WRITTEN_ID, lab.name, lab.week, alice.student_id)
        grade_.manual_score = 1.5
        grade_.needs_manual_grade = False
        gb.db.commit()
    assert main(["export", "--course", str(course.root), "--week", lab.week, "--roster", str(roster)]) == 0
    assert "still to grade by hand" not in capsys.readouterr().out
    rows = {r["folder"]: r for r in gradebook_rows(course, lab.week)}
    assert rows["doealice"]["score"] == result.auto_max + 1.5 and not rows["doealice"]["needs_manual_grade"]
    canvas = {r["ID"]: r for r in csv.DictReader(open(course.root / "exports" / f"{lab.week}-canvas.csv"))}
    assert float(canvas["123"]["Lab w00-1 (5501)"]) == result.auto_max + 1.5


def test_flat_folders_of_other_sites_and_nbgrader_layout(tmp_path):
    nb = b"{}"
    flat = tmp_path / "bb"
    flat.mkdir()
    (flat / "Lab 2_jdoe_attempt_2026-10-05-21-14-03_w02-1.ipynb").write_bytes(nb)
    (flat / "Lab 2_jdoe_attempt_2026-10-05-21-14-03.txt").write_text("Name: J Doe")
    (flat / "Lab 2_asmith_attempt_2026-10-07-09-00-00_lab.ipynb").write_bytes(nb)
    got = sites.collect_site(flat, tmp_path / "work-bb")
    assert got.layout == "blackboard"
    assert sorted(p.name for p in got.root.iterdir()) == ["asmith", "jdoe"]
    assert got.site["asmith"]["timestamp"].startswith("2026-10-07T09:00:00")

    moodle = tmp_path / "moodle"
    (moodle / "Jane Doe_4411_assignsubmission_file_").mkdir(parents=True)
    (moodle / "Jane Doe_4411_assignsubmission_file_" / "lab.ipynb").write_bytes(nb)
    got = sites.collect_site(moodle, tmp_path / "work-moodle")
    assert got.root == moodle and got.site["Jane Doe_4411_assignsubmission_file_"]["site_id"] == "4411"
    assert sites.match_roster([{"Student": "Doe, Jane", "ID": "4411"}], "Jane Doe_4411_assignsubmission_file_",
                              got.site["Jane Doe_4411_assignsubmission_file_"])

    submitted = tmp_path / "submitted"
    (submitted / "jdoe" / "w02-1").mkdir(parents=True)
    (submitted / "jdoe" / "w02-1" / "lab.ipynb").write_bytes(nb)
    (submitted / "jdoe" / "w02-1" / "timestamp.txt").write_text("2026-10-05 21:14:03.000000 UTC")
    got = sites.collect_site(submitted, tmp_path / "work-nbgrader")
    assert got.layout == "folders" and got.site["jdoe"]["timestamp"].startswith("2026-10-05T21:14:03")


def test_zip_entries_that_escape_are_left_out(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../outside.ipynb", "{}")
        zf.writestr("/abs.ipynb", "{}")
        link = zipfile.ZipInfo("alice/link.ipynb")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
        zf.writestr("alice/lab.ipynb", "{}")
    got = sites.collect_site(archive, tmp_path / "work")
    assert not (tmp_path / "outside.ipynb").exists() and not (tmp_path / "work" / "outside.ipynb").exists()
    assert [p.name for p in got.root.iterdir()] == ["alice"]
    assert [p.name for p in (got.root / "alice").iterdir()] == ["lab.ipynb"]
    assert len(got.messages) == 3


def test_not_a_submission_gets_a_clear_message(tmp_path):
    bad = tmp_path / "grades.xlsx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="bulk download"):
        sites.collect_site(bad, tmp_path / "work")


@pytest.mark.parametrize("late_seconds,fraction", [(0, 0), (10 * 60, 0), (20 * 60, 0.1), (86400 + 15 * 60, 0.1),
                                                   (86400 + 16 * 60, 0.2), (30 * 86400, 0.5)])
def test_per_day_penalty(late_seconds, fraction):
    plugin = policy.PerDayLatePenalty(penalty_per_day=0.1, max_penalty=0.5, grace_minutes=15)
    assert plugin.fraction(late_seconds) == pytest.approx(fraction)


def test_due_date_with_a_zone_is_stored_as_utc(tmp_path):
    (tmp_path / policy.SETTINGS_FILE).write_text('[due]\n"w02-1" = "2026-10-05T23:59:00-04:00"\n')
    assert policy.due_date(tmp_path, "w02-1") == datetime(2026, 10, 6, 3, 59)
    assert policy.due_date(tmp_path, "w03-1") is None


def test_site_time_parsing():
    assert sites._parse_site_time("2026-10-05-21-14-03").isoformat() == "2026-10-05T21:14:03+00:00"
    assert sites._parse_site_time("garbage") is None
