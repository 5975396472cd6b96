"""The harness itself: the system chromium renders a page served by the real HTTP function."""

from __future__ import annotations


def test_chromium_renders_the_servers_root(api, new_page, screenshot_dir):
    page = new_page(width=360)
    response = page.goto(f"{api.base}/")
    assert response is not None and response.status == 200
    assert "Billing API is running!" in page.content()
    page.screenshot(path=str(screenshot_dir / "harness-healthz-360.png"))
    assert (screenshot_dir / "harness-healthz-360.png").stat().st_size > 0
