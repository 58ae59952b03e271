"""The web page of ``ocr serve`` in a real headless browser (Selenium + Debian's chromium): pick an
image, see its words drawn and its text, hover a word, download the JSON, take a screenshot."""
from __future__ import annotations

import json
import shutil
import time

import httpx
import pytest

pytest.importorskip("fastapi", reason="ocr serve needs the serve extra (pip install .[serve])")
webdriver = pytest.importorskip("selenium.webdriver", reason="the page test needs selenium")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("the page test needs chromium and chromium-driver (apt-get install chromium chromium-driver)",
                allow_module_level=True)

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from ocr.serve.app import create_app  # noqa: E402
from ocr.serve.settings import ServeSettings  # noqa: E402
from serve_helpers import running_server, text_page  # noqa: E402


@pytest.fixture(scope="module")
def url():
    with running_server(create_app(ServeSettings(device="cpu"))) as base:  # the reader's det size: the pages are small
        yield base


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(tmp_path / "downloads")})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def test_page_reads_an_image(url, browser, tmp_path):
    image = tmp_path / "receipt.png"
    image.write_bytes(text_page(["Total 42.50", "thank you"], (1400, 160)))  # shown smaller than it is
    api = httpx.post(f"{url}/v1/read", files=[("files", ("receipt.png", image.read_bytes()))],
                     data={"words": "true"}, timeout=120).json()
    browser.get(url + "/")
    wait = WebDriverWait(browser, 120)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#det option"))
    browser.find_element(By.ID, "file").send_keys(str(image))
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "lines in"))

    shown = browser.find_element(By.ID, "text").text
    assert shown == "\n".join(line["text"] for line in api[0]["lines"]) and "42.50" in shown
    words = browser.find_elements(By.CSS_SELECTOR, "#overlay polygon.word")
    assert len(words) == sum(len(line["words"]) for line in api[0]["lines"]) >= 2

    img = browser.find_element(By.ID, "image").rect  # each word is drawn where it is in the image
    scale = img["width"] / api[0]["width"]
    for poly, word in zip(words, (w for line in api[0]["lines"] for w in line["words"])):
        xs, ys = [x for x, _ in word["polygon"]], [y for _, y in word["polygon"]]
        assert abs(poly.rect["x"] - (img["x"] + min(xs) * scale)) < 3
        assert abs(poly.rect["y"] - (img["y"] + min(ys) * scale)) < 3
        assert abs(poly.rect["width"] - (max(xs) - min(xs)) * scale) < 4

    ActionChains(browser).move_to_element(words[0]).perform()
    tip = browser.find_element(By.ID, "tip")
    wait.until(lambda d: tip.is_displayed())
    first = api[0]["lines"][0]["words"][0]
    assert tip.text.rsplit(None, 1) == [first["text"], f"{first['score']:.3f}"]

    browser.find_element(By.ID, "download").click()
    saved = tmp_path / "downloads" / "receipt.json"
    deadline = time.monotonic() + 20
    while not saved.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert json.loads(saved.read_text()) == api

    shot = tmp_path / "page.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_page_reads_a_pdf_and_shows_a_clear_error_for_a_broken_one(url, browser, tmp_path):
    import io

    import numpy as np
    from PIL import Image

    from helpers import image_pdf

    pages = [np.asarray(Image.open(io.BytesIO(text_page(t, (700, 160)))).convert("RGB"))
             for t in (["Total 42.50"], ["thank you"])]
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(image_pdf(pages, dpi=150))
    browser.get(url + "/")
    wait = WebDriverWait(browser, 120)
    browser.find_element(By.ID, "file").send_keys(str(pdf))
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "page 1 of 2 shown"))
    text = browser.find_element(By.ID, "text").text.upper()
    assert "TOTAL" in text and "THANK" in text  # both pages' text
    assert browser.find_elements(By.CSS_SELECTOR, "#overlay text.pdf-word")  # the words written at their places
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n1 0 obj\n")
    browser.find_element(By.ID, "file").send_keys(str(broken))
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "422"))
    assert "broken.pdf: not a readable PDF" in browser.find_element(By.ID, "status").text
