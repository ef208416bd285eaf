"""The package files a job depends on, read from the imports."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessionmlm import engines
from sessionmlm.code_deps import PACKAGE_DIR, imported_names, modules_used, stage_files

from .conftest import ROOT


def write(folder: Path, files: dict[str, str]) -> Path:
    """A fake `sessionmlm` package: relative path -> source."""
    package = folder / "sessionmlm"
    for relative, source in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return package


def names(paths: list[Path], package: Path) -> set[str]:
    return {str(p.relative_to(package)) for p in paths}


def test_follows_every_kind_of_import_and_nothing_else(tmp_path):
    package = write(tmp_path, {
        "__init__.py": "",
        "stages/__init__.py": "",
        "stages/fit.py": "from sessionmlm import atomic\nfrom sessionmlm.sub import helper\n"
                         "from sessionmlm.engines import get_engine\n"
                         "def run():\n    from ..lazy import thing  # inside a function\n",
        "atomic.py": "import os\n",
        "sub/__init__.py": "from . import inner\n",
        "sub/helper.py": "from .sibling import x\n",
        "sub/sibling.py": "import sessionmlm.cycle\n",
        "sub/inner.py": "",
        "cycle.py": "from sessionmlm.sub import helper  # a cycle ends\n",
        "lazy.py": "",
        "unused.py": "",
        "engines/__init__.py": "MODULES = {'ml': 'sessionmlm.engines.ml'}  # by name: not followed\n",
        "engines/ml.py": "",
    })  # fmt: skip
    found = names(modules_used(["sessionmlm.stages.fit"], package_dir=package), package)
    assert found == {
        "__init__.py", "stages/__init__.py", "stages/fit.py", "atomic.py", "sub/__init__.py",
        "sub/helper.py", "sub/sibling.py", "sub/inner.py", "cycle.py", "lazy.py",
        "engines/__init__.py",
    }  # fmt: skip


def test_skip_leaves_out_a_package_and_what_only_it_imports(tmp_path):
    package = write(tmp_path, {
        "__init__.py": "",
        "job.py": "from sessionmlm.engines import ml, bayes\n",
        "engines/__init__.py": "",
        "engines/ml.py": "from sessionmlm import quadrature\n",
        "engines/bayes/__init__.py": "from sessionmlm.engines.bayes import model\n",
        "engines/bayes/model.py": "",
        "quadrature.py": "",
    })  # fmt: skip
    found = names(
        modules_used(["sessionmlm.job"], skip=["sessionmlm.engines.bayes"], package_dir=package),
        package,
    )
    assert found == {"__init__.py", "job.py", "engines/__init__.py", "engines/ml.py",
                     "quadrature.py"}  # fmt: skip


def test_an_unknown_root_is_named(tmp_path):
    package = write(tmp_path, {"__init__.py": ""})
    with pytest.raises(ValueError, match="'sessionmlm.stages.nope' is not a module of sessionmlm"):
        modules_used(["sessionmlm.stages.nope"], package_dir=package)


def relative(paths: list[Path]) -> set[str]:
    return {str(p.relative_to(PACKAGE_DIR)) for p in paths}


ENGINE_MODULES = {
    name: (engines.get(name).module, *engines.get(name).code) for name in engines.engine_names()
}


def stage(name: str, *run: str) -> set[str]:
    """What common.smk gives a job: its stage, and the engines it runs, not the others."""
    return relative(stage_files(name, ENGINE_MODULES, run))


def test_the_real_stages_depend_on_what_they_run():
    report, fit_ml, fit_gee = (
        stage("report", *ENGINE_MODULES),
        stage("fit", "ml"),
        stage("fit", "gee"),
    )
    # Modules the hand-kept lists missed, now found.
    assert {"variance.py", "formula.py", "engines/__init__.py"} <= fit_ml
    assert "stages/fit.py" in fit_ml and "stages/job.py" in fit_ml
    # An engine folder: its registration, its fit and what that imports, none of the others.
    assert {"engines/ml/__init__.py", "engines/ml/fitting.py", "engines/ml/quadrature.py"} <= fit_ml
    assert "engines/ml/quadrature.py" not in fit_gee
    assert {"engines/gee/__init__.py", "engines/gee/fitting.py"} <= fit_gee
    assert not {"engines/bayes/sampling.py", "engines/gee/__init__.py"} & fit_ml
    # The report's own modules are no fit's; the report reads every engine's wording.
    assert {
        "report/page.py",
        "report/structure.py",
        "report/posterior.py",
        "htmlparts.py",
    } <= report
    assert {"engines/bayes/__init__.py", "engines/ml/__init__.py"} <= report
    assert {"engines/gee/__init__.py", "engines/gee/settings.py"} <= report
    assert not {"report/page.py", "htmlparts.py", "pooling.py"} & (fit_ml | fit_gee)
    # Stages that run no engine depend on none (the registry itself imports them lazily).
    ingest = stage("ingest")
    assert {"ingest.py", "tables.py", "pseudonyms.py", "engines/__init__.py"} <= ingest
    assert not {f for f in ingest if f.startswith(("engines/bayes", "engines/ml", "engines/gee"))}
    assert "describe.py" in stage("describe")
    assert "model_data.py" in stage("check_model")
    assert {"replicates.py", "engines/ml/fitting.py"} <= stage("simulate_chunk", "ml")


def test_an_engine_outside_the_package_adds_no_files():
    modules = ENGINE_MODULES | {"outside": ("elsewhere.engine",)}
    assert relative(stage_files("fit", modules, ["outside"])) == stage("fit")


def test_every_rule_with_a_script_has_its_stage_module():
    rules = {p.stem for p in (ROOT / "workflow" / "rules").glob("*.smk")} - {"common"}
    scripts = {p.stem for p in (ROOT / "workflow" / "scripts").glob("*.py")} - {"sessionmlm_path"}
    stages = {p.stem for p in (PACKAGE_DIR / "stages").glob("*.py")} - {"__init__", "job"}
    assert stages == scripts - {"cohort_problems"}
    assert rules == scripts
    for name in stages:
        text = (ROOT / "workflow" / "scripts" / f"{name}.py").read_text()
        assert f"from sessionmlm.stages.{name} import run_{name}" in text, name


def ast_imports(file: Path, name: str) -> set[str]:
    """What Python's own parser says a file imports, the way imported_names lists it."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            package = name if file.name == "__init__.py" else name.rpartition(".")[0]
            anchor = package.split(".")[: len(package.split(".")) - max(node.level - 1, 0)]
            base = ".".join(anchor + [node.module or ""]).strip(".") if node.level else node.module
            found |= {base} | {f"{base}.{a.name}" for a in node.names}
    return found


def test_reading_imports_as_text_misses_none_that_python_sees():
    for file in PACKAGE_DIR.rglob("*.py"):
        parts = file.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        assert ast_imports(file, name) <= set(imported_names(file, name)), file
