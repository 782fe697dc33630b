"""Every DAG can be triggered from the Airflow UI with its defaults — checked in a real browser.

Headless Chromium (Debian's ``chromium`` + ``chromium-driver``) driven by Selenium logs in to the
session's Airflow components (``airflow_stack``: the same api-server as the REST-pipeline test), opens
the *Trigger* dialog of every fateops DAG and asserts that its *Trigger* button is enabled with every
default left as it is: the form validates each Param against its JSON schema, and a Param that is not
valid with its default (an optional value declared as a required string) disables the button. Then one
light DAG is triggered from its dialog (left paused, so no task runs) and the run is seen over REST.
Screenshots of every dialog go to the test's tmp dir (``FATEOPS_UI_SHOTS`` to keep them elsewhere).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fateops.federation import default_federation_name
from fateops.localstack import AirflowRestClient, AirflowStack

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(600)]

CHROMIUM = os.environ.get("FATEOPS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("FATEOPS_CHROMEDRIVER", "/usr/bin/chromedriver")
FATEOPS_DAGS = {"fate_party_bootstrap", "fate_exchange_federate", "fate_dataset_prepare", "fate_train", "fate_predict",
                "fate_credit_card_pipeline", "fate_retrain", "fate_chaos_drill", "fate_sizing_audit"}
LIGHT_DAG = "fate_sizing_audit"  # read-only; triggered paused, so the run only has to appear
WAIT_S = 60.0
SETTLE_S = 1.5  # the form validates after it renders: a Param invalid by default disables Trigger within this


@pytest.fixture(scope="module")
def stack(airflow_stack: AirflowStack) -> Iterator[AirflowStack]:
    """The session stack; this module is its last user (file order), so it stops the stack when done."""
    yield airflow_stack
    airflow_stack.stop()


@pytest.fixture(scope="module")
def api(stack: AirflowStack) -> Iterator[AirflowRestClient]:
    password = stack.admin_password()
    assert password, f"no admin password in {stack.password_file}"
    with AirflowRestClient(stack.url, "admin", password, timeout_s=60) as client:
        for dag_id in sorted(FATEOPS_DAGS):
            client.wait_for_dag(dag_id, timeout_s=600)
        yield client


@pytest.fixture(scope="module")
def browser(stack: AirflowStack, api: AirflowRestClient) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    assert not missing, f"{missing} not installed — fix: make sysdeps (system-packages.txt: chromium, chromium-driver)"
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1800", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(WAIT_S)
        driver.get(f"{stack.url}/auth/login")
        WebDriverWait(driver, WAIT_S).until(ec.presence_of_element_located((By.NAME, "username"))).send_keys("admin")
        driver.find_element(By.NAME, "password").send_keys(stack.admin_password() or "")
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(driver, WAIT_S).until(lambda d: "/auth/login" not in d.current_url)
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = Path(os.environ.get("FATEOPS_UI_SHOTS") or tmp_path_factory.mktemp("ui-shots"))
    where.mkdir(parents=True, exist_ok=True)
    return where


def _open_trigger_dialog(driver: object, base_url: str, dag_id: str) -> tuple[object, object]:
    """The DAG page → its *Trigger* button → the dialog, once its Params form has rendered.

    The form validates every Param from the values it holds, whether its section is open or not
    (a pipeline section starts collapsed), so the button's state needs no clicking around.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, WAIT_S)
    driver.get(f"{base_url}/dags/{dag_id}")  # type: ignore[attr-defined]
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "button[aria-label='Trigger Dag']")).click()

    def dialog(d: object) -> object:
        for element in d.find_elements(By.CSS_SELECTOR, "[role=dialog]"):  # type: ignore[attr-defined]
            text = element.text
            if f"Trigger Dag - {dag_id}" in text and "Advanced Options" in text:  # the form is below the Params
                return element
        return False

    found = wait.until(dialog)
    button = wait.until(lambda _: next((b for b in found.find_elements(By.TAG_NAME, "button")  # type: ignore[attr-defined]
                                        if b.text.strip() == "Trigger"), False))
    return found, button


def test_every_dag_can_be_triggered_with_its_defaults(stack: AirflowStack, api: AirflowRestClient, browser: object,
                                                      shots: Path) -> None:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    blocked: dict[str, str] = {}
    for dag_id in sorted(FATEOPS_DAGS):
        assert api.dag_details(dag_id).get("params"), f"{dag_id} has no Params: the UI would show no form"
        dialog, button = _open_trigger_dialog(browser, stack.url, dag_id)
        try:  # a Param invalid with its default flips the button to disabled once the form has validated
            WebDriverWait(browser, SETTLE_S).until(lambda _, b=button: not b.is_enabled())  # type: ignore[misc]
        except TimeoutException:
            pass
        browser.save_screenshot(str(shots / f"{dag_id}.png"))  # type: ignore[attr-defined]
        if not button.is_enabled():  # type: ignore[attr-defined]
            blocked[dag_id] = dialog.text[-600:]  # type: ignore[attr-defined]
        if dag_id == "fate_credit_card_pipeline":  # the long form reads like the runbook
            for section in ("Federation & deadlines", "Data", "Training", "Prediction"):
                assert section in dialog.text, (section, shots / f"{dag_id}.png")  # type: ignore[attr-defined]
    assert blocked == {}, f"Trigger disabled with the defaults (screenshots in {shots}): {blocked}"


def test_a_dag_triggered_from_the_dialog_gets_a_run(stack: AirflowStack, api: AirflowRestClient,
                                                    browser: object, shots: Path) -> None:
    from selenium.webdriver.common.by import By

    before = {r["dag_run_id"] for r in api.dag_runs(LIGHT_DAG)}
    dialog, button = _open_trigger_dialog(browser, stack.url, LIGHT_DAG)
    unpause = dialog.find_element(By.XPATH, ".//label[contains(., 'Unpause')]")  # type: ignore[attr-defined]
    if unpause.find_element(By.TAG_NAME, "input").is_selected():
        unpause.click()  # leave it paused: the run only has to exist, no task needs to run
    button.click()  # type: ignore[attr-defined]
    deadline = time.monotonic() + WAIT_S
    new: list[dict[str, object]] = []
    while not new and time.monotonic() < deadline:
        new = [r for r in api.dag_runs(LIGHT_DAG) if r["dag_run_id"] not in before]
        time.sleep(0.5)
    browser.save_screenshot(str(shots / f"{LIGHT_DAG}-triggered.png"))  # type: ignore[attr-defined]
    assert len(new) == 1, f"no new run of {LIGHT_DAG} after Trigger (screenshot in {shots})"
    run = new[0]
    try:
        assert run["run_type"] == "manual" and run["state"] in ("queued", "running")
        conf = run["conf"] or {}
        assert conf.get("federation") == default_federation_name() and conf.get("vsphere_conn_id") is None, conf
        assert api.dag_details(LIGHT_DAG)["is_paused"] is True
    finally:
        api.delete_run(LIGHT_DAG, str(run["dag_run_id"]))
