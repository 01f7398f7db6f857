# Sourced by the other scripts: make sure .venv exists and holds what pyproject.toml asks for.
# Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PUBLISHER_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV" >&2
    "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.publisher-installed"
WANT="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "setup: installing publisher and its dependencies into $VENV (the first time takes a few minutes)" >&2
    if ! "$VENV/bin/python" -m pip install --quiet -e "$ROOT[dev]" > "$VENV/pip-install.log" 2>&1; then
        grep -v -e "^WARNING: Location" "$VENV/pip-install.log" >&2
        echo "setup: pip install failed (full log: $VENV/pip-install.log)" >&2
        exit 1
    fi
    echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
