"""What a TA reads at the end of a batch: a table on the terminal and a summary figure."""

from __future__ import annotations

from pathlib import Path

from .batch import BatchResult


def table(result: BatchResult) -> str:
    rows = [("student", "score", "time (s)", "notes")]
    for s in result.students:
        notes = "; ".join(([s.late] if s.late else []) + s.notes)
        by_hand = " + written" if s.needs_manual_grade else ""
        rows.append((s.folder, f"{s.score:g} / {s.max_score:g}{by_hand}", f"{s.seconds:.1f}", notes))
    widths = [min(max(len(r[i]) for r in rows), 40) for i in range(3)]
    lines = []
    for i, row in enumerate(rows):
        cells = [row[j][: widths[j]].ljust(widths[j]) for j in range(3)]
        lines.append("  ".join(cells) + ("  " + row[3] if row[3] else ""))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  -----")
            continue
        student = result.students[i - 1]
        if student.flags:
            lines.append(" " * (sum(widths) + 6) + "flag: " + "; ".join(student.flags))
        if student.diagnoses:
            lines.append(" " * (sum(widths) + 6) + "likely: " + "; ".join(
                f"{test}: {' / '.join(names[:2])}" for test, names in student.diagnoses.items()))
    return "\n".join(lines)


def summary(result: BatchResult) -> str:
    n = len(result.students)
    graded = [s for s in result.students if s.seconds > 0]
    mean_time = sum(s.seconds for s in graded) / len(graded) if graded else 0.0
    with_problems = sum(1 for s in result.students if s.notes)
    out = [
        f"{result.lab.week}: {n} submissions graded in {result.seconds:.1f} s "
        f"({mean_time:.1f} s per executed notebook); {with_problems} with notes or problems",
        f"gradebook: {result.course.gradebook_url.removeprefix('sqlite:///')}",
        f"feedback:  {result.course.root / 'feedback'}/<student>/{result.lab.week}/",
    ]
    if result.resumed:
        out.append(f"{len(result.resumed)} submission(s) were already graded and unchanged: kept, not run again "
                   "(--force / FORCE=1 re-grades them)")
    report = result.integrity
    if report is not None:
        flagged = sum(1 for s in result.students if s.flags)
        out.append(f"integrity: {flagged} student(s) flagged for a person to look at (no score changed): "
                   f"{report.json_path}" + (f", side by side: {report.html_path}" if report.pairs else ""))
    if result.manual_max:
        waiting = sum(1 for s in result.students if s.needs_manual_grade)
        out.append(f"written:   {result.manual_max:g} of the {result.max_score:g} points are written answers; "
                   f"{waiting} submission(s) wait for a TA in `nbgrader formgrader` (run in {result.course.root}); "
                   "`make export WEEK=... ROSTER=...` then combines both")
    if result.layout != "folders":
        out.append(f"collected: {result.layout} layout")
    for message in result.collection:
        out.append(f"  not graded: {message}")
    if result.feedback_packages:
        out.append(f"feedback zips (one per student, named for upload): {result.feedback_packages}")
    export = result.site_export
    if export is not None:
        out.append(f"course site: {export.canvas} (Canvas gradebook import), {export.plain} (id,score)")
        if export.missing_students:
            out.append(f"  on the roster, no submission ({len(export.missing_students)}): {', '.join(export.missing_students)}")
        if export.unmatched_submissions:
            out.append(f"  submissions no roster entry matches ({len(export.unmatched_submissions)}): "
                       f"{', '.join(export.unmatched_submissions)}")
    if result.mistakes:
        diagnosed = sum(1 for s in result.students if s.diagnoses)
        out.append(f"mistakes:  {diagnosed} student(s) with a catalogued mistake named (`likely:`): {result.mistakes}")
    if result.csv:
        out.append(f"grades:    {result.csv}")
    if result.figure:
        out.append(f"figure:    {result.figure}")
    return "\n".join(out)


def summary_figure(result: BatchResult) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = result.course.root / "reports" / f"{result.lab.week}-summary.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    scores = [s.score for s in result.students]
    tests = sorted(result.test_max)
    rates = [
        sum(1 for s in result.students if s.tests.get(t, 0.0) >= result.test_max[t] > 0) / max(len(result.students), 1)
        for t in tests
    ]
    top = top_mistakes(result)
    fig, axes = plt.subplots(1, 3 if top else 2, figsize=(17 if top else 11, 3.8),
                             gridspec_kw={"width_ratios": [1, 1.6, 1.6] if top else [1, 1.6]})
    ax1, ax2 = axes[0], axes[1]
    ax1.hist(scores, bins=min(20, max(5, len(scores))), range=(0, max(result.max_score, 1)), color="#4477aa")
    ax1.set(xlabel="score", ylabel="students", title=f"{result.lab.week}: scores (max {result.max_score:g})")
    ax2.barh(tests, rates, color="#66aa55")
    ax2.set(xlim=(0, 1), xlabel="fraction of students with full points", title="per test cell")
    ax2.invert_yaxis()
    if top:
        _mistakes_panel(axes[2], top)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target


def top_mistakes(result: BatchResult, n: int = 8) -> list[tuple[str, int]]:
    """The most frequent diagnoses of the batch: ("test: mistake", students), most frequent first."""
    from collections import Counter

    counts = Counter(f"{names[0]}\n({test})" for s in result.students for test, names in s.diagnoses.items() if names)
    return counts.most_common(n)


def _mistakes_panel(ax, top: list[tuple[str, int]]) -> None:
    labels = ["\n".join(part if len(part) <= 34 else part[:33] + "…" for part in label.split("\n")) for label, _ in top]
    ax.barh(labels, [count for _, count in top], color="#cc6677")
    ax.set(xlabel="students", title="most frequent mistakes (catalog diagnosis)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.invert_yaxis()


def mistakes_figure(result: BatchResult, data: dict, target: Path) -> Path:
    """Per failed test cell: students who failed it, and how many of them each catalogued mistake explains."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(test, info["failed"], info["mistakes"]) for test, info in data.items()]
    fig, ax = plt.subplots(figsize=(10, 0.5 + 0.45 * max(len(rows), 1)))
    if not rows:
        ax.text(0.5, 0.5, "no failed test cells", ha="center", va="center")
        ax.set_axis_off()
    for y, (_test, failed, mistakes) in enumerate(rows):
        ax.barh(y, failed, color="#dddddd")
        left = 0
        for mistake in mistakes:
            ax.barh(y, mistake["students"], left=left, color="#cc6677", edgecolor="white")
            ax.text(left + mistake["students"] / 2, y, mistake["name"][:28], ha="center", va="center", fontsize=7)
            left += mistake["students"]
    if rows:
        ax.set_yticks(range(len(rows)), [r[0] for r in rows])
        ax.invert_yaxis()
        ax.set(xlabel="students who failed the test (red: explained by a catalogued mistake)",
               title=f"{result.lab.week}: mistakes per test cell")
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target
