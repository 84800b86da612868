"""The student's path, in a real browser (issue 25): the released zip, a fresh venv, JupyterLab, Validate.

Follows the zip's README.txt as a student would: `llm901-grader release` makes
build/release/<lab>.zip; it is unzipped into a fresh folder; a fresh virtual environment gets the wheel
from the zip (`pip install --no-index <wheel>`); JupyterLab starts in that folder on a free local port
with a token; headless Chromium (Debian's `chromium`, driven by Playwright, no browser download) opens
the notebook, runs all cells, sees the first test cell fail, types a correct answer, re-runs, sees that
test pass, presses nbgrader's Validate button and gets the verdict `llm901-grader validate` gives.

The fresh venv, offline and quick: `python -m venv` (no system site packages) whose one `.pth` line
points at a folder of links to the project venv's installed distributions *except* this project's own
(`llm901_labs`, its editable finder). So torch and every dependency are the very wheels CI installed
(as `pip install torch==2.13.0` and the wheel's dependencies would give a student, without the
download), while the course package, its console script and its data come only from the zip's wheel:
an import that works only from the repository, or a file missing from the wheel, fails here. The
jupyter data and config folders those dependency wheels installed (JupyterLab's and nbgrader's
extensions) are linked the same way. Everything (HOME, Jupyter, IPython, matplotlib) lives in the temp
folder; the server's environment is clean (no MPLBACKEND, no project caches).

Screenshots of every step: build/artifacts/browser/ (kept by CI with the rest of build/).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LAB_WEEK = "w06-1"  # the lab whose graded run is quickest (validate of the untouched student: ~6 s)
ARTIFACTS = REPO / "build" / "artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PROJECT_SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None


UI_TIMEOUT_MS = 60_000


VALIDATE_HANDLER_CONFIG = """
import json
import llm901_grader, llm901_shared
from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler
c = ValidateAssignmentHandler.load_config(None).Execute
print(json.dumps({"timeout": c.get("timeout"), "skip": c.get("skip_cells_with_tag"), "injects": "on_notebook_start" in c,
                  "package": llm901_grader.__file__}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fresh_venv(root: Path) -> Path:
    """A new venv whose third-party packages are the project venv's, never its llm901 package."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    reused = root / "reused-site-packages"
    reused.mkdir()
    for entry in PROJECT_SITE.iterdir():
        if entry.name.startswith(("llm901", "__editable__", "_llm901")) or entry.suffix == ".pth":
            continue
        (reused / entry.name).symlink_to(entry)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    (site / "reused-wheels.pth").write_text(f"{reused}\n")
    for sub in ("share/jupyter", "etc/jupyter"):
        (venv / sub).parent.mkdir(parents=True, exist_ok=True)
        (venv / sub).symlink_to(Path(sys.prefix) / sub)
    return venv


def _student_env(root: Path, venv: Path) -> dict:
    home = root / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "VIRTUAL_ENV": str(venv), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
           "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter"), "JUPYTER_RUNTIME_DIR": str(home / ".jupyter-runtime"),
           "IPYTHONDIR": str(home / ".ipython"), "MPLCONFIGDIR": str(home / ".matplotlib"),
           "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
           # offline as everywhere in this project (a student's laptop would be online)
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return env


def _answer_and_tests(nb: dict) -> tuple[int, str, int, str, int]:
    """(answer index, its grade id, index and grade id of the first test cell after it, index of the
    next test cell)."""
    answer, tests = None, []
    for i, cell in enumerate(nb["cells"]):
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution") and cell["cell_type"] == "code" and answer is None:
            answer = (i, meta["grade_id"])
        elif meta.get("grade") and not meta.get("solution") and answer is not None:
            tests.append((i, meta["grade_id"]))
    assert answer is not None and len(tests) >= 2, "the lab needs an answer cell followed by two test cells"
    return answer[0], answer[1], tests[0][0], tests[0][1], tests[1][0]


def _solution_code(grade_id: str) -> str:
    nb = json.loads(next((REPO / "weeks").glob(f"{LAB_WEEK}-*/solution.ipynb")).read_text())
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)
    lines = "".join(cell["source"]).splitlines()
    return "\n".join(line for line in lines if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")) + "\n"


def _start_cli_validate(venv: Path, env: dict, notebook: Path) -> subprocess.Popen:
    return subprocess.Popen([str(venv / "bin/llm901-grader"), "validate", notebook.name], cwd=notebook.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _cli_failures(cli: subprocess.Popen) -> list[str]:
    stdout, stderr = cli.communicate(timeout=300)
    assert "Traceback (most recent call last)" not in stderr, stderr[-3000:]
    return re.findall(r"^FAILED: (.*)$", stdout, flags=re.M)


def test_validate_config_runs_as_graded(tmp_path):
    """What the Validate button and `llm901-grader validate` share: FAST=True injected, the experiment
    skipped, a test cell's stderr (a library's warning) not counted as a failure."""
    import nbformat
    from nbgrader.validator import Validator

    from llm901_grader.validate import validate_config

    def graded(source, grade_id):
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
            "grade": True, "solution": False, "locked": True, "points": 1, "grade_id": grade_id, "schema_version": 3}})

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("FAST = False\nSEED = 0", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("raise RuntimeError('the experiment ran')", metadata={"tags": ["experiment"]}),
        graded("import sys, warnings\nwarnings.warn('a library warning')\nprint('noise', file=sys.stderr)\nassert FAST is True", "test_fast"),
        graded("assert 1 + 1 == 3, 'a real failure'", "test_fails"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    results = Validator(config=validate_config()).validate(str(path))
    assert [c["source"] for c in results.get("failed", [])] == ["assert 1 + 1 == 3, 'a real failure'"], results
    full = Validator(config=validate_config(full=True)).validate(str(path))
    assert len(full.get("failed", [])) == 2, full  # FAST stays False with --full


@pytest.mark.skipif(CHROMIUM is None, reason="browser test skipped: no chromium on PATH (Debian: `apt-get install -y chromium`; .ci/run installs it as root)")
@pytest.mark.skipif(sync_playwright is None, reason="browser test skipped: playwright is not installed (pip install -e '.[dev]')")
@pytest.mark.browser  # mostly waiting on the browser and the kernel: scheduled early (tests/conftest.py)
def test_student_path_in_browser(tmp_path):
    started = time.monotonic()
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    steps: list[str] = []

    def step(what: str):
        steps.append(f"{time.monotonic() - started:6.1f} s  {what}")

    # 1. the release, as the course site gets it
    out = subprocess.run([str(Path(sys.prefix) / "bin/llm901-grader"), "release", "--week", LAB_WEEK,
                          "--course", str(tmp_path / "course")], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr
    zipped = Path(re.search(r"zip: (\S+\.zip)", out.stdout).group(1))
    assert zipped.parent == REPO / "build" / "release", zipped
    step(f"released {zipped.relative_to(REPO)}")

    # 2. unzip into a fresh folder; follow README.txt
    student = tmp_path / "student"
    with zipfile.ZipFile(zipped) as zf:
        zf.extractall(student)
    (lab_dir,) = student.iterdir()
    readme = (lab_dir / "README.txt").read_text()
    (wheel,) = lab_dir.glob("*.whl")
    (notebook,) = lab_dir.glob("*.ipynb")
    assert f"pip install {wheel.name}" in readme and "jupyter lab" in readme and "Validate" in readme, readme
    assert (lab_dir / "nbgrader_config.py").exists()

    venv = _fresh_venv(tmp_path)
    env = _student_env(tmp_path, venv)
    pip = subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "-q", "--no-index", "--disable-pip-version-check",
                          wheel.name], cwd=lab_dir, env=env, capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    # the course package comes from the wheel, and nbgrader's Validate handler (its own code, run from
    # the folder JupyterLab serves) loads the course's configuration
    probe = subprocess.run([str(venv / "bin/python"), "-c", VALIDATE_HANDLER_CONFIG], env=env, capture_output=True,
                           text=True, cwd=lab_dir)
    assert probe.returncode == 0, probe.stdout + probe.stderr
    facts = json.loads(probe.stdout.splitlines()[-1])
    assert facts.pop("package").startswith(str(venv)), f"the course package must come from the wheel: {probe.stdout}"
    assert facts == {"timeout": 600, "skip": "experiment", "injects": True}, facts

    step("fresh venv, wheel installed (pip --no-index), Validate's configuration checked")
    nb = json.loads(notebook.read_text())
    # the CLI's verdict on the untouched notebook (a copy elsewhere), while JupyterLab starts
    untouched = tmp_path / "untouched" / notebook.name
    untouched.parent.mkdir()
    shutil.copy(notebook, untouched)
    untouched_cli = _start_cli_validate(venv, env, untouched)

    # 3. JupyterLab in the lab folder, on a free port, with a token
    port, token = _free_port(), "llm901-" + os.urandom(8).hex()
    server_log = open(ARTIFACTS / "jupyterlab.log", "w")
    cmd = [str(venv / "bin/python"), "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    server = subprocess.Popen(cmd, cwd=lab_dir, env=env, stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                assert server.poll() is None, (ARTIFACTS / "jupyterlab.log").read_text()[-3000:]
                time.sleep(0.25)
        else:
            raise AssertionError("JupyterLab did not start: " + (ARTIFACTS / "jupyterlab.log").read_text()[-3000:])
        with urllib.request.urlopen(f"{base}/api/kernelspecs?token={token}", timeout=10) as r:
            specs = json.load(r)
        step("JupyterLab up")
        kernel_name = nb["metadata"]["kernelspec"]["name"]
        assert kernel_name in specs["kernelspecs"], f"the lab expects kernel {kernel_name!r}; JupyterLab has {list(specs['kernelspecs'])}"
        _drive_browser(base, token, notebook, nb, venv, env, step, untouched_cli)
    finally:
        if untouched_cli.poll() is None:
            untouched_cli.kill()
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
        server_log.close()
        (ARTIFACTS / "steps.txt").write_text("\n".join(steps) + f"\n{time.monotonic() - started:.1f} s, load {os.getloadavg()[0]:.1f}\n")


def _drive_browser(base, token, notebook, nb, venv, env, step, untouched_cli):
    answer_index, answer_id, test_index, test_id, next_test_index = _answer_and_tests(nb)
    nb_cells = nb["cells"]
    shots = iter(range(1, 100))

    def shot(page, what: str):
        name = f"{next(shots):02d}-{what}.png"
        page.screenshot(path=str(ARTIFACTS / name), full_page=False)
        step(f"{name}: {what}")

    with sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args + ["--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(UI_TIMEOUT_MS)
        expect.set_options(timeout=UI_TIMEOUT_MS)  # expect's own default is 5 s: too short on a loaded machine
        console_errors: list[str] = []
        page.on("pageerror", lambda exc: console_errors.append(str(exc)))
        try:
            page.goto(f"{base}/lab/tree/{notebook.name}?token={token}")
            cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
            expect(cells.first).to_be_visible()
            idle = page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
            expect(idle).to_have_count(1)
            validate = page.locator(".validate-button")
            expect(validate).to_be_visible()  # nbgrader's labextension is loaded in this JupyterLab
            news = page.get_by_role("alert").get_by_role("button", name="No")
            if news.count():  # JupyterLab's first-run question about its news feed
                news.click()
            # math renders (the title cell's formulas, through MathJax)
            expect(page.locator(".jp-RenderedMarkdown mjx-container").first).to_be_attached()
            shot(page, "opened")

            n_cells = len(nb_cells)
            expect(cells).to_have_count(n_cells)  # every cell attached (JupyterLab renders lazily at first)

            def run_all():
                page.keyboard.press("Escape")  # command mode, so that the menu is the only thing acting
                page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
                page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
                expect(cells).to_have_count(n_cells)

            def type_into(index, text):
                """A cell's editor through the UI: click it, select its text, type over it (no auto-indent)."""
                cells.nth(index).scroll_into_view_if_needed()
                cells.nth(index).locator(".cm-content").click()
                expect(cells.nth(index)).to_have_class(re.compile(r"jp-mod-active"))
                expect(page.locator(".jp-Notebook.jp-mod-editMode")).to_have_count(1)
                page.keyboard.press("Control+a")
                page.keyboard.insert_text(text)
                expect(cells.nth(index).locator(".cm-content")).to_contain_text(text.splitlines()[-1].strip())

            def errors_in(index):
                return cells.nth(index).locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')

            run_all()
            expect(errors_in(test_index)).to_have_count(1, timeout=180_000)
            expect(idle).to_have_count(1)
            cells.nth(test_index).scroll_into_view_if_needed()
            error_text = errors_in(test_index).text_content()
            assert "NotImplementedError" in error_text, error_text
            shot(page, f"first-test-fails-{test_id}")
            step(f"  {test_id}: {error_text.strip().splitlines()[-1][:200]}")

            # the student's answer, typed into the answer cell
            type_into(answer_index, _solution_code(answer_id).rstrip("\n"))
            expect(cells).to_have_count(n_cells)
            cells.nth(answer_index).scroll_into_view_if_needed()
            shot(page, f"answer-typed-{answer_id}")
            run_all()
            # run-all stops at the first error: now the next test cell's (its answer is still empty)
            expect(errors_in(next_test_index)).to_have_count(1, timeout=180_000)
            expect(idle).to_have_count(1)
            expect(errors_in(test_index)).to_have_count(0)
            expect(cells.nth(test_index).locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"))
            cells.nth(test_index).scroll_into_view_if_needed()
            shot(page, f"first-test-passes-{test_id}")

            # nbgrader's Validate (saves, then validates on the server with the zip's nbgrader_config.py)
            # the CLI on the same saved file, at the same time as the button (two cores)
            page.keyboard.press("Control+s")
            expect(page.locator(".jp-mod-dirty")).to_have_count(0)
            cli = _start_cli_validate(venv, env, notebook)
            validate.click()
            message = page.locator("#validation-message")
            expect(message).to_be_visible(timeout=300_000)
            shot(page, "validate-dialog")
            failed_sources = [s.strip().splitlines()[0] for s in
                              message.locator(".jp-RenderedText pre").all_inner_texts()[0::2] if s.strip()]
            cli_failed = _cli_failures(cli)
            untouched_failures = [f.strip() for f in _cli_failures(untouched_cli)]
            step(f"  Validate: {len(failed_sources)} failed cell(s); llm901-grader validate: {len(cli_failed)}")
            assert failed_sources == [s.strip() for s in cli_failed], (failed_sources, cli_failed)
            assert cli_failed, "the other answers are still empty: validate must say so"
            answered_test = "".join(nb_cells[test_index]["source"]).splitlines()[0]
            assert len(failed_sources) == len(untouched_failures) - 1, (failed_sources, untouched_failures)
            assert failed_sources.count(answered_test) == untouched_failures.count(answered_test) - 1, \
                f"the answered test ({test_id}) must pass in Validate too"
            page.locator(".jp-Dialog .jp-mod-accept").click()
            log = (ARTIFACTS / "jupyterlab.log").read_text()
            assert "not recognized" not in log and "Traceback" not in log, log[-3000:]

            # figures render inline (the kernel's matplotlib backend), in a cell of the student's own
            last = cells.nth(cells.count() - 1)
            last.click()
            page.keyboard.press("Escape")
            page.keyboard.press("b")  # a new cell below, as a student adds their own
            new_cell = cells.nth(cells.count() - 1)
            new_cell.locator(".cm-content").click()
            page.keyboard.insert_text("import matplotlib.pyplot as plt\nplt.plot([0, 1, 4, 9]); plt.title('inline figure'); plt.show()")
            page.keyboard.press("Shift+Enter")
            expect(new_cell.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')).to_be_visible(timeout=120_000)
            new_cell.scroll_into_view_if_needed()
            shot(page, "figure-inline")
            assert not console_errors, console_errors
        except Exception:
            shot(page, "failure")
            raise
        finally:
            browser.close()
