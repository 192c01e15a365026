"""The inspector's page in a real browser: headless Chromium driven by Selenium, offline.

Needs Debian's ``chromium`` and ``chromium-driver`` (scripts/setup.sh installs them) and
``selenium`` (the test extra). Without them the test skips with the reason, except under
``CI=true``, where it fails.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest
from inspect_models import traced_net
from needs import missing
from test_inspect_render import node_groups, page_data, page_views

from axoncl import inspect as ai

SHAPES = "rect, polygon, ellipse, path, circle"


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
    except ImportError:
        missing("selenium is not installed (it comes with the test extra: .[test])")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        missing(
            "Chromium or its driver is not installed "
            "(apt-get install chromium chromium-driver; scripts/setup.sh does)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests run as root in CI
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        # Offline: every request goes to a proxy that does not exist, and no name resolves.
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # never let Selenium look for a driver online
        driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    yield driver
    driver.quit()


@pytest.mark.parametrize("engine", ["python", "dot"])
def test_page_renders_and_answers_in_a_browser_offline(browser, tmp_path, engine):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    if engine == "dot" and not ai.dot_available():
        missing("Graphviz 'dot' is not installed (scripts/setup.sh installs graphviz)")
    snap, _ = traced_net()
    page = ai.to_html(snap, engine=engine, title="axoncl inspector: a small CNN")
    path = tmp_path / "graph.html"
    path.write_text(page, encoding="utf-8")
    browser.get(path.as_uri())
    run = browser.execute_script

    # The top view renders, one shape per box, each with a real size on screen.
    root = run("return window.axoncl.current()")
    expected = len(node_groups(ET.tostring(page_views(page)[root], encoding="unicode")))
    shown = browser.find_elements(By.CSS_SELECTOR, ".view:not([hidden]) g.node")
    assert len(shown) == expected >= 15
    for g in shown:
        assert len(g.find_elements(By.CSS_SELECTOR, SHAPES)) == 1, g.get_attribute("id")
        size = g.rect
        assert size["width"] > 5 and size["height"] > 5, g.get_attribute("id")
    assert run("return document.querySelectorAll('.view:not([hidden])').length") == 1

    # Hovering a parameter shows its shape, dtype and gradient statistics.
    fc = next(n for n in snap.nodes if n.name == "fc.weight")
    ActionChains(browser).move_to_element(browser.find_element(By.ID, f"n{fc.id}")).perform()
    details = browser.find_element(By.ID, "details").text
    assert "fc.weight" in details and "(10, 4)" in details and "float32" in details
    assert f"grad norm {fc.grad.norm:.4g}" in details and "grad max |x|" in details

    # Clicking the flagged bias selects it and names its flag.
    bias = next(n for n in snap.nodes if n.name == "stem.bias")
    ActionChains(browser).click(browser.find_element(By.ID, f"n{bias.id}")).perform()
    details = browser.find_element(By.ID, "details").text
    assert "stem.bias" in details and "flag vanishing" in details
    assert "selected" in browser.find_element(By.ID, f"n{bias.id}").get_attribute("class")

    # Health flags: the summary line, and red marks in the chart.
    health = browser.find_element(By.CSS_SELECTOR, ".health .flag")
    assert health.is_displayed() and "vanishing at stem.bias" in health.text
    marks = browser.find_elements(By.CSS_SELECTOR, ".flow-param.flagged")
    assert marks and all(m.get_attribute("data-flags") == "vanishing" for m in marks)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".flow-param")) == len(
        snap.gradient_flow_summary().parameters
    )

    # Zoom and pan.
    before = run("return Object.assign({}, window.axoncl.state[window.axoncl.current()])")
    browser.find_element(By.ID, "zoom-in").click()
    after = run("return Object.assign({}, window.axoncl.state[window.axoncl.current()])")
    assert after["k"] == pytest.approx(before["k"] * 1.25)
    viewport = browser.find_element(By.ID, "viewport")
    ActionChains(browser).move_to_element_with_offset(
        viewport, 10, 10
    ).click_and_hold().move_by_offset(60, 40).release().perform()
    panned = run("return Object.assign({}, window.axoncl.state[window.axoncl.current()])")
    assert panned["x"] == pytest.approx(after["x"] + 60, abs=2)
    assert panned["y"] == pytest.approx(after["y"] + 40, abs=2)
    transform = run("return document.querySelector('.view:not([hidden]) svg').style.transform")
    scale = float(transform.split("scale(")[1].split(")")[0])
    assert scale == pytest.approx(panned["k"], rel=1e-5)

    # A module call opens into its own view; the path above leads back.
    browser.find_element(By.ID, "zoom-fit").click()
    group = next(
        g
        for g in browser.find_elements(By.CSS_SELECTOR, ".view:not([hidden]) g.node.group")
        if g.text.startswith("blocks (Sequential)")
    )
    ActionChains(browser).click(group).perform()
    opened = run("return window.axoncl.current()")
    assert opened == page_data(page)["boxes"][group.get_attribute("id")]["opens"] != root
    inner = browser.find_elements(By.CSS_SELECTOR, ".view:not([hidden]) g.node.group")
    assert sorted(g.text.split("\n")[0] for g in inner) == ["0 (Block)", "1 (Block)"]
    crumbs = browser.find_elements(By.CSS_SELECTOR, "#crumbs button")
    assert [c.text for c in crumbs] == ["graph", "blocks"]
    browser.save_screenshot(str(tmp_path / "inspector-group.png"))
    crumbs[0].click()
    assert run("return window.axoncl.current()") == root

    # Nothing was fetched, and no script failed.
    assert run("return performance.getEntriesByType('resource').length") == 0
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    shot = tmp_path / "inspector.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    print(f"screenshots: {shot}, {tmp_path / 'inspector-group.png'}")
