#!/usr/bin/env bash
# Make sure Debian's headless-capable Chromium is installed; print the path of its binary.
# Idempotent: does nothing (but print the path) when `chromium` is already on PATH.
# Usage: bash tests/browser/chromium.sh
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    # apt-get needs root; use sudo when run as a normal user.
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo=(sudo --preserve-env=DEBIAN_FRONTEND)
    fi
    # apt's own output goes to stderr: stdout carries only the path.
    # Refresh the package lists only when apt knows no installable chromium yet
    # (a fresh machine or container ships with empty lists).
    policy=$(apt-cache policy chromium 2>/dev/null || true)
    if [[ $policy != *"Candidate: "[0-9]* ]]; then
        "${sudo[@]}" apt-get update -q >&2
    fi
    # Stale lists can point at files the mirror no longer has: update once and retry.
    if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends chromium >&2; then
        "${sudo[@]}" apt-get update -q >&2
        "${sudo[@]}" apt-get install -y -q --no-install-recommends chromium >&2
    fi
fi

command -v chromium
