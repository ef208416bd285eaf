"""The package files a job depends on, read from the imports."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessionmlm.code_deps import modules_used


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
