#!/usr/bin/env bash
# End-to-end tests: a real daemon (fresh PostgreSQL database, temp data dir, free port)
# serving the built app, driven by Debian's chromium through playwright-core.
#
#   npm run e2e                       build, start a daemon, test, clean up
#   npm run screenshots               the same, writing the screenshots to docs/screenshots/
#   E2E_BASE_URL=http://host:port npm run e2e   test a daemon that is already running
#
# Screenshots go to a new temporary folder (its path is printed) unless --screenshots is
# given: a test run never changes the checkout. The build touches web/dist/.built, the
# marker ./papertrade uses to know dist/ is current, so the next start does not rebuild.
#
# Environment: PAPERTRADE_BIN (default ../.venv/bin/papertrade), PGHOST/PGPORT/PGUSER
# (default 127.0.0.1:5432 postgres), CHROMIUM_PATH (default /usr/bin/chromium),
# E2E_SKIP_BUILD=1 to reuse web/dist, E2E_SCREENSHOTS=folder for the screenshots.
set -euo pipefail

WEB="$(cd "$(dirname "$0")/.." && pwd)"
REPO="$(cd "$WEB/.." && pwd)"
cd "$WEB"

if [[ "${1:-}" == --screenshots ]]; then
  export E2E_SCREENSHOTS="$REPO/docs/screenshots"
elif [[ -n "${1:-}" ]]; then
  echo "usage: e2e/run.sh [--screenshots]" >&2; exit 2
fi
export E2E_SCREENSHOTS="${E2E_SCREENSHOTS:-$(mktemp -d /tmp/papertrade-screenshots.XXXXXX)}"
echo "screenshots: $E2E_SCREENSHOTS"

if [[ "${E2E_SKIP_BUILD:-}" != 1 ]]; then
  npm run build
  touch dist/.built
fi

DAEMON_PID=""
DB=""
TMP=""
cleanup() {
  local rc=$?
  if [[ -n "$DAEMON_PID" ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$DAEMON_PID" 2>/dev/null || true
  fi
  if [[ -n "$DB" ]]; then
    psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [[ -n "$TMP" ]]; then
    if [[ $rc -ne 0 && -f "$TMP/daemon.log" ]]; then
      echo "---- daemon log (last 80 lines) ----"; tail -n 80 "$TMP/daemon.log"
    fi
    rm -rf "$TMP"
  fi
  exit $rc
}
trap cleanup EXIT INT TERM

if [[ -z "${E2E_BASE_URL:-}" ]]; then
  export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
  BIN="${PAPERTRADE_BIN:-$REPO/.venv/bin/papertrade}"
  if [[ -x "$BIN" ]]; then CMD=("$BIN" run); else CMD=("$REPO/.venv/bin/python" -m daemon run); fi

  TMP="$(mktemp -d /tmp/papertrade-e2e.XXXXXX)"
  DB="papertrade_e2e_$$"
  psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -qc "CREATE DATABASE $DB" >/dev/null
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"

  echo "starting daemon on 127.0.0.1:$PORT (database $DB, data $TMP)"
  (
    cd "$REPO"
    PAPERTRADE_DATABASE_URL="postgresql://$PGUSER@$PGHOST:$PGPORT/$DB" \
    PAPERTRADE_DATA_DIR="$TMP/data" \
    PAPERTRADE_HTTP_PORT="$PORT" \
    PAPERTRADE_WEB_DIR="$WEB/dist" \
    exec "${CMD[@]}"
  ) >"$TMP/daemon.log" 2>&1 &
  DAEMON_PID=$!

  export E2E_BASE_URL="http://127.0.0.1:$PORT"
  # The season test makes its player an ADMIN in this database (no API does that).
  export E2E_DATABASE_URL="postgresql://$PGUSER@$PGHOST:$PGPORT/$DB"
  for i in $(seq 1 240); do
    if curl -fsS -o /dev/null "$E2E_BASE_URL/healthz" 2>/dev/null; then break; fi
    if ! kill -0 "$DAEMON_PID" 2>/dev/null; then echo "daemon exited before serving"; exit 1; fi
    sleep 0.5
    if [[ $i == 240 ]]; then echo "daemon did not answer /healthz within 120 s"; exit 1; fi
  done
  echo "daemon is up"
fi

node --test --test-concurrency=1 e2e/app.test.mjs
