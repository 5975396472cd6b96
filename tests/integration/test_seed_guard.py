"""`billing seed-demo` writes only to an emulator, or to a real project named by --force --project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from billing.seed import seed_refusal

BILLING = str(Path(sys.executable).parent / "billing")
EMULATOR = {"FIRESTORE_EMULATOR_HOST": "127.0.0.1:8080"}


@pytest.mark.parametrize(
    "env, force, project, allowed",
    [
        (EMULATOR, False, None, True),
        (EMULATOR, True, "prod", True),
        (EMULATOR, False, "other", False),  # a --project that is not the target is a mistake anywhere
        ({}, False, None, False),  # real Firestore: the droplet's or a laptop with credentials
        ({}, True, None, False),
        ({}, False, "prod", False),
        ({}, True, "other", False),
        ({}, True, "prod", True),  # named twice: environment and command line
        ({"FIRESTORE_EMULATOR_HOST": ""}, False, None, False),
    ],
)
def test_seed_refusal(env, force, project, allowed):
    refusal = seed_refusal(env, force, project, "prod")
    assert (refusal is None) == allowed, refusal
    if refusal:
        assert "nothing written" in refusal


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("FIRESTORE_", "GOOGLE_", "BILLING_", "STORAGE_", "PUBSUB_"))}
    return subprocess.run([BILLING, *args], env={**base, **env}, capture_output=True, text=True, timeout=120)


def test_seed_demo_refuses_real_firestore_before_touching_it():
    """No emulator: exit 2 with the reason, before any client is built (no credentials here to find)."""
    result = _cli(["seed-demo"], {"GOOGLE_CLOUD_PROJECT": "billing-prod"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "refusing to seed demo data into project 'billing-prod'" in result.stderr
    assert "--force --project billing-prod" in result.stderr and result.stdout == ""
    wrong = _cli(["seed-demo", "--force", "--project", "billing-staging"], {"GOOGLE_CLOUD_PROJECT": "billing-prod"})
    assert wrong.returncode == 2 and "is not the configured project 'billing-prod'" in wrong.stderr


@pytest.mark.emulators
def test_seed_demo_writes_to_the_emulator_and_a_mismatched_project_writes_nothing(firestore_client,
                                                                                   firestore_project):
    env = {"GOOGLE_CLOUD_PROJECT": firestore_project,
           "FIRESTORE_EMULATOR_HOST": os.environ["FIRESTORE_EMULATOR_HOST"]}
    refused = _cli(["seed-demo", "--project", "someone-else"], env)
    assert refused.returncode == 2, refused.stderr
    assert not firestore_client.document("settings/billing").get().exists
    assert not list(firestore_client.collection("companies").limit(1).stream())

    seeded = _cli(["seed-demo"], env)
    assert seeded.returncode == 0, seeded.stderr
    assert firestore_client.document("settings/billing").get().to_dict()["invoicePrefix"] == "VX"
    assert {d.id for d in firestore_client.collection("companies").stream()} == {"vysedeck", "webxpress", "dcgpac"}
