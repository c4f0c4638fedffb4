#!/usr/bin/env bash
# The programs some tests need beyond the venv, installed from Debian's packages where
# missing: PostgreSQL (the database tests start a private cluster with its initdb) and
# Chromium (the test that opens the HTML report in a headless browser). `make test`
# runs this first; a test whose program is still missing fails, it is never skipped.
set -uo pipefail
missing=()
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ||
  missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ((${#missing[@]})); then
  echo "test services: installing ${missing[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
    echo "test services: could not install ${missing[*]}: their tests will fail" >&2
fi
exit 0
