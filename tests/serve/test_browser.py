"""The web page in a real browser: uvicorn on 127.0.0.1 and headless Chromium (Debian `chromium` and
`chromium-driver`, installed by scripts/setup.sh) driven by Selenium — a SMILES typed shows its depiction and
identifiers, a bad one its reason, an uploaded prediction file its report, a caption its neighbours."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from molbridge.serve.app import create_app
from molbridge.serve.state import ServeSettings, load_state

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "text2mol.tsv"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(served_files):
    import uvicorn

    state = load_state(ServeSettings(indexes={"captions": served_files["captions"]}))
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(create_app(state), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(30)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "the browser test needs Debian's chromium and chromium-driver (scripts/setup.sh)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,900"):
        options.add_argument(arg)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    yield chrome
    chrome.quit()


def wait_for(chrome, condition, seconds: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(chrome, seconds).until(condition)


def test_typing_a_smiles_shows_its_depiction_and_identifiers(server, browser) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    wait_for(browser, lambda c: "molbridge" in c.find_element(By.ID, "health").text)
    field = browser.find_element(By.ID, "molecule-input")
    field.send_keys("CC(=O)Oc1ccccc1C(=O)O")
    wait_for(browser, lambda c: "BSYNRYMUTXBXSQ-UHFFFAOYSA-N" in c.find_element(By.ID, "identifiers").text)
    table = browser.find_element(By.ID, "identifiers").text
    assert "C9H8O4" in table and "CC(=O)Oc1ccccc1C(=O)O" in table
    wait_for(browser, lambda c: c.execute_script(
        "const i = document.querySelector('#depiction img'); return i !== null && i.naturalWidth > 0;"))

    field.clear()
    field.send_keys("C1CC")
    wait_for(browser, lambda c: "unclosed ring" in c.find_element(By.ID, "molecule-error").text)
    assert not browser.find_elements(By.CSS_SELECTOR, "#depiction img")


def test_an_uploaded_prediction_file_shows_its_report(server, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from molbridge.eval.engine import score_file

    browser.get(server + "/")
    wait_for(browser, lambda c: c.find_elements(By.CSS_SELECTOR, "#score-task option"))
    Select(browser.find_element(By.ID, "score-task")).select_by_value("text2mol")
    browser.find_element(By.ID, "score-file").send_keys(str(EXAMPLE))
    browser.find_element(By.ID, "score-button").click()
    wait_for(browser, lambda c: "morgan_fts" in c.find_element(By.ID, "report").text, 120)
    expected, _ = score_file(EXAMPLE, "text2mol")
    rows = {r.split()[0]: r.split()[1] for r in browser.find_element(By.ID, "report").text.splitlines()[1:]}
    assert float(rows["exact_match"]) == pytest.approx(expected.values()["exact_match"], abs=1e-4)
    assert float(rows["validity"]) == pytest.approx(expected.values()["validity"], abs=1e-4)
    assert browser.find_elements(By.CSS_SELECTOR, "#report-plot svg rect")


def test_a_caption_finds_its_neighbours(server, browser, served_files) -> None:
    from selenium.webdriver.common.by import By

    from molbridge.data.formats.chebi20_tables import records_from_chebi20

    first = records_from_chebi20(served_files["rows"])[0]
    browser.get(server + "/")
    wait_for(browser, lambda c: c.find_elements(By.CSS_SELECTOR, "#similar-index option"))
    browser.find_element(By.ID, "similar-query").send_keys(first.modalities.caption)
    browser.find_element(By.ID, "similar-button").click()
    wait_for(browser, lambda c: first.meta.source_id in c.find_element(By.ID, "neighbours").text)
    assert browser.find_element(By.ID, "neighbours").text.splitlines()[1].split()[1] == first.meta.source_id
