"""The dashboard in headless Chromium (Debian's, driven by Playwright; nothing downloaded)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright

from hotich_runtime.auth import Role
from tests.reporting.integration.conftest import Service

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("HOTICH_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _artifacts(pytestconfig: pytest.Config) -> Path:
    folder = Path(
        os.environ.get(
            "HOTICH_TEST_ARTIFACTS", pytestconfig.rootpath / ".hotich" / "test-artifacts"
        )
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def test_dashboard_drills_down_from_province_to_register_book(
    reporting_service: Service, pytestconfig: pytest.Config
) -> None:
    url = reporting_service.url
    async with reporting_service.client() as client:
        api = (
            await client.get("/v1/reports/progress", params={"phase": "1", "unit_code": "705"})
        ).json()
    token = reporting_service.token("72", Role.DEPARTMENT_OFFICER, "so-tu-phap")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=ARGS
        )
        try:
            context = await browser.new_context(
                viewport={"width": 1440, "height": 1100}, locale="vi-VN"
            )
            await context.add_cookies([{"name": "hotich_token", "value": token, "url": url}])
            page = await context.new_page()
            elsewhere: list[str] = []
            page.on("request", lambda r: None if r.url.startswith(url) else elsewhere.append(r.url))
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))

            await page.goto(f"{url}/dashboard")
            await page.wait_for_selector('body[data-ready="1:72"]')
            district = page.locator('#children-table tbody tr[data-unit="705"]')
            assert "Huyện Tân Biên" in await district.inner_text()
            assert await page.locator("#children-chart svg g.bar").count() >= 9
            deadlines = await page.locator('[data-testid="deadlines"]').inner_text()
            assert "Sắp đến hạn" in deadlines  # phase 1 district report, 30/07/2020
            assert "Còn hạn" in deadlines

            await district.click()
            await page.wait_for_selector('body[data-ready="1:705"]')
            crumbs = " ".join((await page.locator("#crumbs").inner_text()).split())
            assert crumbs == "Tỉnh Tây Ninh › Huyện Tân Biên"
            cells = await page.locator(
                '#children-table tbody tr[data-unit="25489"] td'
            ).all_inner_texts()
            row = next(r for r in api["children"] if r["code"] == "25489")
            assert cells[2] == f"{row['entered']:,}".replace(",", ".")  # vi-VN digit grouping
            assert cells[7] == f"{row['accepted']:,}".replace(",", ".")
            summary = await page.locator('[data-testid="summary"]').inner_text()
            assert f"{api['totals']['accepted']:,}".replace(",", ".") in summary
            artifacts = _artifacts(pytestconfig)
            await page.screenshot(
                path=str(artifacts / "reporting-dashboard-district.png"), full_page=True
            )

            await page.locator('#children-table tbody tr[data-unit="25489"]').click()
            await page.wait_for_selector('body[data-ready="1:25489"]')
            books = page.locator("#books-table tbody tr")
            assert await books.count() > 0
            await books.first.locator("button").click()
            await page.wait_for_selector('[data-testid="gap-ranges"]')
            assert "còn thiếu" in await page.locator("#gaps").inner_text()

            await page.locator('button[data-phase="2"]').click()
            await page.wait_for_selector('body[data-ready="2:25489"]')
            await page.screenshot(
                path=str(_artifacts(pytestconfig) / "reporting-dashboard.png"), full_page=True
            )

            assert elsewhere == []  # nothing loaded from anywhere else (no CDN)
            assert errors == []
        finally:
            await browser.close()


async def test_dashboard_asks_for_a_login_and_logs_in_through_intake(
    reporting_service: Service,
) -> None:
    class Intake:
        async def token(self, username: str, password: str) -> str | None:
            if (username, password) == ("so", "mật khẩu"):
                return reporting_service.token("72", Role.DEPARTMENT_OFFICER, "so")
            return None

    reporting_service.app.state.runtime.state["deps"].tokens = Intake()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=ARGS
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{reporting_service.url}/dashboard")
            await page.wait_for_selector('body[data-ready="login"]')
            await page.fill('input[name="username"]', "so")
            await page.fill('input[name="password"]', "sai")
            await page.click('#login button[type="submit"]')
            await page.wait_for_selector("#login-error", state="visible")
            await page.fill('input[name="username"]', "so")
            await page.fill('input[name="password"]', "mật khẩu")
            await page.click('#login button[type="submit"]')
            await page.wait_for_selector('body[data-ready="1:72"]')
            assert "so · Tỉnh Tây Ninh" in await page.locator("#who-name").inner_text()
        finally:
            await browser.close()
    async with httpx.AsyncClient(base_url=reporting_service.url) as client:
        page = await client.get("/dashboard")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert '<script src="/dashboard/static/dashboard.js">' in page.text
        assert (await client.get("/dashboard/static/other.js")).status_code == 404
