#!/usr/bin/env bash
# supervisor runs this: load the environment (secrets included) and serve the HTTP function on :8000.
set -euo pipefail
set -a; . /etc/billing/env; set +a
cd /opt/billing
exec /opt/billing/.venv/bin/functions-framework --source /opt/billing/functions/main.py \
  --target billing_http --host 127.0.0.1 --port 8000
