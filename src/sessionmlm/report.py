"""The HTML report of one cohort and the index across cohorts.

Self-contained by construction: inline CSS, inline SVG figures, no scripts, no links out.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from sessionmlm.config import Cohort
from sessionmlm.figures import forest_plot, histogram_bars

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#1d2733;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}
h2{margin-top:2.2rem;border-bottom:2px solid #dde3ea;padding-bottom:.2rem}
h3{margin-top:1.6rem}table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.92rem}
th,td{padding:.25rem .6rem;border-bottom:1px solid #e3e7ec;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}thead th{border-bottom:2px solid #9aa7b5}
caption{text-align:left;font-weight:600;padding-bottom:.2rem}
code{background:#f2f4f7;padding:.05rem .3rem;border-radius:3px}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:1rem;font-size:.8rem;font-weight:600}
.pass{background:#dff3e4;color:#17612e}.fail{background:#fbe0e0;color:#8a1f1f}
.warn{background:#fff3d6;color:#7a5400}
.banner{border-left:4px solid #c62828;background:#fdecea;padding:.6rem 1rem;margin:1rem 0}
.note{color:#4a5868;font-size:.9rem}nav ol{columns:2}figure{margin:1rem 0}
@media print{nav{display:none}h2{page-break-before:auto}body{margin:0}}
"""


# A cell that is a number, maybe with an interval in brackets: right-aligned.
NUMBER = re.compile(r"^(&lt;)?[-–]?\d[\d.,]*%?( to [-–]?\d[\d.,]*)?( \(.*\))?$|^[-–]$")


@dataclass(frozen=True)
class Fit:
    """The three output-contract files of one (model, engine) fit, read back."""

    model: str
    engine: str
    estimates: pd.DataFrame
    variance: pd.DataFrame
    info: dict[str, Any]


def load_fit(results_dir: Path, model: str, engine: str) -> Fit:
    """Read results/{cohort}/{model}/{engine}/."""
    folder = results_dir / model / engine
    return Fit(
        model=model,
        engine=engine,
        estimates=pd.read_csv(folder / "estimates.csv"),
        variance=pd.read_csv(folder / "variance.csv"),
        info=json.loads((folder / "fit.json").read_text()),
    )


def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def _with_interval(row: Any, name: str, digits: int) -> str:
    """'value (low to high)' from a row with name, name_low, name_high (interval optional)."""
    low, high = getattr(row, f"{name}_low", None), getattr(row, f"{name}_high", None)
    interval = f" ({_num(low, digits)} to {_num(high, digits)})" if low is not None else ""
    return _num(getattr(row, name), digits) + interval


def _table(header: list[str], rows: list[list[str]], caption: str = "") -> str:
    head = "".join(f"<th scope='col'>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td class='num'>{c}</td>" if NUMBER.match(c) else f"<td>{c}</td>" for c in row)
        + "</tr>"
        for row in rows
    )
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _badge(fit: Fit) -> str:
    if fit.info["converged"]:
        return "<span class='badge pass'>pass</span>"
    return "<span class='badge fail'>failed</span>"


def _cell(entry: dict[str, Any], min_cell: int) -> str:
    return f"&lt;{min_cell}" if entry["suppressed"] else str(entry["n"])


def design_section(desc: dict[str, Any]) -> str:
    """Counts per level, how many units nest in each, and the base rate."""
    levels = desc["levels"]
    rows = [[escape(level), str(desc["counts"][level])] for level in levels]
    parts = ["<h2 id='design'>Design</h2>", _table(["level", "units"], rows, "Units per level")]
    for key, size in desc["sizes"].items():
        child, parent = key.split("_per_")
        parts.append(
            f"<figure>{histogram_bars(size['histogram'], f'{child}s per {parent}', parent + 's')}"
            f"<figcaption>{escape(child.capitalize())}s per {escape(parent)}: "
            f"{size['min']} to {size['max']}, median {size['median']:g}, mean {size['mean']:.2f} "
            f"(bar height: number of {escape(parent)}s).</figcaption></figure>"
        )
    out = desc["outcome"]
    parts.append(
        f"<p>Outcome <code>{escape(out['name'])}</code> (any of "
        f"{', '.join(escape(s) for s in out['sources'])}): base rate "
        f"<strong>{100 * out['base_rate']:.1f}%</strong> of {out['n']} sessions"
        + (f"; {out['missing']} sessions without an outcome." if out["missing"] else ".")
        + "</p>"
    )
    return "".join(parts)


def table1_section(desc: dict[str, Any]) -> str:
    """Table 1 by level, over the units of each variable's level."""
    parts = [
        "<h2 id='table1'>Table 1 by level</h2>",
        f"<p class='note'>Each variable is summarised over the units of its level; counts below "
        f"{desc['min_cell']} are suppressed (&lt;{desc['min_cell']}).</p>",
    ]
    for level, variables in desc["table1"].items():
        if not variables:
            continue
        rows = []
        for name, e in variables.items():
            if e["kind"] == "binary":
                share = "" if e["share"] is None else f" ({100 * e['share']:.0f}%)"
                summary = f"yes {_cell(e['yes'], desc['min_cell'])}{share}"
            elif e["kind"] == "numeric":
                summary = (
                    f"mean {e['mean']:.2f} (SD {e['sd']:.2f}), range {e['min']:g} to {e['max']:g}"
                )
            else:
                summary = "; ".join(
                    f"{escape(k)} {_cell(v, desc['min_cell'])}" for k, v in e["categories"].items()
                )
            rows.append([escape(name), summary, str(e["missing"])])
        parts.append(
            _table(
                [f"{level} variable", "summary", "missing"],
                rows,
                f"{level.capitalize()} characteristics ({desc['counts'][level]} {level}s)",
            )
        )
    return "".join(parts)


def _equation(fit: Fit, groups: list[str]) -> str:
    terms = [t for t in fit.estimates["term"] if t != "Intercept"]
    fixed = " + ".join(["β₀"] + [f"β<sub>{escape(t)}</sub>·{escape(t)}" for t in terms])
    random = " + ".join(f"u<sub>{escape(g)}</sub>" for g in groups)
    sds = "; ".join(
        f"u<sub>{escape(g)}</sub> ~ Normal(0, σ<sub>{escape(g)}</sub>²)" for g in groups
    )
    outcome = escape(fit.info["formula"].split("~")[0].strip())
    return f"<p class='eq'>logit P({outcome} = 1) = {fixed} + {random}; {sds}</p>"


def model_section(fit: Fit) -> str:
    """One model under one engine: equation, priors, odds ratios, variance, diagnostics."""
    info, est, var = fit.info, fit.estimates, fit.variance
    groups = list(var["level"])
    parts = [
        f"<h3 id='{fit.model}-{fit.engine}'>Model <code>{escape(fit.model)}</code>, engine "
        f"<code>{escape(fit.engine)}</code> {_badge(fit)}</h3>",
        f"<p>lme4 syntax: <code>{escape(info['formula'])}</code></p>",
        _equation(fit, groups),
    ]
    if not info["converged"]:
        reasons = "".join(f"<li>{escape(p)}</li>" for p in info["problems"])
        parts.append(
            "<div class='banner' role='alert'><strong>This fit failed its diagnostics and must "
            "not be reported as a result.</strong> After "
            f"{len(info['attempts'])} attempt(s) within the budget:<ul>{reasons}</ul>"
            "Consider more draws (bayes.draws), a simpler model, or more data.</div>"
        )
    if "priors" in info:
        parts.append(
            _table(
                ["parameter", "prior"],
                [[escape(k), escape(v)] for k, v in info["priors"].items()],
                "Priors",
            )
        )
    rows = [
        [
            escape(r.term),
            _num(r.odds_ratio),
            f"{_num(r.or_low)} to {_num(r.or_high)}",
            _num(r.estimate, 3),
            _num(r.std_error, 3),
            _num(r.prob_positive, 3)
            if "prob_positive" in est
            else _num(getattr(r, "p_value", None), 3),
        ]
        for r in est.itertuples()
    ]
    last = "P(β > 0)" if "prob_positive" in est else "p"
    parts.append(
        _table(
            ["term", "odds ratio", "95% interval", "log-odds", "SE / SD", last],
            rows,
            f"Odds ratios, {info['n_obs']} sessions",
        )
    )
    rows = [
        [
            escape(r.level),
            str(getattr(r, "units", "")),
            _with_interval(r, "sd", 2),
            _with_interval(r, "icc", 3),
            _with_interval(r, "mor", 2),
        ]
        for r in var.itertuples()
    ]
    parts.append(
        _table(
            ["level", "units", "SD (95% interval)", "ICC", "median odds ratio"],
            rows,
            "Variance components (latent scale, residual π²/3)",
        )
    )
    parts.append(
        "<p class='note'>ICC of a level: the correlation, on the latent scale, of two sessions "
        "that share a unit of that level (and so every level above it). Median odds ratio: the "
        "median of the odds ratio between two randomly chosen units of that level with the same "
        "predictor values.</p>"
    )
    d = info["diagnostics"]
    parts.append(
        f"<p class='note'>Diagnostics: max R-hat {_num(d['max_rhat'], 3)}, min bulk ESS "
        f"{_num(d['min_ess_bulk'], 0)}, min tail ESS {_num(d['min_ess_tail'], 0)}, "
        f"{d['divergences']} divergences, over {len(info['attempts'])} attempt(s); "
        f"{info['n_dropped']} sessions dropped for missing values.</p>"
    )
    return "".join(parts)


def plain_language(fit: Fit, desc: dict[str, Any], reference: dict[str, Any]) -> str:
    """A sentence per predictor, careful to speak of association, not cause."""
    kinds = {name: e["kind"] for level in desc["table1"].values() for name, e in level.items()}
    outcome = escape(fit.info["formula"].split("~")[0].strip())
    items = []
    for r in fit.estimates.itertuples():
        if r.term == "Intercept":
            continue
        ratio, low, high = r.odds_ratio, r.or_low, r.or_high
        size = f"{ratio:.2f} times as high"
        if ratio < 1:
            size += f" ({100 * (1 - ratio):.0f}% lower)"
        certain = (
            "The 95% interval excludes 1."
            if low > 1 or high < 1
            else "The 95% interval includes 1: the data are compatible with no association."
        )
        if "[" in r.term:
            var, level = r.term[:-1].split("[")
            versus = escape(str(reference.get(var, "the reference level")))
            subject = f"In sessions where {escape(var)} was {escape(level)} rather than {versus}"
        elif kinds.get(r.term) == "binary":
            subject = f"Where {escape(r.term)} was 1 rather than 0"
        else:
            subject = f"For each one-unit increase in {escape(r.term)}"
        items.append(
            f"<li>{subject}, the odds of {outcome} were {size} (95% interval {low:.2f} to "
            f"{high:.2f}), among sessions with the same values of the other predictors and the "
            f"same therapist and client. {certain}</li>"
        )
    return (
        "<p class='note'>Associations in observational data, not effects of intervening.</p>"
        "<ul>" + "".join(items) + "</ul>"
    )


def render_cohort_report(cohort: Cohort, desc: dict, validation: dict, fits: list[Fit]) -> str:
    """The whole cohort report as one HTML string."""
    models = list(dict.fromkeys(f.model for f in fits))
    toc = [
        "<li><a href='#glance'>At a glance</a></li>",
        "<li><a href='#design'>Design</a></li>",
        "<li><a href='#table1'>Table 1 by level</a></li>",
        "<li><a href='#models'>Models</a></li>",
        "<li><a href='#forest'>Odds ratios across models</a></li>",
        "<li><a href='#plain'>In plain language</a></li>",
        "<li><a href='#appendix'>Reproducibility</a></li>",
    ]
    glance = [
        [
            escape(f.model),
            escape(f.engine),
            _badge(f),
            escape("; ".join(f.info["problems"]) or "all diagnostics passed"),
        ]
        for f in fits
    ]
    forest_rows = [
        {
            "term": r.term,
            "series": f"{f.model} ({f.engine})",
            "odds_ratio": r.odds_ratio,
            "or_low": r.or_low,
            "or_high": r.or_high,
        }
        for f in fits
        for r in f.estimates.itertuples()
        if r.term != "Intercept"
    ]
    main = next((f for f in reversed(fits) if f.model == models[-1]), None)
    versions = fits[0].info.get("versions", {}) if fits else {}
    appendix = _table(
        ["item", "value"],
        [
            ["cohort file", escape(str(cohort.config_file))],
            ["data file", escape(str(cohort.data))],
            ["input SHA-256", f"<code>{escape(validation.get('input_hash', ''))}</code>"],
        ]
        + [
            [
                f"{escape(f.model)}/{escape(f.engine)}",
                f"seed {f.info.get('seed')}, {f.info['wall_seconds']['total']:.1f} s "
                f"(compile {f.info['wall_seconds'].get('compile', 0):.1f} s)",
            ]
            for f in fits
        ]
        + [[escape(k), escape(str(v))] for k, v in versions.items()],
        "Run record",
    )
    nesting = " within ".join(f"{escape(g)}s" for g in reversed(cohort.grouping_levels))
    body = [
        f"<h1>sessionmlm report: {escape(cohort.name)}</h1>",
        f"<p class='note'>Multilevel logistic models of <code>{escape(cohort.outcome.name)}</code> "
        f"with sessions nested in {nesting}. "
        "Ids are keyed pseudonyms; small cells are suppressed.</p>",
        f"<nav aria-label='Contents'><h2>Contents</h2><ol>{''.join(toc)}</ol></nav>",
        "<h2 id='glance'>At a glance</h2>",
        _table(["model", "engine", "diagnostics", "detail"], glance),
        design_section(desc),
        table1_section(desc),
        "<h2 id='models'>Models</h2>",
        "".join(model_section(f) for f in fits),
        "<h2 id='forest'>Odds ratios across models</h2>",
        f"<figure>{forest_plot(forest_rows, 'Odds ratios with 95% intervals by model')}"
        "<figcaption>Points are posterior medians, lines 95% intervals; the dashed line marks "
        "no association (odds ratio 1).</figcaption></figure>",
        f"<h2 id='plain'>In plain language ({escape(main.model) if main else ''} model)</h2>",
        plain_language(main, desc, cohort.reference)
        if main and main.info["converged"]
        else "<p>The main model did not pass its diagnostics, so no plain-language summary "
        "is given.</p>",
        "<h2 id='appendix'>Reproducibility</h2>",
        appendix,
        "<p>Reproduce with <code>make demo</code> (or <code>snakemake --cores all</code>) "
        "from the repository root with the same config and input.</p>",
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>sessionmlm: {escape(cohort.name)}</title><style>{CSS}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )


def write_cohort_report(
    cohort: Cohort, results_dir: str, descriptives: str, validation: str, out: str
) -> None:
    """Read a cohort's results and write its report."""
    folder = Path(results_dir)
    fits = [load_fit(folder, m, e) for m in cohort.models for e in cohort.engines]
    desc = json.loads(Path(descriptives).read_text())
    check = json.loads(Path(validation).read_text())
    Path(out).write_text(render_cohort_report(cohort, desc, check, fits))


def write_index(cohorts: list[str], reports: list[str], out: str) -> None:
    """An index page linking every cohort's report."""
    items = "".join(
        f"<li><a href='{escape(str(Path(r).relative_to(Path(out).parent)))}'>{escape(c)}</a></li>"
        for c, r in zip(cohorts, reports, strict=True)
    )
    Path(out).write_text(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>sessionmlm results</title><style>{CSS}</style></head><body>"
        f"<h1>sessionmlm results</h1><ul>{items}</ul></body></html>\n"
    )
