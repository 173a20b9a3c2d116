"""Start the app (and the test OpenID provider) on loopback for browser tests and benchmarks.

``serve(env, log)`` runs ``streamlit run streamlit_app.py`` on a free port bound to 127.0.0.1
and yields the base URL once ``/_stcore/health`` answers. ``oidc_provider(...)`` installs the
npm package ``oidc-provider@9`` into a cache folder outside the repository (once) and runs
``tests/oidc/provider.mjs`` under Debian's nodejs. Both stop the processes they started.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OIDC_CACHE = Path(os.environ.get("DSMB_OIDC_CACHE") or Path.home() / ".cache" / "dsmb-oidc-provider")
OIDC_PACKAGE = "oidc-provider@9"

#: True once the page's script run is over: the app's own run state (``data-test-script-state``), not
#: only the "Running..." widget, which appears after a delay. A button clicked while the page still
#: runs may be one of the previous run's elements, whose deferred download the run already replaced.
SCRIPT_IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-testid="stStatusWidget"]');
}"""


class Unavailable(RuntimeError):
    """A tool the test needs is missing (the message says which and how to get it)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextlib.contextmanager
def serve(env: dict, log: Path, port: int | None = None, secrets: Path | None = None):
    """Yield ``http://127.0.0.1:PORT`` of a running app with ``env`` added to the environment."""
    port = port or free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.headless", "true",
            "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    if secrets is not None:
        args += ["--secrets.files", str(secrets)]
    full_env = {**os.environ, **{k: v for k, v in env.items() if v is not None}}
    for k, v in env.items():
        if v is None:
            full_env.pop(k, None)
    with open(log, "w") as fh:
        proc = subprocess.Popen(args, cwd=ROOT, env=full_env, stdout=fh, stderr=fh)
    try:
        _wait_http(f"http://127.0.0.1:{port}/_stcore/health", 90, proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


def install_oidc_provider() -> Path:
    """The folder holding ``node_modules/oidc-provider`` (installed with npm on first use)."""
    if not shutil.which("node") or not shutil.which("npm"):
        raise Unavailable("nodejs/npm are not installed (apt-get install nodejs npm; .ci/run does this)")
    if not (OIDC_CACHE / "node_modules" / "oidc-provider" / "package.json").exists():
        OIDC_CACHE.mkdir(parents=True, exist_ok=True)
        (OIDC_CACHE / "package.json").write_text(json.dumps({"name": "dsmb-test-oidc", "private": True,
                                                            "type": "module"}))
        try:
            done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", OIDC_PACKAGE], cwd=OIDC_CACHE,
                                  capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            raise Unavailable(f"npm install {OIDC_PACKAGE} took over 300 s (is the npm registry reachable?)") from None
        if done.returncode != 0:
            raise Unavailable(f"npm install {OIDC_PACKAGE} failed (is the npm registry reachable?): "
                              f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    shutil.copy(ROOT / "tests" / "oidc" / "provider.mjs", OIDC_CACHE / "provider.mjs")
    return OIDC_CACHE


@contextlib.contextmanager
def oidc_provider(app_port: int, groups: dict, log: Path):
    """Yield the issuer URL of a loopback OpenID provider whose users have ``groups`` (login -> list)."""
    folder = install_oidc_provider()
    port = free_port()
    env = {**os.environ, "OIDC_PORT": str(port), "OIDC_GROUPS": json.dumps(groups),
           "REDIRECT_URI": f"http://127.0.0.1:{app_port}/oauth2callback",
           "POST_LOGOUT_URI": f"http://127.0.0.1:{app_port}/"}
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        proc = subprocess.Popen(["node", "provider.mjs"], cwd=folder, env=env, stdout=fh, stderr=fh)
    try:
        issuer = f"http://127.0.0.1:{port}"
        _wait_http(issuer + "/.well-known/openid-configuration", 30, proc, log)
        yield issuer
    finally:
        _stop(proc)


def oidc_secrets(path: Path, app_port: int, issuer: str) -> Path:
    """Write a secrets.toml whose ``[auth]`` points st.login at ``issuer``."""
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{os.urandom(24).hex()}"\n'
        'client_id = "dsmb"\nclient_secret = "dsmb-test-secret"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
        'client_kwargs = { scope = "openid email profile groups", prompt = "login" }\n', encoding="utf-8")
    return path


def launch_chromium(playwright):
    """Debian's chromium, headless (never ``playwright install``)."""
    if not Path(CHROMIUM).exists():
        raise Unavailable("Debian chromium is not installed: apt-get install chromium")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
