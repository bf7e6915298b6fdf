"""Headless Chromium for the tests: Debian's /usr/bin/chromium driven by Playwright.

Without a browser the browser tests skip with a message, unless GRADER_REQUIRE_BROWSER=1 (set by
.ci/run), which turns the skip into a failure so that CI really runs them.
"""

import contextlib
import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def require_browser():
    """Skip (or fail, in CI) when Chromium or Playwright is missing."""
    reason = None
    if not os.path.exists(CHROMIUM):
        reason = "Debian's chromium is not installed (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright package is not installed"
    if reason:
        if os.environ.get("GRADER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests must run here (GRADER_REQUIRE_BROWSER=1), but {reason}")
        pytest.skip(f"browser tests skipped: {reason}")


@contextlib.contextmanager
def chromium():
    """A launched headless Chromium (Playwright Browser)."""
    require_browser()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def watched_page(browser):
    """A new page that records console errors, page errors and failed requests in page.problems."""
    page = browser.new_page()
    page.problems = []
    page.on("console", lambda message: message.type == "error" and page.problems.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: page.problems.append(f"request failed: {request.url}"))
    return page


# What every payload of tests/adversarial/adv_markup_* sets when it runs: window.__xss, in the page
# or in any frame it made.
XSS_MARKERS = """() => {
    const found = [];
    const look = (w, where) => { try { if (w.__xss !== undefined) found.push(where + ': ' + w.__xss); } catch (e) {} };
    look(window, 'page');
    document.querySelectorAll('iframe').forEach((frame, i) => look(frame.contentWindow, 'iframe ' + i));
    return found;
}"""


@contextlib.contextmanager
def jupyter_lab(root_dir, home, token, cwd=None):
    """A JupyterLab server on a free loopback port with a token, its app exposed to the page.

    root_dir -- what it serves; home -- its HOME and settings (a fresh folder); cwd -- where it
    starts (its nbgrader_config.py there applies; default: home)
    yields: the server's base URL
    """
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    require_browser()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bin_dir = os.path.dirname(sys.executable)
    env = {**os.environ, "HOME": str(home), "JUPYTERLAB_SETTINGS_DIR": os.path.join(home, ".settings"),
           "JUPYTERLAB_WORKSPACES_DIR": os.path.join(home, ".workspaces"), "PATH": bin_dir + os.pathsep + os.environ["PATH"]}
    log = open(os.path.join(home, "server.log"), "w")
    server = subprocess.Popen(
        [os.path.join(bin_dir, "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}", "--LabApp.expose_app_in_browser=True",
         "--allow-root", "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=cwd or home, env=env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(open(os.path.join(home, "server.log")).read()[-3000:]) from None
                time.sleep(0.5)
        yield url, server
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
