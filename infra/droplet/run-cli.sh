#!/usr/bin/env bash
# cron and operators run the CLI through this, with the same environment as the HTTP function.
# The install lives two levels up (/opt/billing); BILLING_ENV_FILE overrides /etc/billing/env.
set -euo pipefail
app=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
set -a; . "${BILLING_ENV_FILE:-/etc/billing/env}"; set +a
cd "$app"
exec "$app/.venv/bin/billing" "$@"
