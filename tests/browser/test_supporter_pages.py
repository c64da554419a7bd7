"""Supporters act on the hosted pages, the widget and the iframe, in a real browser (Debian's chromium,
Playwright), on a real `make run` stack: keyboard only, e-mailed confirmation, languages, every kind,
the supporter's own pages; axe-core on every page, no request to any other site, pages under 60 KB."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from browser.pages_world import AXE, SCREENS, World
from eventually import eventually

PAGE_BUDGET_BYTES = 60 * 1024


class Visit:
    """One page of a browser context, with every request and response it made."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.requests: list[str] = []
        self.bytes = 0
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("response", self._count)

    def _count(self, response: Any) -> None:
        length = response.headers.get("content-length")
        if length is not None:
            self.bytes += int(length)

    async def goto(self, url: str) -> None:
        self.requests.clear()
        self.bytes = 0
        await self.page.goto(url)
        await self.page.wait_for_load_state("networkidle")


@pytest.fixture
async def visit(browser: Any) -> AsyncIterator[Visit]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = await context.new_page()
    yield Visit(page)
    await context.close()


async def accessible(page: Any, name: str) -> None:
    """axe-core finds no serious or critical violation on the page (frames and shadow roots included)."""
    await page.evaluate(AXE.read_text())
    results = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"


async def screenshots(page: Any, name: str) -> None:
    """The page at a phone's width and a desktop's, kept under .run/screens (docs/screens has the
    committed ones)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    for width in (360, 1280):
        await page.set_viewport_size({"width": width, "height": 800})
        await page.screenshot(path=str(SCREENS / f"{name}-{width}.png"), full_page=True)
        if width == 360:
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} scrolls sideways at 360 px ({overflow} px too wide)"
    await page.set_viewport_size({"width": 1280, "height": 900})


def only_from(visit: Visit, *origins: str) -> None:
    strangers = [u for u in visit.requests if f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" not in origins]
    assert strangers == [], f"requests to other sites: {strangers}"


async def tab_to(page: Any, selector: str, presses: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus (the keyboard path to it)."""
    for _ in range(presses):
        if await page.evaluate(f"document.activeElement && document.activeElement.matches({selector!r})"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def focus_is_visible(page: Any) -> bool:
    style = await page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; })()"
    )
    return style[0] != "none" and style[1] not in ("0px", "")


async def total_on_page(page: Any) -> int:
    text = await page.locator("[data-total]").inner_text()
    return int(re.sub(r"\D", "", text) or "0")


# ---- the hosted petition page, with the keyboard only, confirmed from the e-mail ------------------


async def test_sign_a_petition_with_the_keyboard_then_confirm_from_the_email(
    visit: Visit, world: World
) -> None:
    page = visit.page
    await visit.goto(world.page("petition", "?lang=en"))

    only_from(visit, world.campaigns, world.allowed.origin)  # the organization's logo is on its own site
    assert visit.bytes < PAGE_BUDGET_BYTES, f"the page weighs {visit.bytes} bytes"
    assert await page.get_attribute("html", "lang") == "en"
    assert await page.locator("img.logo").count() == 1
    assert await page.locator("text=Rare Voices Europe").count() >= 1
    assert await page.locator("a[href$='/privacy']").count() >= 1
    for box in await page.locator("input[type=checkbox][name^=consent_]").all():
        assert not await box.is_checked()  # consents are unchecked until the supporter ticks them
    await accessible(page, "petition")
    await screenshots(page, "petition")
    before = await total_on_page(page)

    # Sent empty, the form says what is wrong, next to each field, and moves the focus to the summary.
    await tab_to(page, "button.primary")
    assert await focus_is_visible(page)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#error-summary")
    assert await page.evaluate("document.activeElement.id") == "error-summary"
    assert await page.get_attribute("#email", "aria-invalid") == "true"
    assert "email-error" in (await page.get_attribute("#email", "aria-describedby") or "")
    await accessible(page, "petition with errors")
    await screenshots(page, "petition-errors")

    await tab_to(page, "#first_name")
    assert await focus_is_visible(page)
    await page.keyboard.type("Léa")
    await tab_to(page, "#email")
    await page.keyboard.type("lea.keyboard@example.net")
    await tab_to(page, "#consent_contact_by_organization")
    await page.keyboard.press("Space")
    await tab_to(page, "button.primary")
    await page.keyboard.press("Enter")

    await page.wait_for_selector("[data-thanks]")
    assert "e-mail" in await page.locator(".next").inner_text()
    await accessible(page, "thank-you")
    await screenshots(page, "thanks")

    await eventually(
        lambda: world.confirmation_path("lea.keyboard@example.net") is not None,
        within=120,
        interval=0.5,
        message="the confirmation e-mail at the SMTP sink",
    )
    path = world.confirmation_path("lea.keyboard@example.net")
    assert path is not None
    await visit.goto(f"{world.campaigns}{path}")  # a mail scanner's GET would stop here
    await visit.goto(f"{world.campaigns}{path}")
    await accessible(page, "confirmation")
    await screenshots(page, "confirm")
    await tab_to(page, "button.primary")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("[data-confirmed]")
    assert (
        await page.locator("h1").inner_text() == "Thank you, it is confirmed!"
    )  # the GETs confirmed nothing

    async def counted() -> bool:
        await visit.goto(world.page("petition", "?lang=en"))
        return await total_on_page(page) == before + 1

    await eventually(counted, within=60, interval=0.5, message="the confirmed signature counted")

    # The same e-mail links to the supporter's own page.
    mail = "\n".join(world.mail_to("lea.keyboard@example.net"))
    own = re.search(r"/me/([A-Za-z0-9_.~-]+)", mail)
    assert own is not None, mail
    await visit.goto(f"{world.campaigns}/me/{own.group(1)}")
    assert await page.locator("text=lea.keyboard@example.net").count() == 1


# ---- languages -----------------------------------------------------------------------------------


async def test_the_page_speaks_the_browser_language_and_switches(browser: Any, world: World) -> None:
    context = await browser.new_context(locale="de-DE")
    page = await context.new_page()
    await page.goto(world.page("petition"))

    assert await page.get_attribute("html", "lang") == "de"
    assert await page.locator("button.primary").inner_text() == "Petition unterschreiben"

    await page.get_by_role("link", name="Français").click()
    await page.wait_for_load_state()
    assert await page.get_attribute("html", "lang") == "fr"
    assert await page.locator("h1").inner_text() == "Le dépistage néonatal pour chaque maladie rare"
    assert await page.locator("button.primary").inner_text() == "Signer la pétition"
    assert "1\u202f500" in await page.locator(".goal").inner_text()  # numbers in the French way
    await accessible(page, "petition in French")
    await screenshots(page, "petition-fr")
    await context.close()


# ---- the other kinds -----------------------------------------------------------------------------


async def test_a_personalised_letter_then_withdraw_consent_and_erase(visit: Visit, world: World) -> None:
    page = visit.page
    await visit.goto(world.page("letter", "?lang=en"))
    assert await page.locator("text=Anna Example").count() == 1
    assert await page.locator("#body").input_value() != ""
    await accessible(page, "letter")
    await screenshots(page, "letter")

    await page.get_by_label("First name").fill("Marc")
    await page.get_by_label("E-mail address", exact=True).fill("marc.letter@example.net")
    await page.get_by_label("Subject").fill("Orphan medicines: my son's story")
    await page.locator("#body").fill("Dear Ms Example,\n\nMy son waited four years for his treatment.")
    await page.locator("#consent_contact_by_organization").check()
    await page.locator("button.primary").click()
    await page.wait_for_selector("[data-thanks]")
    assert "letter is recorded" in await page.locator(".next").inner_text()

    await page.get_by_role("link", name=re.compile("erase what we hold")).click()
    await page.wait_for_load_state()
    assert await page.locator("text=marc.letter@example.net").count() == 1
    await accessible(page, "my data")
    await screenshots(page, "me")
    await page.locator("#withdraw-contact_by_organization").check()
    await page.get_by_role("button", name="Withdraw the chosen consents").click()
    await page.wait_for_selector("[data-no-consents]")

    await page.locator("#confirm_erasure").check()
    await page.locator("button.danger").click()
    await page.wait_for_selector("[data-erased]")
    await accessible(page, "erased")


async def test_an_rsvp_with_the_calendar_file(visit: Visit, world: World) -> None:
    page = visit.page
    await visit.goto(world.page("event", "?lang=en"))
    assert await page.locator("text=Residence Palace").count() == 1
    assert await page.locator("[data-seats]").inner_text() == "120"
    assert await page.locator("[data-local-time]").first.is_visible()  # the reader's own time zone
    await accessible(page, "event")
    await screenshots(page, "event")

    async with page.expect_download() as download_info:
        await page.locator("a[href*='event.ics']").first.click()
    download = await download_info.value
    calendar = Path(await download.path()).read_text(encoding="utf-8")  # noqa: ASYNC240 - small local file
    assert "BEGIN:VEVENT" in calendar
    assert "SUMMARY:Rare Disease Day town hall" in calendar
    assert re.search(r"DTSTART:\d{8}T\d{6}Z", calendar)

    await page.get_by_label("First name").fill("Ana")
    await page.get_by_label("E-mail address", exact=True).fill("ana.rsvp@example.net")
    await page.locator("button.primary").click()
    await page.wait_for_selector("[data-thanks]")
    assert "place is reserved" in await page.locator(".next").inner_text()


async def test_an_anonymous_story(visit: Visit, world: World) -> None:
    page = visit.page
    await visit.goto(world.page("story_collection", "?lang=en"))
    await page.get_by_label("First name", exact=True).fill("Sam")
    await page.get_by_label("E-mail address", exact=True).fill("sam.story@example.net")
    await page.get_by_label("Title of your story").fill("Seven years to a name")
    await page.locator("#body").fill("It took seven years and eleven doctors.")
    await page.get_by_label("no name (anonymous)").check()
    await page.locator("#consent_publish_story").check()
    await accessible(page, "story")
    await screenshots(page, "story")
    await page.locator("button.primary").click()
    await page.wait_for_selector("[data-thanks]")
    assert "story is received" in await page.locator(".next").inner_text()


async def test_a_share_is_recorded_and_the_share_links_follow(visit: Visit, world: World) -> None:
    page = visit.page
    await visit.goto(world.page("share", "?lang=en"))  # the campaign is in Spanish; the page in English
    await page.get_by_label("First name").fill("Noor")
    await page.get_by_label("E-mail address", exact=True).fill("noor.share@example.net")
    await accessible(page, "share")
    await screenshots(page, "share")
    await page.get_by_role("button", name="Bluesky").click()
    await page.wait_for_selector("[data-thanks]")
    assert "share is recorded" in await page.locator(".next").inner_text()
    assert await page.locator("a[href^='https://bsky.app/intent/compose']").count() == 1


async def test_a_page_works_without_javascript(browser: Any, world: World) -> None:
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(world.page("share", "?lang=es"))
    await page.get_by_label("Nombre").fill("Inés")
    await page.get_by_label("Correo electrónico").fill("ines.nojs@example.net")
    await page.get_by_role("button", name="Mastodon").click()
    await page.wait_for_selector("[data-thanks]")
    assert await page.get_attribute("html", "lang") == "es"
    await context.close()


# ---- the widget and the iframe on an organization's own site -------------------------------------


async def test_the_widget_on_an_allowed_site_and_refused_elsewhere(visit: Visit, world: World) -> None:
    page = visit.page
    await visit.goto(f"{world.allowed.origin}/widget?ref={world.refs['petition']}")
    form = page.locator(".campaign-widget form")
    await form.wait_for()
    only_from(visit, world.campaigns, world.allowed.origin)
    await accessible(page, "widget")
    await screenshots(page, "widget")
    await form.get_by_label("First name").fill("Widget")
    await form.get_by_label("E-mail address", exact=True).fill("widget.signer@example.net")
    await form.locator("input[type=checkbox]").first.check()
    await form.locator("button[type=submit]").click()
    await page.locator(".campaign-widget .thanks").wait_for()

    await visit.goto(f"{world.other.origin}/widget?ref={world.refs['petition']}")
    await page.locator(".campaign-widget [role=status]").wait_for()
    assert await page.locator(".campaign-widget form").count() == 0  # the API refused this origin


async def test_the_iframe_on_an_allowed_site_and_refused_elsewhere(visit: Visit, world: World) -> None:
    page = visit.page
    title = "Newborn screening for every rare disease"
    await visit.goto(f"{world.allowed.origin}/iframe?ref={world.refs['petition']}")
    frame = page.frame_locator("iframe")
    assert await frame.locator("h1").inner_text() == title
    await accessible(page, "iframe")
    await frame.get_by_label("First name").fill("Framed")
    await frame.get_by_label("E-mail address", exact=True).fill("framed.signer@example.net")
    await frame.locator("button.primary").click()
    await frame.locator("[data-thanks]").wait_for()  # the form works inside the frame (no cookie needed)

    await visit.goto(f"{world.other.origin}/iframe?ref={world.refs['petition']}")
    embedded = page.frames[1]
    assert await embedded.locator("h1", has_text=title).count() == 0  # frame-ancestors refused it
