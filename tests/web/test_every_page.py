"""Every page in the navigation, with every installed plugin loaded, as the
administrator: it renders, it is accessible, it fits a phone and 1366×768,
and it is translated."""

import re

import pytest

from crmcore.testing import accessibility_problems, screenshot

BUSINESS_PLUGINS = ["analytics", "callcenter", "campaigns", "membership", "partners", "sales"]


@pytest.fixture
def crm_plugins():
    return BUSINESS_PLUGINS


def navigation_paths(page) -> list[str]:
    return page.eval_on_selector_all("#sidebar a", "links => links.map(a => a.getAttribute('href'))")


def test_every_page_in_the_navigation_renders_labelled_and_translated(web, browser_page):
    web.admin()
    page = browser_page
    web.login(page, "admin")
    paths = navigation_paths(page)
    assert "/customers" in paths and "/" in paths
    english_only = re.compile(r">\s*(Save|Search|Name|Status|Cancel|Back|Next|Previous)\s*<")
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        assert accessibility_problems(page) == [], path
        assert not english_only.search(page.content()), f"untranslated label on {path}"
        screenshot(page, "page" + (path.replace("/", "-") if path != "/" else "-dashboard"))


def test_every_page_in_the_navigation_fits_a_phone(web, browser_page):
    web.admin()
    page = browser_page
    web.login(page, "admin")
    paths = navigation_paths(page)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in paths:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide on a 390px screen"
