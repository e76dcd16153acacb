"""The FreezePanel in a real JupyterLab, in headless Chromium: what a learner sees and clicks.

Opens notebooks/03_freezing.ipynb, runs all its cells (about a minute on 2 CPU cores), then
unticks a layer group and clicks "Head only", checking the read-out's exact numbers; then
starts "Train 1 epoch", stops it with the Kernel menu's "Interrupt Kernel" while it trains,
checks that the panel's status line reports the stop, and clicks "Reset".

Run only this: `pytest -m browser`; skip it: `pytest -m "not browser"`. Needs Debian's
`chromium` on PATH (`.ci/run` installs it) and PyPI's `playwright` (no browser download).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 90
RUN_ALL_TIMEOUT_MS = 600_000  # a minute on 2 idle cores; over 4 on 2 busy ones
STOP_TIMEOUT_MS = 60_000
NUMBER = re.compile(r"\d[\d,]*")


def chromium_binary() -> str:
    binary = shutil.which("chromium")
    if binary is None:
        message = "Debian's chromium is not on PATH: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGINT-free shutdown that cannot hang: terminate the group, then kill it."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


@pytest.fixture
def jupyter_lab(tmp_path):
    """A JupyterLab server on a free loopback port, no token, rooted at a copy of the
    notebooks: JupyterLab saves a notebook it runs, and the committed ones must stay as they are."""
    port = free_port()
    root = tmp_path / "course"
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        MPLBACKEND="module://matplotlib_inline.backend_inline",
    )
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
        "--IdentityProvider.token=", "--ServerApp.password=",
        f"--ServerApp.root_dir={root}", f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    log = open(tmp_path / "jupyter.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {(tmp_path / 'jupyter.log').read_text()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/api/status", timeout=2) as response,
            ):
                if response.status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_TIMEOUT_S} s")
            time.sleep(0.5)
        yield url
    finally:
        stop(server)
        log.close()


def launch_chromium(playwright):
    """Debian's Chromium, headless, with the flags this machine needs (no Playwright download)."""
    return playwright.chromium.launch(
        executable_path=chromium_binary(), headless=True, args=CHROMIUM_FLAGS, timeout=60_000
    )


@pytest.fixture
def browser_page(tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            yield page
        finally:
            browser.close()


def numbers(text: str) -> list[int]:
    return [int(match.replace(",", "")) for match in NUMBER.findall(text)]


def run_all_cells(page, notebook_url: str) -> None:
    page.goto(notebook_url)
    page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
    select_kernel = page.get_by_role("button", name="Select", exact=True)
    with contextlib.suppress(Exception):  # the dialog shows only when no kernel is preselected
        select_kernel.click(timeout=3_000)
    page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    # busy while any cell runs; idle again when the last one finished
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-InputArea-prompt')];
            const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
            return prompts.length > 0 && prompts.every(p => !p.textContent.includes('*'))
                && indicator && indicator.dataset.status === 'idle';
        }""",
        timeout=RUN_ALL_TIMEOUT_MS,
    )


def checkbox_parameter_counts(panel) -> dict[str, int]:
    """{group name: its parameter count} from the checkbox labels, input to output."""
    counts = {}
    for label in panel.locator(".widget-checkbox").all():
        text = label.inner_text().strip()
        if not text.endswith("params)"):  # "continue from the current weights"
            continue
        name = text.split()[0]
        counts[name] = numbers(text.removeprefix(name))[0]
    return counts


def trainable_from(readout) -> tuple[int, int]:
    trainable, total = numbers(readout.inner_text())[:2]
    return trainable, total


def wait_for_trainable(page, readout, expected: int, timeout_ms: int = 10_000) -> None:
    """Wait until the read-out's first number (the trainable count) is exactly expected."""
    page.wait_for_function(
        """([element, expected]) => {
            const first = element.innerText.match(/\\d[\\d,]*/);
            return first !== null && Number(first[0].replace(/,/g, '')) === expected;
        }""",
        arg=[readout.element_handle(), expected],
        timeout=timeout_ms,
    )


def click_menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


def wait_for_text(page, element, prefix: str, timeout_ms: int) -> str:
    """Wait until element's text starts with prefix; return the text."""
    page.wait_for_function(
        "([element, prefix]) => element.innerText.trim().startsWith(prefix)",
        arg=[element.element_handle(), prefix],
        timeout=timeout_ms,
    )
    return element.inner_text().strip()


def test_freeze_panel_clicks_change_the_readout(jupyter_lab, browser_page, tmp_path):
    page = browser_page
    run_all_cells(page, f"{jupyter_lab}/lab/tree/notebooks/03_freezing.ipynb")
    panel = page.locator(".freeze-panel").first
    panel.wait_for(timeout=30_000)
    panel.scroll_into_view_if_needed()
    readout = panel.locator(".freeze-readout")
    groups = checkbox_parameter_counts(panel)
    assert len(groups) >= 3, groups
    trainable, total = trainable_from(readout)
    assert total == sum(groups.values())
    boxes = panel.locator(".widget-checkbox input[type=checkbox]")
    ticked = {name: boxes.nth(i).is_checked() for i, name in enumerate(groups)}
    assert trainable == sum(count for name, count in groups.items() if ticked[name])

    # untick the first ticked group: the read-out drops by exactly its parameters
    index, name = next((i, n) for i, n in enumerate(groups) if ticked[n])
    boxes.nth(index).uncheck()
    expected = trainable - groups[name]
    wait_for_trainable(page, readout, expected)
    assert trainable_from(readout) == (expected, total)

    # "Head only": just the last group's parameters remain trainable
    head = list(groups)[-1]
    panel.get_by_role("button", name="Head only").click()
    wait_for_trainable(page, readout, groups[head])
    assert trainable_from(readout) == (groups[head], total)
    assert [boxes.nth(i).is_checked() for i in range(len(groups))] == [n == head for n in groups]

    # a run stopped with the kernel's interrupt is reported in the panel, not in a log
    panel.get_by_role("button", name="Unfreeze all").click()  # a slower epoch, to stop
    wait_for_trainable(page, readout, total)
    status = panel.locator(".freeze-status")
    panel.get_by_role("button", name="Train 1 epoch").click()
    wait_for_text(page, status, "Training 1 epoch", 30_000)
    page.wait_for_timeout(1_000)
    click_menu(page, "Kernel", "Interrupt Kernel")
    stopped = wait_for_text(page, status, "Stopped", STOP_TIMEOUT_MS)
    assert "nothing was recorded" in stopped and "restored" in stopped
    assert trainable_from(readout) == (total, total)
    panel.get_by_role("button", name="Reset").click()  # waits until the panel unlocks it
    wait_for_text(page, status, "Weights reset", 10_000)

    screenshot = tmp_path / "freeze_panel.png"
    panel.screenshot(path=str(screenshot))
    print(f"screenshot: {screenshot}")
    assert screenshot.stat().st_size > 1000
