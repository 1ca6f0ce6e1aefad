#!/usr/bin/env bash
# Runs Smart Exam on the embedded default (SQLite + local disk under ./var) with demo users
# and a demo exam, and prints the URL and the logins. Extra args go to `smart-exam demo`.
set -euo pipefail
cd "$(dirname "$0")"
if [ -z "${VIRTUAL_ENV:-}" ] && [ "${SMART_EXAM_NO_VENV:-0}" != "1" ]; then
  if [ ! -x .venv/bin/smart-exam ]; then
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e .
  fi
  exec .venv/bin/smart-exam demo "$@"
fi
exec smart-exam demo "$@"
