#!/usr/bin/env bash
# cron and operators run the CLI through this, with the same environment as the HTTP function.
set -euo pipefail
set -a; . /etc/billing/env; set +a
cd /opt/billing
exec /opt/billing/.venv/bin/billing "$@"
