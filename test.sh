#!/usr/bin/env bash
# The one test command: ./test.sh [pytest arguments...]
#
# 1. Creates .venv with the `test` extra on first use (re-installs when pyproject.toml changes),
#    unless SMART_EXAM_NO_VENV=1 or a virtual environment is already active.
# 2. Runs the WHOLE suite (unit, integration on SQLite + PostgreSQL, API, browser) inside a
#    private network namespace that has only loopback (`unshare -n`, then `ip link set lo up`),
#    so no packet (mDNS, ICE, ...) leaves the machine.
#    Root: `unshare -n`. Other users: a user namespace mapping the current user (`--keep-caps`).
#    If no namespace can be made: a warning and plain pytest locally; with CI=true: failure.
# Exits with pytest's exit code.
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
cd "$here"

say() { printf 'test.sh: %s\n' "$*" >&2; }

in_venv() { python3 -c 'import sys; sys.exit(0 if sys.prefix != sys.base_prefix else 1)' 2>/dev/null; }

if [[ "${SMART_EXAM_NO_VENV:-}" == "1" ]] || in_venv; then
  python="$(command -v python3)"
else
  if [[ ! -x .venv/bin/python ]]; then
    say "creating .venv"
    python3 -m venv .venv
  fi
  if [[ ! -f .venv/.smart-exam-installed || pyproject.toml -nt .venv/.smart-exam-installed ]]; then
    say "installing the package with the test extra into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[test]'
    touch .venv/.smart-exam-installed
  fi
  python="$here/.venv/bin/python"
fi

# The command run inside the namespace: bring loopback up, then become pytest.
inner='ip link set lo up && exec "$0" -m pytest "$@"'

namespace=()
if command -v unshare >/dev/null && command -v ip >/dev/null; then
  if [[ "$(id -u)" == "0" ]]; then
    candidates=("unshare -n" "unshare --user --map-current-user --keep-caps --net")
  else
    candidates=("unshare --user --map-current-user --keep-caps --net")
  fi
  for candidate in "${candidates[@]}"; do
    read -r -a cmd <<<"$candidate"
    if "${cmd[@]}" sh -c 'ip link set lo up' >/dev/null 2>&1; then
      namespace=("${cmd[@]}")
      break
    fi
  done
fi

if [[ ${#namespace[@]} -gt 0 ]]; then
  exec "${namespace[@]}" sh -c "$inner" "$python" "$@"
fi

if [[ "${CI:-}" == "true" ]]; then
  say "ERROR: cannot create a loopback-only network namespace (need unshare + ip, and root or"
  say "unprivileged user namespaces); CI=true requires it."
  exit 2
fi
say "WARNING: no private network namespace (unshare/ip missing or not permitted);"
say "WARNING: running pytest on the host network. Browser/WebRTC tests still target 127.0.0.1."
exec "$python" -m pytest "$@"
