"""Fixtures for the fairness tests: real AIF360 data sets with fitted models, a headless browser."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def german(data_root):
    from ai4media_ext.data import load_aif360
    from ai4media_ext.experiments.fairness_report import logistic_regression

    ds = load_aif360("german", data_root)
    train, test = ds.split([0.7], shuffle=True, seed=0)
    clf = logistic_regression(0).fit(train.features, train.labels.ravel())
    return train, test, clf


@pytest.fixture(scope="session")
def german_report(german):
    from ai4media_ext.fairness import FairnessReport

    _, test, clf = german
    return FairnessReport(n_bootstrap=100, random_state=0).audit(
        test, {"lr": clf}, dataset_name="German credit"
    )


@pytest.fixture
def browser_page():
    """A fresh page in Debian's headless chromium, with console errors collected."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1500})
        page.errors = []
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("dialog", lambda d: (page.errors.append(f"dialog: {d.message}"), d.dismiss()))
        yield page
        browser.close()


def toy_dataset(
    y: list[int], s: list[float], extra: dict[str, list[float]] | None = None, **kwargs
):
    """A tiny hand-made BinaryLabelDataset (protected attribute 's', label 'y')."""
    import pandas as pd
    from aif360.datasets import BinaryLabelDataset

    df = pd.DataFrame({"s": np.asarray(s, float), "y": np.asarray(y, float), **(extra or {})})
    return BinaryLabelDataset(
        df=df,
        label_names=["y"],
        protected_attribute_names=["s"],
        privileged_protected_attributes=[np.array([1.0])],
        unprivileged_protected_attributes=[np.array([0.0])],
        **kwargs,
    )
