"""Deploy what Firestore needs before the functions: composite indexes, security rules, protection.

Standard library only (it runs in the google-cloud-cli builder image, whose python3 has no venv),
driving the `gcloud` CLI; each part is idempotent.

    python3 infra/firestore_deploy.py indexes --project P [--wait 1200]   # create missing, wait READY
    python3 infra/firestore_deploy.py rules --project P                   # firestore.rules -> release
    python3 infra/firestore_deploy.py protect --project P                 # PITR + daily/weekly backups
    python3 infra/firestore_deploy.py print --project P                   # the gcloud commands, not run

Indexes: `gcloud firestore indexes composite create` per index of firestore.indexes.json (an index
that exists answers ALREADY_EXISTS: kept). The functions' queries fail with FAILED_PRECONDITION until
their index is READY, so `indexes` waits for it. Rules: gcloud has no rules command; the Firebase
Rules API is called with the build identity's token (a new ruleset, then the `cloud.firestore`
release pointed at it). Protect: point-in-time recovery (7 days of versions) and two backup
schedules: daily kept 7 days, weekly (Sunday) kept 14 weeks (Firestore's maximum).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INDEXES = ROOT / "firestore.indexes.json"
RULES = ROOT / "firestore.rules"
DATABASE = "(default)"
DAILY_RETENTION, WEEKLY_RETENTION, WEEKLY_DAY = "7d", "14w", "SUN"
RULES_API = "https://firebaserules.googleapis.com/v1"


def index_commands(project: str, indexes: dict | None = None) -> list[list[str]]:
    """One `gcloud firestore indexes composite create` per declared composite index."""
    declared = indexes if indexes is not None else json.loads(INDEXES.read_text())
    if declared.get("fieldOverrides"):
        raise SystemExit("fieldOverrides are not deployed by this script: add them here first")
    commands = []
    for index in declared["indexes"]:
        argv = ["gcloud", "firestore", "indexes", "composite", "create", f"--project={project}",
                f"--database={DATABASE}", f"--collection-group={index['collectionGroup']}",
                f"--query-scope={index.get('queryScope', 'COLLECTION').lower().replace('_', '-')}", "--async",
                "--quiet"]
        for field in index["fields"]:
            kind = (f"array-config={field['arrayConfig'].lower()}" if "arrayConfig" in field
                    else f"order={field['order'].lower()}")
            argv.append(f"--field-config=field-path={field['fieldPath']},{kind}")
        commands.append(argv)
    return commands


def list_indexes_command(project: str) -> list[str]:
    return ["gcloud", "firestore", "indexes", "composite", "list", f"--project={project}",
            f"--database={DATABASE}", "--format=json", "--quiet"]


def protect_commands(project: str) -> list[list[str]]:
    """Point-in-time recovery, then the two backup schedules (created only when missing: see main)."""
    base = [f"--project={project}", f"--database={DATABASE}", "--quiet"]
    return [
        ["gcloud", "firestore", "databases", "update", "--enable-pitr", *base],
        ["gcloud", "firestore", "backups", "schedules", "create", "--recurrence=daily",
         f"--retention={DAILY_RETENTION}", *base],
        ["gcloud", "firestore", "backups", "schedules", "create", "--recurrence=weekly",
         f"--day-of-week={WEEKLY_DAY}", f"--retention={WEEKLY_RETENTION}", *base],
    ]


def list_schedules_command(project: str) -> list[str]:
    return ["gcloud", "firestore", "backups", "schedules", "list", f"--project={project}",
            f"--database={DATABASE}", "--format=json", "--quiet"]


def token_command() -> list[str]:
    return ["gcloud", "auth", "print-access-token", "--quiet"]


def all_commands(project: str) -> list[list[str]]:
    """Every gcloud command this script may run (the offline parsing test checks each)."""
    return [*index_commands(project), list_indexes_command(project), *protect_commands(project),
            list_schedules_command(project), token_command()]


def _run(argv: list[str], ok_if: tuple[str, ...] = ()) -> str:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode and not any(text in done.stderr for text in ok_if):
        sys.stderr.write(done.stderr)
        raise SystemExit(f"failed: {' '.join(argv)}")
    return done.stdout


def _key(fields: list[dict]) -> tuple:
    return tuple((f["fieldPath"], f.get("order") or f.get("arrayConfig")) for f in fields if f["fieldPath"] != "__name__")


def deploy_indexes(project: str, wait_seconds: int) -> None:
    for argv in index_commands(project):
        _run(argv, ok_if=("ALREADY_EXISTS", "already exists"))
    declared = {(ix["collectionGroup"], _key(ix["fields"])) for ix in json.loads(INDEXES.read_text())["indexes"]}
    deadline = time.monotonic() + wait_seconds
    while True:
        listed = json.loads(_run(list_indexes_command(project)) or "[]")
        states = {(ix["name"].split("/collectionGroups/")[1].split("/")[0], _key(ix["fields"])): ix.get("state")
                  for ix in listed}
        building = sorted(str(k) for k in declared if states.get(k) != "READY")
        if not building:
            print(f"indexes: {len(declared)} declared, all READY")
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"indexes still building after {wait_seconds} s: {building}")
        print(f"indexes: waiting for {len(building)} to be READY")
        time.sleep(20)


def _api(method: str, url: str, token: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read() or b"{}")


def ruleset_body(source: str) -> dict:
    return {"source": {"files": [{"name": "firestore.rules", "content": source}]}}


def deploy_rules(project: str) -> None:
    token = _run(token_command()).strip()
    ruleset = _api("POST", f"{RULES_API}/projects/{project}/rulesets", token, ruleset_body(RULES.read_text()))
    release = {"name": f"projects/{project}/releases/cloud.firestore", "rulesetName": ruleset["name"]}
    try:
        _api("PATCH", f"{RULES_API}/{release['name']}", token, {"release": release})
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise
        _api("POST", f"{RULES_API}/projects/{project}/releases", token, release)
    print(f"rules: cloud.firestore -> {ruleset['name']}")


def protect(project: str) -> None:
    pitr, daily, weekly = protect_commands(project)
    _run(pitr)
    schedules = json.loads(_run(list_schedules_command(project)) or "[]")
    if not any("dailyRecurrence" in s for s in schedules):
        _run(daily)
    if not any("weeklyRecurrence" in s for s in schedules):
        _run(weekly)
    print("firestore: point-in-time recovery on; daily (7 d) and weekly (14 w) backup schedules")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["indexes", "rules", "protect", "print"])
    parser.add_argument("--project", required=True)
    parser.add_argument("--wait", type=int, default=1200, help="seconds to wait for indexes to be READY")
    args = parser.parse_args(argv)
    if args.action == "print":
        for command in all_commands(args.project):
            print(" ".join(command))
    elif args.action == "indexes":
        deploy_indexes(args.project, args.wait)
    elif args.action == "rules":
        deploy_rules(args.project)
    else:
        protect(args.project)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
