#!/usr/bin/env bash
# Contract fuzzing: schemathesis against the spec the server publishes, with a valid key.
# Fails on any 5xx or any response that doesn't match the documented schema.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q --disable-pip-version-check "schemathesis>=4,<5" 2>&1 | grep -v "as the 'root' user" || true

cargo build --locked -q
BIN=target/debug/trcker
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --addr "127.0.0.1:$PORT" --data-dir "$DATA" --rate-limit 1000000 >"$DATA/server.log" 2>&1 &
PID=$!
# Wait for the server to stop before removing its dir: it still writes there while it stops
# (the unique window, a last checkpoint), and rm then failed with "Directory not empty".
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT

KEY=$("$BIN" keys create --brand "Fuzz Brand" --name schemathesis --data-dir "$DATA" 2>/dev/null | tail -n1)
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 50); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.1; done

# Some rows to find, so GET/PATCH by id reach their success paths too.
curl -fs -H "Authorization: Bearer $KEY" "$BASE/api/v1/offers" \
  -d '{"name":"Seed","destination_url":"https://shop.example.com/?c={click_id}","payout":1.5}' >/dev/null
curl -fs -H "Authorization: Bearer $KEY" "$BASE/api/v1/partners" \
  -d '{"name":"Seed","email":"seed@example.com"}' >/dev/null
curl -fs -H "Authorization: Bearer $KEY" "$BASE/api/v1/conversions" \
  -d '{"offer_id":1,"partner_id":1,"amount":10}' >/dev/null
curl -fs -H "Authorization: Bearer $KEY" "$BASE/api/v1/payout-rules" \
  -d '{"partner_id":1,"offer_id":1,"payout":2}' >/dev/null
curl -fs -H "Authorization: Bearer $KEY" "$BASE/api/v1/offers/1/caps" \
  -d '{"metric":"conversions","window":"day","limit":100000}' >/dev/null
curl -fs -H "Authorization: Bearer $KEY" "$BASE/api/v1/statements" \
  -d "{\"partner_id\":1,\"through\":\"$(date -u +%F)\"}" >/dev/null

# One worker: CPython 3.11's parser is not thread-safe here ("SystemError: AST constructor
# recursion depth mismatch" with two workers, seen twice on this spec); not an API failure.
schemathesis run "$BASE/api/v1/openapi.json" \
  --header "Authorization: Bearer $KEY" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-60}" \
  --seed 1 \
  --workers 1 \
  --no-color
