"""The report's Reproducibility appendix: inputs, run records, settings, the cohort file."""

from __future__ import annotations

from html import escape
from pathlib import Path

from sessionmlm.config import Cohort
from sessionmlm.documents import project_path
from sessionmlm.htmlparts import html_table
from sessionmlm.machine_paths import scrub, this_machine
from sessionmlm.manuscript import table_files
from sessionmlm.report.fits import Fit


def _settings(f: Fit) -> str:
    """An engine's settings as run, compactly (priors are in the model's own section)."""
    # A prior is a mapping with "dist"; the model's Priors table already says it in words.
    settings = {k: v for k, v in f.info.get("settings", {}).items()
                if k != "priors" and not (isinstance(v, dict) and "dist" in v)}  # fmt: skip
    return escape(", ".join(f"{k}: {v}" for k, v in settings.items()))


def _config_as_run(cohort: Cohort) -> str:
    """The cohort file as it was when the report was made."""
    try:
        text = Path(cohort.config_file).read_text()
    except OSError:
        return ""
    # A path written in it (data: /home/<user>/...) is shown without the machine's folders.
    text = scrub(text, this_machine())
    return (
        "<h3>Cohort file as run</h3><p class='note'>"
        f"{escape(project_path(cohort.config_file))}; the global defaults are in "
        "config/config.yaml, and every fit's settings are listed above."
        f"</p><pre>{escape(text)}</pre>"
    )


def _run_record(f: Fit) -> str:
    seconds = f.info["wall_seconds"]
    seed = f.info.get("seed")
    text = f"seed {seed}" if seed is not None else "deterministic (no seed)"
    text += f", {seconds['total']:.1f} s"
    if "compile" in seconds:
        text += f" (compile {seconds['compile']:.1f} s)"
    return text


def _manuscript_tables(cohort: Cohort, fits: list[Fit]) -> str:
    """Links to the Word (and CSV) tables beside the report, numbered as in them."""
    shown = {(f.model, f.engine) for f in fits if f.fitted and f.info["converged"]}
    what = ["characteristics by level"] + [
        f"{model}, {engine}" + ("" if (model, engine) in shown else " (not reported: no numbers)")
        for model in cohort.models
        for engine in cohort.engines
    ]
    docx, csv = (table_files(cohort.models, cohort.engines, s) for s in ("docx", "csv"))
    items = "".join(
        f"<li>Table {n}: {escape(text)}: <a href='{escape(d)}'>Word</a>, "
        f"<a href='{escape(c)}'>CSV</a></li>"
        for n, (text, d, c) in enumerate(zip(what, docx, csv, strict=True), start=1)
    )
    return (
        "<h3 id='manuscript'>Manuscript tables</h3><p class='note'>APA-style tables for a "
        "manuscript, beside this report in the tables/ folder; a fit that failed its checks "
        f"or was not fitted has a table that says why, with no numbers.</p><ul>{items}</ul>"
    )


def appendix_section(cohort: Cohort, validation: dict, fits: list[Fit]) -> str:
    """Inputs, each fit's run record and settings, package versions, and the cohort file."""
    versions: dict[str, str] = {}
    for f in fits:
        versions |= f.info.get("versions", {})
    made_by = {str(f.info.get("sessionmlm_version", "unknown")) for f in fits}  # package version
    record = html_table(
        ["item", "value"],
        [
            ["cohort file", escape(project_path(cohort.config_file))],
            ["data file(s)", escape(", ".join(project_path(f) for f in cohort.data_files))],
            ["input SHA-256", f"<code>{escape(validation.get('input_hash', ''))}</code>"],
        ]
        + [[f"{escape(f.model)}/{escape(f.engine)}", _run_record(f)] for f in fits]
        + [[f"{escape(f.model)}/{escape(f.engine)} settings", _settings(f)] for f in fits]
        + [[escape(k), escape(str(v))] for k, v in sorted(versions.items())]
        + [["sessionmlm", escape(", ".join(sorted(made_by)))]],
        "Run record",
    )
    return (
        "<h2 id='appendix'>Reproducibility</h2>"
        + _manuscript_tables(cohort, fits)
        + record
        + reproduce_note(cohort, made_by)
        + _config_as_run(cohort)
    )


def reproduce_command(cohort: Cohort) -> str:
    """The command that remakes this report in a fresh clone (Makefile target `run`)."""
    return f"make run TARGETS=results/{cohort.name}/report.html"


def reproduce_note(cohort: Cohort, made_by: set[str]) -> str:
    """How to remake the report from a fresh clone: where its files go, the one command."""
    project = Path.cwd().resolve()  # the project: where snakemake ran the report job

    def inside(path: Path) -> bool:
        return Path(path).resolve().is_relative_to(project)

    data = ", ".join(f"<code>{escape(project_path(f))}</code>" for f in cohort.data_files)
    data = (
        f"its data as {data}"
        if all(inside(f) for f in cohort.data_files)
        else "its data where its <code>data</code> key says"
    )
    named = f"<code>{escape(project_path(cohort.config_file))}</code>"
    outside = f"({named}) in the folder <code>cohorts_dir</code> names"
    where = f"at {named}" if inside(cohort.config_file) else outside
    return (
        f"<p>Reproduce in a fresh clone of the sessionmlm repository "
        f"(version {escape(', '.join(sorted(made_by)) or 'unknown')}): put the cohort file "
        f"{where} and {data} (the demo's are "
        "in the repository), keep <code>config/config.yaml</code> as it was run and give the "
        "same pseudonym key (its <code>privacy</code> settings say where the key is read "
        "from), then from the clone's root run "
        f"<code>{escape(reproduce_command(cohort))}</code>. It makes the Python environment "
        "from the lock on first use, as <code>make demo</code> does. The same seeds give the "
        "same numbers.</p>"
    )
