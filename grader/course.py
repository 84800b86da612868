"""An nbgrader course directory for the labs: create it, release a lab into it, regenerate student.ipynb.

Layout (nbgrader's own): source/<week>/<lab>.ipynb, release/<week>/, submitted/<student>/<week>/,
autograded/, feedback/, gradebook.db, plus nbgrader_config.py so the nbgrader CLI works in it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from . import notebooks
from .labs import BUILD, REPO, Lab
from .preprocessors import CONFIG_FILE_TEMPLATE, configure
from .validate import NBGRADER_CONFIG_FILE

COURSE_ID = "llm901"

# nbgrader's add_submission trips SQLAlchemy's autoflush warning on every new student; it is
# harmless, and a TA's terminal should show our table rather than three warnings per student.
warnings.filterwarnings("ignore", message=r".*not in session.*", module=r"nbgrader\.api")


def ensure_tools_on_path() -> None:
    """nbgrader shells out to `alembic` when it creates a gradebook: the venv's bin/ must be on PATH."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


class Course:
    def __init__(self, root: Path, settings: Config | None = None):
        """`settings` (a traitlets Config) overrides the course defaults, e.g. TrustedExecute limits."""
        ensure_tools_on_path()
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)  # gradebook, sources and submissions: the course staff's only
        (self.root / "exchange").mkdir(exist_ok=True)
        (self.root / "nbgrader_config.py").write_text(CONFIG_FILE_TEMPLATE.format(course_id=COURSE_ID))
        self.config = configure(Config(), str(self.root), COURSE_ID)
        if settings is not None:
            self.config.merge(settings)
        self.coursedir = CourseDirectory(config=self.config)
        self.api = NbGraderAPI(self.coursedir, config=self.config)
        # nbgrader logs every step at INFO; a TA wants our table, not its chatter.
        self.api.log.setLevel(logging.WARNING)

    @property
    def gradebook_url(self) -> str:
        return self.coursedir.db_url

    def source_notebook(self, lab: Lab) -> Path:
        return self.root / "source" / lab.week / lab.notebook_file

    def release_notebook(self, lab: Lab) -> Path:
        return self.root / "release" / lab.week / lab.notebook_file

    def submitted_notebook(self, lab: Lab, student_id: str) -> Path:
        return self.root / "submitted" / student_id / lab.week / lab.notebook_file

    def autograded_notebook(self, lab: Lab, student_id: str) -> Path:
        return self.root / "autograded" / student_id / lab.week / lab.notebook_file

    def feedback_html(self, lab: Lab, student_id: str) -> Path:
        return self.root / "feedback" / student_id / lab.week / f"{lab.name}.html"

    def is_released(self, lab: Lab) -> bool:
        """Released from the current solution.ipynb (so a regrade after an edit re-releases)."""
        src, rel = self.source_notebook(lab), self.release_notebook(lab)
        if not (src.exists() and rel.exists()):
            return False
        return src.read_text() == notebooks.dumps(notebooks.normalise(notebooks.read(lab.solution)))

    def release(self, lab: Lab) -> Path:
        """nbgrader generate_assignment from the lab's solution.ipynb; returns the released notebook."""
        src = self.source_notebook(lab)
        if src.parent.exists():
            shutil.rmtree(src.parent)
        notebooks.write(notebooks.normalise(notebooks.read(lab.solution)), src)
        for extra in sorted((lab.path / "files").glob("**/*")) if (lab.path / "files").is_dir() else []:
            if extra.is_file():
                dest = src.parent / extra.relative_to(lab.path / "files")
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(extra, dest)
        result = self.api.generate_assignment(lab.week, force=True, create=True)
        if not result.get("success"):
            raise RuntimeError(f"nbgrader generate_assignment failed for {lab.week}:\n{result.get('log', '')}\n{result.get('error', '')}")
        return self.release_notebook(lab)

    def ensure_released(self, lab: Lab) -> Path:
        return self.release_notebook(lab) if self.is_released(lab) else self.release(lab)


def student_notebook_text(course: Course, lab: Lab) -> str:
    """What student.ipynb must contain: nbgrader's release, normalised."""
    return notebooks.dumps(notebooks.normalise(notebooks.read(course.ensure_released(lab))))


def build_zip(course: Course, lab: Lab, out_dir: Path | None = None) -> Path:
    """A zip a course site can host: the released notebook, any lab files, and the course package
    (a wheel of shared/ and the grader, so `make validate`'s checker runs on the student's laptop)."""
    out_dir = out_dir or BUILD / "release"
    out_dir.mkdir(parents=True, exist_ok=True)
    # a folder of its own: two releases at once (make test's workers) must not empty each other's
    BUILD.mkdir(parents=True, exist_ok=True)
    wheel_dir = Path(tempfile.mkdtemp(prefix="wheel-", dir=BUILD))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheel_dir), str(REPO)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    release_dir = course.release_notebook(lab).parent
    target = out_dir / f"{lab.name}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(release_dir.rglob("*")):
            if path.is_file():
                zf.write(path, f"{lab.name}/{path.relative_to(release_dir)}")
        for wheel in wheel_dir.glob("*.whl"):
            zf.write(wheel, f"{lab.name}/{wheel.name}")
        zf.writestr(f"{lab.name}/README.txt", _zip_readme(lab, [w.name for w in wheel_dir.glob("*.whl")]))
        # so that nbgrader's Validate button in JupyterLab checks as `llm901-grader validate` does
        zf.writestr(f"{lab.name}/nbgrader_config.py", NBGRADER_CONFIG_FILE)
    shutil.rmtree(wheel_dir, ignore_errors=True)
    return target


def _zip_readme(lab: Lab, wheels: list[str]) -> str:
    wheel = wheels[0] if wheels else "llm901_labs-*.whl"
    return (
        f"LLM 901 lab {lab.week}: {lab.notebook_file}\n\n"
        "Set up once, in this folder (Python 3.11, CPU is enough):\n"
        "  python -m venv .venv && . .venv/bin/activate\n"
        "  pip install torch==2.13.0\n"
        f"  pip install {wheel}\n\n"
        "Then, in this folder:  jupyter lab\n"
        f"Open {lab.notebook_file}, fill in the cells marked YOUR CODE HERE and run the test cell under each.\n"
        "Check yourself with nbgrader's Validate button in the notebook's toolbar, or in a terminal:\n"
        f"  llm901-grader validate {lab.notebook_file}\n"
        "Both run the notebook as the grader does (FAST=True, experiment cells skipped) and the visible\n"
        "tests only: the grader also runs hidden tests.\n"
        "Submit the notebook file; keep its cells (the grader matches them by their ids).\n"
    )
