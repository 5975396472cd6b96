"""Stage the deployable Cloud Functions folder: main.py + billing/ + templates/ + requirements.txt.

Cloud Functions uploads one folder with main.py and requirements.txt at its root; the sibling
shared/ would not be uploaded, so the package is copied in (symlinks are not reliable there).
requirements.txt is functions/requirements.lock: every transitive dependency pinned with its
hashes (`make lock` regenerates it with pip-compile), so the build's pip installs exactly what the
tests ran with or fails; staging refuses a lock that disagrees with pyproject.toml's pins.

    python infra/stage.py build/function
"""

from __future__ import annotations

import re
import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "functions" / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)==([^\s\\;]+)", re.M)
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
# Not on the functions' runtime path: demo seeding and the operator's console script.
PACKAGE_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "seed.py", "cli.py")


def runtime_requirements() -> list[str]:
    """The pinned runtime dependencies, exactly as pyproject.toml declares them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    unpinned = [d for d in deps if "==" not in d]
    if unpinned:
        raise SystemExit(f"refusing to stage unpinned dependencies: {unpinned}")
    return deps


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_requirements() -> str:
    """The hashed lock, checked: each of pyproject.toml's pins is locked at the same version."""
    text = LOCK.read_text()
    locked = {normalized(name): version for name, version in PIN.findall(text)}
    stale = [dep for dep in runtime_requirements()
             if locked.get(normalized(dep.split("==")[0])) != dep.split("==")[1]]
    if stale:
        raise SystemExit(f"{LOCK.relative_to(ROOT)} does not lock {stale}: run `make lock`")
    if text.count("--hash=sha256:") < len(locked):
        raise SystemExit(f"{LOCK.relative_to(ROOT)} lacks hashes: run `make lock`")
    return text


def stage(dest: Path) -> Path:
    dest = Path(dest).resolve()
    if dest == ROOT or ROOT in dest.parents and dest.name in ("shared", "functions", "templates"):
        raise SystemExit(f"refusing to stage into {dest}")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy2(ROOT / "functions" / "main.py", dest / "main.py")
    shutil.copytree(ROOT / "shared" / "billing", dest / "billing", ignore=PACKAGE_IGNORE)
    shutil.copytree(ROOT / "templates", dest / "templates", ignore=IGNORE)
    (dest / "requirements.txt").write_text(locked_requirements())
    (dest / ".gcloudignore").write_text("__pycache__/\n*.pyc\n")
    return dest


if __name__ == "__main__":
    target = stage(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "function"))
    print(f"staged {target}")
    for path in sorted(p for p in target.iterdir()):
        print(f"  {path.name}{'/' if path.is_dir() else ''}")
