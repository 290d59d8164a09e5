#!/usr/bin/env bash
# Generated clients work unmodified: openapi-python-client and openapi-typescript take the spec
# the server publishes without a single warning (a warning there is an operation or a type a
# brand's client doesn't get), and the generated Python client runs a postback round trip
# against the real binary (.ci/clients_smoke.py).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

WORK=$(mktemp -d)
DATA="$WORK/data"
mkdir "$DATA"
PID=
# Wait for the server to stop before removing its dir (it writes there while it stops).
trap 'if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

# Output of a generator, less the lines it prints on a clean run; anything left fails.
fail_on_output() {
  local what=$1 log=$2 allowed=$3
  local rest
  rest=$(grep -Ev "$allowed" "$log" | grep -v '^[[:space:]]*$' || true)
  if [ -n "$rest" ]; then
    echo "$what printed warnings:" >&2
    cat "$log" >&2
    exit 1
  fi
}

echo "-- tools"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --disable-pip-version-check "openapi-python-client==0.29.*"
if ! command -v npm >/dev/null && command -v apt-get >/dev/null; then
  # Only when missing: a NodeSource nodejs ships npm and conflicts with Debian's npm.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
mkdir "$WORK/ts"
npm install --prefix "$WORK/ts" --silent --no-audit --no-fund --no-save "openapi-typescript@7" >/dev/null

echo "-- server"
cargo build --locked -q
BIN=${CARGO_TARGET_DIR:-target}/debug/trcker
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --addr "127.0.0.1:$PORT" --data-dir "$DATA" >"$WORK/server.log" 2>&1 &
PID=$!
KEY=$("$BIN" keys create --brand "Clients Brand" --name clients --data-dir "$DATA" 2>/dev/null | tail -n1)
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 50); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.1; done
curl -fsS "$BASE/api/v1/openapi.json" -o "$WORK/openapi.json"

echo "-- openapi-python-client"
# Its ruff hooks run from the venv (the generated code is formatted, and no "ruff is not in PATH").
(cd "$WORK" && PATH="$WORK/venv/bin:$PATH" openapi-python-client generate \
  --path openapi.json --output-path trcker_client --meta none) >"$WORK/python.log" 2>&1 || {
  cat "$WORK/python.log" >&2
  exit 1
}
fail_on_output openapi-python-client "$WORK/python.log" '^Generating trcker_client$'
for op in offers/create_offer partners/create_partner conversions/create_conversion; do
  test -f "$WORK/trcker_client/api/$op.py" || { echo "no $op in the Python client" >&2; exit 1; }
done

echo "-- openapi-typescript"
"$WORK/ts/node_modules/.bin/openapi-typescript" "$WORK/openapi.json" -o "$WORK/trcker.d.ts" \
  >"$WORK/ts.log" 2>&1 || {
  cat "$WORK/ts.log" >&2
  exit 1
}
fail_on_output openapi-typescript "$WORK/ts.log" '^✨ openapi-typescript [0-9.]+$|^🚀 .*openapi\.json → .*trcker\.d\.ts \[[0-9.]+m?s\]$'
if grep -n '& unknown' "$WORK/trcker.d.ts" >&2; then
  echo "openapi-typescript typed a field as X & unknown" >&2
  exit 1
fi

echo "-- the Python client against the server"
PYTHONPATH="$WORK" "$WORK/venv/bin/python" "$ROOT/.ci/clients_smoke.py" "$BASE" "$KEY"
