"""Grading at scale: local worker processes and a Dask cluster give exactly the serial results."""

from __future__ import annotations

import pytest

from fixture_lab import make_fixture_lab
from llm901_grader import notebooks
from llm901_grader.batch import grade
from llm901_grader.course import Course
from llm901_grader.samples import answered


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("scale")
    lab = make_fixture_lab(base / "labs")
    subs = base / "subs"
    notebooks.write(answered(lab), subs / "correct" / "a.ipynb")
    notebooks.write(answered(lab, replace={"double": "def double(x):\n    return x + 1"}), subs / "wrong" / "b.ipynb")
    notebooks.write(notebooks.read(lab.student), subs / "untouched" / "c.ipynb")
    crash = answered(lab)
    crash.cells.insert(3, notebooks.nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    notebooks.write(crash, subs / "crash" / "d.ipynb")
    (subs / "broken").mkdir()
    (subs / "broken" / "e.ipynb").write_text("{")
    return lab, subs, base


def scores(result):
    return {s.folder: (s.score, s.tests) for s in result.students}


def test_parallel_equals_serial(batch):
    lab, subs, base = batch
    serial = grade(lab, subs, Course(base / "serial"), progress=False, workers=1)
    parallel = grade(lab, subs, Course(base / "parallel"), progress=False, workers=2)
    assert scores(serial) == scores(parallel)
    assert scores(serial)["correct"][0] == 5 and scores(serial)["wrong"][0] == 2 and scores(serial)["crash"][0] == 5
    assert all(s.seconds > 0 for s in parallel.students if s.folder != "broken")


def test_dask_local_cluster_equals_serial(batch):
    distributed = pytest.importorskip("distributed")
    lab, subs, base = batch
    serial = grade(lab, subs, Course(base / "serial-2"), progress=False, workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = grade(lab, subs, Course(base / "dask"), progress=False, scheduler=cluster.scheduler_address)
    assert scores(serial) == scores(on_dask)
