"""cloudbuild.yaml and infra/ proven offline: every step runs with tools its image has, every gcloud
command parses with the real gcloud CLI, and what the code needs is created before the functions.

Each bash step is run by bash itself (substitutions applied as Cloud Build does) with a PATH that
holds only stand-ins for the tools its image declares: a tool the image lacks is "command not
found" and fails the step. The stand-ins record every gcloud command; each one is then given to the
real gcloud with a throwaway configuration and no account: argument parsing happens before
credentials are needed, so an unknown flag or a bad value fails (exit 2) and a parsed command stops
at "no active account" (exit 1), without touching the network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra"))

import firestore_deploy  # noqa: E402

CLOUDBUILD = ROOT / "cloudbuild.yaml"
GCLOUD = shutil.which("gcloud")

# What each builder image has on its PATH (declared here, checked by running the steps).
# google-cloud-cli: gcloud, and Debian's python3 WITHOUT the venv module (python3-venv is not installed).
IMAGE_TOOLS = {
    "gcr.io/google.com/cloudsdktool/google-cloud-cli": {"gcloud", "python3", "apt-get"},
    "python": {"python3", "pip"},
}
# Debian packages a step may apt-get install, and the tools they add.
PACKAGE_TOOLS = {"make": ["make"], "nginx": ["nginx"], "openjdk-17-jre-headless": ["java"],
                 "python3-venv": [], "google-cloud-cli-firestore-emulator": [],
                 "google-cloud-cli-pubsub-emulator": []}

STAND_IN = '''#!{python}
import json, os, sys
tool, args = os.path.basename(sys.argv[0]), sys.argv[1:]
shims = os.path.dirname(os.path.abspath(sys.argv[0]))
with open(os.environ["STEP_LOG"], "a") as log:
    log.write(json.dumps({{"tool": tool, "argv": args}}) + "\\n")
if tool == "apt-get" and "install" in args:
    for package in args:
        name = package.split("=")[0]
        for extra in {packages!r}.get(name, []):
            os.symlink(sys.argv[0], os.path.join(shims, extra))
        if name == "python3-venv":
            open(os.path.join(shims, ".venv-module"), "w").close()
if tool == "python3" and args[:2] == ["-m", "venv"] and not os.path.exists(os.path.join(shims, ".venv-module")):
    sys.exit("python3: No module named venv (this image has no python3-venv)")
if tool == "gcloud" and "describe" in args:
    sys.exit(1)  # "does not exist yet": the step's create branch runs too
if tool == "gcloud" and "list-subscriptions" in args:
    print("projects/acme-billing/subscriptions/eventarc-billing-sub")
'''


def cloudbuild() -> dict:
    return yaml.safe_load(CLOUDBUILD.read_text())


def rendered(text: str, subs: dict) -> str:
    """Cloud Build's substitution of ${_X}, ${PROJECT_ID}, ${PROJECT_NUMBER}; $$ stays a literal $."""
    import re

    subs = {**subs, "PROJECT_ID": "acme-billing", "PROJECT_NUMBER": "123456789"}
    for _ in range(3):
        text = re.sub(r"(?<!\$)\$\{(\w+)\}", lambda m: str(subs[m.group(1)]), text)
    return text.replace("$$", "$")


def image_of(step: dict, subs: dict) -> str:
    return rendered(step["name"], subs).rsplit(":", 1)[0]


def run_step(step: dict, subs: dict, work: Path) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """Run one step with stand-ins for its image's tools; returns bash's result and the tool calls."""
    shims = work / step["id"]
    shims.mkdir()
    stand_in = shims / ".stand-in"
    stand_in.write_text(STAND_IN.format(python=sys.executable, packages=PACKAGE_TOOLS))
    stand_in.chmod(0o755)
    for tool in IMAGE_TOOLS[image_of(step, subs)]:
        (shims / tool).symlink_to(stand_in)
    log = shims / ".log"
    env = {"PATH": str(shims), "STEP_LOG": str(log), "HOME": str(work)}
    args = [rendered(a, subs) for a in step["args"]]
    if step.get("entrypoint") == "bash":
        done = subprocess.run(["/bin/bash", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    else:
        done = subprocess.run([str(shims / step["entrypoint"]), *args], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return done, calls


@pytest.fixture(scope="module")
def steps(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, list[dict]]]:
    build = cloudbuild()
    work = tmp_path_factory.mktemp("cloudbuild")
    return {s["id"]: run_step(s, build["substitutions"], work) for s in build["steps"]}


def test_every_step_runs_with_the_tools_its_image_has(steps):
    build = cloudbuild()
    for s in build["steps"]:
        assert image_of(s, build["substitutions"]) in IMAGE_TOOLS, (s["id"], "an image this test does not know")
        done, calls = steps[s["id"]]
        assert done.returncode == 0, (s["id"], done.stderr[-2000:])
        assert calls, s["id"]  # it ran something
    # The Scheduler step pip-installs its client in the Python image (not a venv in the gcloud image).
    tools = [c["tool"] for c in steps["scheduler-and-topics"][1]]
    assert tools == ["pip", "python3"]


def test_a_venv_in_the_gcloud_image_would_fail(tmp_path):
    step = {"id": "bad", "name": "gcr.io/google.com/cloudsdktool/google-cloud-cli:528.0.0", "entrypoint": "bash",
            "args": ["-ceu", "python3 -m venv /tmp/v && /tmp/v/bin/pip install google-cloud-scheduler"]}
    done, _ = run_step(step, {}, tmp_path)
    assert done.returncode != 0 and "no python3-venv" in done.stderr
    step["args"] = ["-ceu", "curl -s https://example.com"]
    done, _ = run_step({**step, "id": "bad2"}, {}, tmp_path)
    assert done.returncode == 127  # curl is not declared for the gcloud image


def _gcloud_commands(steps) -> list[list[str]]:
    commands = [["gcloud", *c["argv"]] for _, calls in steps.values() for c in calls if c["tool"] == "gcloud"]
    return commands + firestore_deploy.all_commands("acme-billing")


def _parse(argv: list[str], config: Path) -> tuple[list[str], int, str]:
    env = {**os.environ, "CLOUDSDK_CONFIG": str(config), "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
           "CLOUDSDK_CORE_PROJECT": "acme-billing", "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1",
           "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "1", "CLOUDSDK_CORE_ACCOUNT": ""}
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"):
        env.pop(name, None)
    args = argv[1:] if "--quiet" in argv else [*argv[1:], "--quiet"]
    done = subprocess.run([GCLOUD, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    return argv, done.returncode, done.stderr


@pytest.mark.skipif(GCLOUD is None, reason="the Google Cloud CLI is a prerequisite (README)")
def test_every_gcloud_command_parses_with_the_real_cli(steps, tmp_path):
    commands = _gcloud_commands(steps)
    assert len(commands) > 30
    configs = [tmp_path / f"gcloud-{i}" for i in range(2)]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda ic: _parse(ic[1], configs[ic[0] % 2]), enumerate(commands)))
    refused = [(" ".join(argv), rc, err.strip()[:400]) for argv, rc, err in results
               if not (rc == 1 and "active account" in err)]
    assert refused == []
    print(f"{len(commands)} gcloud commands parsed")


@pytest.mark.skipif(GCLOUD is None, reason="the Google Cloud CLI is a prerequisite (README)")
def test_the_parse_check_catches_an_unknown_flag(tmp_path):
    _, rc, err = _parse(["gcloud", "functions", "deploy", "billing-http", "--gen2", "--retries"], tmp_path)
    assert rc == 2 and "unrecognized arguments" in err


def _after(build: dict, step_id: str) -> set[str]:
    """Every step `step_id` waits for, transitively (no waitFor: every earlier step)."""
    ids = [s["id"] for s in build["steps"]]
    by_id = {s["id"]: s for s in build["steps"]}
    direct = by_id[step_id].get("waitFor", ids[:ids.index(step_id)])
    seen: set[str] = set()
    for dep in direct:
        if dep != "-" and dep not in seen:
            seen |= {dep} | _after(build, dep)
    return seen


def test_what_the_code_needs_exists_before_any_function_is_deployed(steps):
    build = cloudbuild()
    for s in build["steps"]:
        if s["id"].startswith("deploy-"):
            assert {"test", "apis", "firestore", "buckets", "iam", "stage"} <= _after(build, s["id"]), s["id"]
    firestore = " ".join(c["argv"][0] for c in steps["firestore"][1] if c["tool"] == "python3")
    assert firestore.count("infra/firestore_deploy.py") == 3
    ran = " ".join(" ".join(c["argv"]) for c in steps["firestore"][1])
    assert "indexes" in ran and "rules" in ran and "protect" in ran
    indexes = json.loads((ROOT / "firestore.indexes.json").read_text())["indexes"]
    assert len(firestore_deploy.index_commands("p")) == len(indexes)
    buckets = " ".join(" ".join(c["argv"]) for c in steps["buckets"][1])
    assert "--retention-period=8y" in buckets and "--lifecycle-file=infra/bucket-lifecycle.json" in buckets
    apis = " ".join(" ".join(c["argv"]) for c in steps["apis"][1])
    for api in ("iamcredentials", "eventarc", "run", "cloudscheduler", "secretmanager", "artifactregistry",
                "firestore", "firebaserules"):
        assert f"{api}.googleapis.com" in apis


def test_functions_create_and_read_issued_files_but_never_delete_them(steps):
    build = cloudbuild()
    grants = [c["argv"] for c in steps["iam"][1] if c["tool"] == "gcloud" and "buckets" in c["argv"]]
    final = f"gs://{rendered(build['substitutions']['_BUCKET'], build['substitutions'])}"
    roles = {a.split("=", 1)[1] for g in grants if final in g for a in g if a.startswith("--role=")}
    assert roles == {"roles/storage.objectCreator", "roles/storage.objectViewer"}
    for s in build["steps"]:
        if s["id"].startswith("deploy-"):
            args = [rendered(a, build["substitutions"]) for a in s["args"]]
            assert any(a.startswith("--build-service-account=") for a in args), s["id"]
            if "--trigger-http" not in args:
                assert "--retry" in args, s["id"]  # a raised error must be retried
            env = next(a for a in args if a.startswith("--set-env-vars="))
            assert "BILLING_STAGING_BUCKET=" in env, s["id"]


def test_iam_bindings_retry_while_new_accounts_propagate(steps):
    build = cloudbuild()
    for step_id in ("iam", "event-bindings"):
        script = [s for s in build["steps"] if s["id"] == step_id][0]["args"][-1]
        for line in script.splitlines():
            if "add-iam-policy-binding" in line and "retry" not in line and "()" not in line:
                raise AssertionError(f"{step_id}: binding without retry: {line.strip()}")
