#!/usr/bin/env bash
# Install or upgrade the billing service on a droplet (Ubuntu 22.04 or 24.04), as root, from a checkout:
#
#   git clone <repo> /srv/billing-src && cd /srv/billing-src && git checkout <tag>
#   sudo infra/droplet/install.sh
#
# It is idempotent: run it again after `git pull` (upgrade) or `git checkout <older tag>` (rollback).
# What it does (docs/operations.md has the whole procedure):
#   - apt packages: Python >= 3.11 with venv (python3.11 from the universe archive on 22.04,
#     the system python3 on 24.04), supervisor, nginx, cron, logrotate; no Java, no Google Cloud CLI
#   - the system user `billing`
#   - /opt/billing: a copy of this checkout (root-owned, read-only to the service) and its venv
#     /opt/billing/.venv with the runtime dependencies and the CLI's (`pip install '.[cli]'`)
#   - /var/log/billing (owned by billing), /etc/billing/env from env.example on the first install
#     (never overwritten; a fresh link-signing key is generated into it)
#   - supervisor program billing-http, nginx snippets, /etc/cron.d/billing, /etc/logrotate.d/billing
#   - restarts billing-http and reloads nginx when they run
#
# For tests (and packaging), every path can be put under a throwaway root:
#   BILLING_DESTDIR=/tmp/root   prefix for every path written (files still name /opt/billing etc.)
#   BILLING_INSTALL_SYSTEM=0    skip what needs a real system: apt-get, useradd, chown, supervisorctl,
#                               nginx reload (and the root check)
#   BILLING_PYTHON=/usr/bin/python3.11   the interpreter for the venv (default: found or installed)
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DESTDIR=${BILLING_DESTDIR:-}
SYSTEM=${BILLING_INSTALL_SYSTEM:-1}
PYTHON=${BILLING_PYTHON:-}
SERVICE_USER=billing
APP=/opt/billing
ETC=/etc/billing
LOGS=/var/log/billing

say() { printf '== %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
system() { [ "$SYSTEM" = 1 ]; }

if system && [ "$(id -u)" != 0 ]; then
    echo "run as root (sudo $0), or set BILLING_INSTALL_SYSTEM=0 with BILLING_DESTDIR for a throwaway root" >&2
    exit 1
fi

python_ok() { # usable: >= 3.11 and able to create a venv with pip
    "$1" -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

find_python() {
    local candidate
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null && python_ok "$(command -v "$candidate")"; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if system; then
    say "apt packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    packages=(supervisor nginx cron logrotate ca-certificates)
    if [ -z "$PYTHON" ] && ! find_python >/dev/null; then
        if python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            packages+=(python3-venv)                # 24.04: python3 is 3.12, venv is a separate package
        else
            packages+=(python3.11 python3.11-venv)  # 22.04: python3 is 3.10; 3.11 is in universe
        fi
    fi
    apt-get install -y -q --no-install-recommends "${packages[@]}" || {
        echo "apt-get could not install ${packages[*]}; on Ubuntu 22.04 python3.11 needs the universe" \
             "component: add-apt-repository universe && apt-get update, then run this again" >&2
        exit 1
    }
    systemctl enable --now supervisor nginx cron 2>/dev/null || true  # no systemd (a container): started below or by hand
fi

if [ -z "$PYTHON" ]; then
    PYTHON=$(find_python) || {
        echo "no Python >= 3.11 with venv found: apt-get install python3.11 python3.11-venv" >&2
        exit 1
    }
fi
python_ok "$PYTHON" || { echo "$PYTHON is not Python >= 3.11 with venv" >&2; exit 1; }
say "python: $PYTHON ($("$PYTHON" -c 'import platform; print(platform.python_version())'))"

if system && ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    say "user $SERVICE_USER"
    useradd --system --user-group --home-dir "$APP" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
fi

say "code in $DESTDIR$APP"
mkdir -p "$DESTDIR$APP"
if [ "$(cd "$DESTDIR$APP" && pwd -P)" != "$(cd "$SRC" && pwd -P)" ]; then
    # Replace the previous copy entirely (a module deleted upstream must not linger), keep the venv.
    find "$DESTDIR$APP" -mindepth 1 -maxdepth 1 ! -name .venv -exec rm -rf {} +
    tar -C "$SRC" --exclude=./.git --exclude=./.venv --exclude=./.stack --exclude=./out --exclude=./build \
        --exclude=./bench-results --exclude='*.egg-info' --exclude=__pycache__ --exclude=.pytest_cache \
        --exclude=.mypy_cache --exclude=.hypothesis -cf - . | tar -C "$DESTDIR$APP" -xf -
fi

say "venv $DESTDIR$APP/.venv"
venv_python="$DESTDIR$APP/.venv/bin/python"
if [ -x "$venv_python" ] && [ "$("$venv_python" -c 'import sys; print(sys.version_info[:2])')" != \
                               "$("$PYTHON" -c 'import sys; print(sys.version_info[:2])')" ]; then
    rm -rf "$DESTDIR$APP/.venv"  # another Python: rebuild rather than mix
fi
[ -x "$venv_python" ] || "$PYTHON" -m venv "$DESTDIR$APP/.venv"
# The runtime dependencies (pinned in pyproject.toml) and the `cli` extra the `billing` command
# imports (its progress bar): no test, deploy or emulator tooling.
"$venv_python" -m pip install --quiet --disable-pip-version-check "$DESTDIR$APP[cli]"
"$DESTDIR$APP/.venv/bin/billing" --help >/dev/null

say "directories, environment file"
install -d -m 0750 "$DESTDIR$LOGS"
install -d -m 0750 "$DESTDIR$ETC"
if [ ! -e "$DESTDIR$ETC/env" ]; then
    key=$("$PYTHON" -c 'import secrets; print(secrets.token_hex(32))')
    sed "s/^BILLING_LINK_SIGNING_KEY=.*/BILLING_LINK_SIGNING_KEY=$key/" "$SRC/infra/droplet/env.example" \
        > "$DESTDIR$ETC/env"
    chmod 0640 "$DESTDIR$ETC/env"
    say "created $ETC/env from env.example: edit it (project, bucket, keys, SMTP) before the first run"
else
    say "kept the existing $ETC/env"
fi

say "supervisor, nginx, cron, logrotate"
install -D -m 0644 "$SRC/infra/droplet/supervisor-billing.conf" "$DESTDIR/etc/supervisor/conf.d/billing.conf"
install -D -m 0644 "$SRC/infra/droplet/nginx-billing-ratelimit.conf" "$DESTDIR/etc/nginx/conf.d/billing-ratelimit.conf"
install -D -m 0644 "$SRC/infra/droplet/nginx-billing-api.conf" "$DESTDIR/etc/nginx/snippets/billing-api.conf"
install -D -m 0644 "$SRC/infra/droplet/billing.cron" "$DESTDIR/etc/cron.d/billing"
install -D -m 0644 "$SRC/infra/droplet/logrotate-billing.conf" "$DESTDIR/etc/logrotate.d/billing"

if system; then
    chown -R root:root "$APP"
    chown "$SERVICE_USER:$SERVICE_USER" "$LOGS"
    chown "root:$SERVICE_USER" "$ETC" "$ETC/env"
    if [ -e "$ETC/service-account.json" ]; then
        chown "root:$SERVICE_USER" "$ETC/service-account.json"
        chmod 0640 "$ETC/service-account.json"
    else
        warn "$ETC/service-account.json is missing: copy the service account's key there (docs/operations.md)"
    fi
    if grep -q 'change-me\|your-project' "$ETC/env"; then
        warn "$ETC/env still has placeholders (change-me, your-project): edit it, then: supervisorctl restart billing-http"
    fi
    if nginx -t 2>/dev/null; then
        systemctl reload nginx 2>/dev/null || nginx -s reload || warn "nginx did not reload"
    else
        warn "nginx -t fails: fix the configuration, then reload nginx"
    fi
    grep -rqs 'snippets/billing-api.conf' /etc/nginx/sites-enabled/ /etc/nginx/conf.d/ ||
        warn "add 'include snippets/billing-api.conf;' inside your site's server { } block, then reload nginx"
    if supervisorctl status >/dev/null 2>&1 || [ "$?" = 3 ]; then  # 3: running, some program not RUNNING
        supervisorctl reread
        supervisorctl update
        supervisorctl restart billing-http || warn "billing-http did not start: tail $LOGS/http.log"
    else
        warn "supervisord is not running: systemctl enable --now supervisor"
    fi
fi
say "done: $("$DESTDIR$APP/.venv/bin/python" -c 'import importlib.metadata as m; print("billing", m.version("billing"))')"
