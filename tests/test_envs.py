import importlib.util

from .conftest import ROOT


def load_from_lock():
    spec = importlib.util.spec_from_file_location("from_lock", ROOT / "envs" / "from_lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_conda_environment_matches_the_lock():
    lock = (ROOT / "requirements.lock").read_text()
    module = load_from_lock()
    assert (ROOT / "envs" / "sessionmlm.yaml").read_text() == module.render(lock)
    pins = module.pins(lock)
    assert "pymc==6.4.0" in pins and any(p.startswith("nutpie==") for p in pins)


def test_lock_pins_everything_with_hashes():
    lock = (ROOT / "requirements.lock").read_text()
    lines = lock.splitlines()
    pins = [i for i, line in enumerate(lines) if "==" in line and not line.startswith("#")]
    assert len(pins) > 50
    for i in pins:  # every pin is followed by at least one hash
        assert lines[i].endswith("\\") and "--hash=sha256:" in lines[i + 1], lines[i]


def test_setup_says_what_to_install_when_no_suitable_python(tmp_path):
    import subprocess

    run = subprocess.run(
        ["/bin/bash", str(ROOT / "envs" / "make_venv.sh"), str(tmp_path / "venv")],
        env={"PATH": str(tmp_path), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path)},
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 1
    assert "needs Python 3.12 or newer" in run.stderr and "pyenv install 3.12" in run.stderr
    assert not (tmp_path / "venv").exists()
