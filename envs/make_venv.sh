#!/usr/bin/env bash
# Create .venv from requirements.lock with a Python >= 3.12 found on this machine.
# Called by `make`; nothing else needs to be installed by hand.
set -euo pipefail
venv=${1:-.venv}

suitable() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }

find_python() {
  local c
  for c in ${SESSIONMLM_PYTHON:-} python3.12 python3.13 python3.14 python3; do
    if command -v "$c" >/dev/null 2>&1 && suitable "$c"; then command -v "$c"; return; fi
  done
  # pyenv installs that are not the selected version are not on PATH: look for them directly.
  for c in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3 \
           "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[3-9]*/bin/python3; do
    if [ -x "$c" ] && suitable "$c"; then echo "$c"; return; fi
  done
  return 1
}

if ! python=$(find_python); then
  printf '%s\n' >&2 \
    "sessionmlm needs Python 3.12 or newer (PyMC 6, ArviZ 1.x and nutpie require it), and none" \
    "was found on PATH or under ~/.pyenv/versions. Install one, then run the command again:" \
    "  pyenv install 3.12                            (with pyenv)" \
    "  apt-get install python3.12 python3.12-venv    (Debian/Ubuntu releases that ship it)" \
    "  uv python install 3.12                        (with uv)" \
    "or name an existing interpreter: SESSIONMLM_PYTHON=/path/to/python3.12 make demo"
  exit 1
fi

echo "sessionmlm: creating $venv with $python ($("$python" --version 2>&1))" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
echo "sessionmlm: environment ready in $venv" >&2
