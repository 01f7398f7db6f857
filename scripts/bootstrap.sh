# Sourced by the other scripts: make sure .venv exists and holds what pyproject.toml asks for.
# PUBLISHER_EXTRAS (set by the calling script) names the extras it needs, comma-separated:
# ./scripts/preview needs none (the lean install: no argostranslate, torch, Stanza or spaCy),
# ./scripts/test needs "dev,argos" (pytest, and argostranslate so that both argos engines are tested).
# Re-installs only when pyproject.toml changed since the last install or an extra is missing;
# the stamp file records the pyproject.toml hash and the extras installed.
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
HAVE_HASH=""
HAVE_EXTRAS=""
if [ -f "$STAMP" ]; then
    read -r HAVE_HASH HAVE_EXTRAS < "$STAMP" || true
fi
# The extras wanted now, plus those installed before (a re-install keeps them).
ALL_EXTRAS="$(printf '%s\n' ${PUBLISHER_EXTRAS:-} ${HAVE_EXTRAS:-} | tr ',' '\n' | sed '/^$/d' | sort -u | paste -sd, -)"
MISSING=""
for extra in $(printf '%s' "${PUBLISHER_EXTRAS:-}" | tr ',' ' '); do
    case ",$HAVE_EXTRAS," in *",$extra,"*) ;; *) MISSING="$MISSING $extra" ;; esac
done
if [ "$HAVE_HASH" != "$WANT" ] || [ -n "$MISSING" ]; then
    SPEC="$ROOT"
    if [ -n "$ALL_EXTRAS" ]; then SPEC="$ROOT[$ALL_EXTRAS]"; fi
    echo "setup: installing publisher${ALL_EXTRAS:+ [$ALL_EXTRAS]} and its dependencies into $VENV (the first time takes a few minutes)" >&2
    if ! "$VENV/bin/python" -m pip install --quiet -e "$SPEC" > "$VENV/pip-install.log" 2>&1; then
        grep -v -e "^WARNING: Location" "$VENV/pip-install.log" >&2
        echo "setup: pip install failed (full log: $VENV/pip-install.log)" >&2
        exit 1
    fi
    echo "$WANT $ALL_EXTRAS" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
