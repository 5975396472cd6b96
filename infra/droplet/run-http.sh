#!/usr/bin/env bash
# supervisor runs this: load the environment (secrets included) and serve the HTTP function on :8000.
# The install lives two levels up (/opt/billing); BILLING_ENV_FILE overrides /etc/billing/env.
set -euo pipefail
app=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
set -a; . "${BILLING_ENV_FILE:-/etc/billing/env}"; set +a
cd "$app"
exec "$app/.venv/bin/functions-framework" --source "$app/functions/main.py" \
  --target billing_http --host 127.0.0.1 --port "${BILLING_HTTP_PORT:-8000}"
