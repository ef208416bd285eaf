"""Test helpers that drive a real headless Chromium (Debian's chromium package)."""
