"""The grader's nbgrader preprocessors, and the one place that configures nbgrader for this course.

nbgrader's converters stay as they are; we swap its `Execute` for `TrustedExecute` in autograde and
add `HideHiddenTests` to feedback. `configure()` is used both by our own commands and by the
`nbgrader_config.py` written into every course directory, so the nbgrader CLI (formgrader, `nbgrader
list`, a manual `nbgrader autograde`) grades exactly as `make grade` does.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    SaveAutoGrades,
)
from traitlets import Bool, Dict, Float, Integer, List, Unicode
from traitlets.config import Config

from .execute import Limits, apply_precomputed, report_dict, run_submission
from .labs import SHARED
from .notebooks import hidden_line_ranges, is_test_cell, strip_hidden_tests
from .policy import configure_late_policy


class TrustedExecute(NbGraderPreprocessor):
    """Run student cells in a sandboxed kernel and test cells in the grader (see execute.py)."""

    parameters = Dict({"FAST": True, "SEED": 0}, help="papermill parameters injected before running").tag(config=True)
    cell_timeout = Float(120.0, help="seconds one student cell may run").tag(config=True)
    notebook_timeout = Float(600.0, help="seconds the whole notebook may run").tag(config=True)
    call_timeout = Float(60.0, help="seconds one call from a test into student code may take").tag(config=True)
    memory_mb = Integer(3072, help="address-space limit of each process of the student's kernel").tag(config=True)
    total_memory_mb = Integer(4096, help="memory of all the submission's processes together, tmpfs included "
                              "(its cgroup, when grading as root; 0: no cgroup)").tag(config=True)
    max_pids = Integer(512, help="tasks (processes and threads) of the submission at once (its cgroup)").tag(config=True)
    threads = Integer(2, help="torch/BLAS threads in the student's kernel").tag(config=True)
    lab_limits = Dict({}, help="per-lab overrides of the limits above, by week id: "
                      "{'w05-1': {'total_memory_mb': 8192, 'max_pids': 1024}}").tag(config=True)
    readonly_paths = List(Unicode(), help="extra host paths the kernel may read").tag(config=True)
    skip_experiment = Bool(True, help="do not run cells tagged `experiment` (no test depends on them); "
                           "their output says so").tag(config=True)
    experiment_students = List(Unicode(), help="student ids whose experiment cells run all the same "
                               "(`make check` runs the solution's)").tag(config=True)
    prestart_kernel = Bool(True, help="start the next submission's fresh kernel while the current one "
                           "runs").tag(config=True)
    diagnose = Bool(True, help="name the catalogued mistake a failed test's calls behave like (diagnosis.py); "
                    "off by itself when the lab has no catalog here").tag(config=True)
    diagnosis_seconds = Float(5.0, help="seconds diagnosis may take per failed test cell (never beyond the "
                              "cell's time limit)").tag(config=True)
    catalog_dir = Unicode("", help="folder of the labs' catalogs of mistakes (wNN_K.py); default: the "
                          "repository's tests/catalog").tag(config=True)

    LAB_LIMIT_NAMES = ("cell_timeout", "notebook_timeout", "call_timeout", "memory_mb", "total_memory_mb", "max_pids")

    def _limit(self, name: str, week: str | None):
        override = (self.lab_limits.get(week) or {}) if week else {}
        unknown = set(override) - set(self.LAB_LIMIT_NAMES)
        if unknown:
            raise ValueError(f"TrustedExecute.lab_limits[{week!r}]: unknown limit(s) {sorted(unknown)}")
        return override.get(name, getattr(self, name))

    def job_settings(self, workers: int = 1, week: str | None = None) -> dict:
        """Limits (those of lab `week`), read-only paths and parameters as plain data, for `execute.execute_job`."""
        cores = os.cpu_count() or 2
        limit = lambda name: self._limit(name, week)  # noqa: E731
        limits = Limits(cell_seconds=limit("cell_timeout"), notebook_seconds=limit("notebook_timeout"),
                        call_seconds=limit("call_timeout"), memory_bytes=int(limit("memory_mb")) << 20,
                        total_memory_bytes=int(limit("total_memory_mb")) << 20, max_pids=int(limit("max_pids")),
                        threads=max(1, min(self.threads, cores // max(workers, 1))))
        return {"limits": asdict(limits), "readonly_paths": list(self.readonly_paths), "parameters": dict(self.parameters),
                "skip_experiment": self.skip_experiment, "prestart": self.prestart_kernel,
                "diagnosis": self.diagnosis_settings(week)}

    def diagnosis_settings(self, week: str | None) -> dict | None:
        """Where diagnosis finds the lab's catalog and its solution (the course's source notebook)."""
        if not self.diagnose or not week:
            return None
        from .diagnosis import catalog_file, default_catalog_dir

        catalog_dir = self.catalog_dir or str(default_catalog_dir())
        root = self.config.get("CourseDirectory", {}).get("root") or ""
        sources = sorted((Path(root) / "source" / week).glob("*.ipynb")) if root else []
        if not sources or not catalog_file(catalog_dir, week).is_file():
            return None
        return {"catalog_dir": catalog_dir, "week": week, "solution": str(sources[0]), "seconds": self.diagnosis_seconds}

    def skips_experiment(self, student_id: str | None) -> bool:
        return self.skip_experiment and student_id not in self.experiment_students

    def preprocess(self, nb, resources):
        skip = self.skips_experiment(resources.get("nbgrader", {}).get("student"))
        done = apply_precomputed(nb, dict(self.parameters), skip)
        if done is not None:  # executed by a batch worker on exactly this code (see execute.py)
            return done, resources
        settings = self.job_settings(week=resources.get("nbgrader", {}).get("assignment"))
        nb, report = run_submission(nb, Limits(**settings["limits"]), [str(SHARED), *settings["readonly_paths"]],
                                    settings["parameters"], skip_experiment=skip, prestart_next=settings["prestart"],
                                    diagnosis=settings["diagnosis"])
        nb.metadata["llm901"] = report_dict(report)
        return nb, resources


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback shows what a test checked in the open, never the hidden block or a traceback through it."""

    note = Unicode("# (hidden tests ran here; their messages are shown below)\n").tag(config=True)
    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if not is_test_cell(cell):
            return cell, resources
        hidden_text = set()
        lines = cell.source.splitlines()
        for start, end in hidden_line_ranges(cell.source):
            hidden_text.update(line.strip() for line in lines[start - 1 : end] if line.strip())
        cell.source = strip_hidden_tests(cell.source, self.note)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [
                    line for line in output.get("traceback", []) if not any(h in line for h in hidden_text)
                ] or [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


def configure(c: Config, course_root: str, course_id: str = "llm901") -> Config:
    c.CourseDirectory.root = course_root
    c.CourseDirectory.course_id = course_id
    c.Exchange.root = f"{course_root}/exchange"
    c.Exchange.path_includes_course = True
    c.Autograde.autograde_preprocessors = [
        TrustedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
    ]  # fmt: skip
    c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
    c.LimitOutput.max_lines = 400
    c.LimitOutput.max_traceback = 60
    # Students' extra files (data they wrote, checkpoints) are never copied into the course.
    # The batch's "graded" marks (batch.GRADED_MARK) stay beside the autograded notebooks.
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".llm901-graded.json*"]
    configure_late_policy(c, course_root)  # <course>/course.toml's [late]; nbgrader applies it
    return c


CONFIG_FILE_TEMPLATE = '''\
# Written by llm901-grader. The nbgrader CLI run from this folder grades exactly as `make grade` does.
import os
from llm901_grader.preprocessors import configure

c = get_config()  # noqa: F821
configure(c, os.path.dirname(os.path.abspath(__file__)), {course_id!r})
'''
