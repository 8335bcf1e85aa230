"""`make screenshots`: docs/screenshots/{widget,console,portal,ticket,contact,widget-mobile,wallboard,reports}.png from a real server and browser.

Starts the embedded demo server (fresh SQLite, seeded demo data) and a
stranger's host page, then drives Debian's Chromium through one real chat:
Maria (signed in on the host site) asks about her relay, Boris takes it in
the console, sees her record, answers, and turns it into a ticket that she
then follows in the portal (her list, then the ticket's page); then Boris finds her by serial number (Ctrl+K)
and opens her contact page. Last, Sofia (the supervisor) looks at the
wall-board on a 1920x1080 screen and at the reports page.

    python -m tests.browser.screenshots [--out docs/screenshots] [--only widget-mobile …]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import jwt

from tests.browser.conftest import CHOOSE_ENGLISH, CHROMIUM, CHROMIUM_ARGS, host_page_html
from tests.browser.test_widget_live import HostSite
from tests.live_server import DaphneWorker, embedded_env, prepare_database

REPO_ROOT = Path(__file__).resolve().parents[2]
IDENTITY_SECRET = "screenshots-identity-secret-0123456789abcdef"
PASSWORD = "demo-pass-123"
VIEWPORT = {"width": 1366, "height": 820}
PHONE = {"width": 390, "height": 844}


def capture(out_dir: Path) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chatportal-shots-") as tmp, HostSite() as site:
        env = embedded_env(
            Path(tmp) / "data",
            extra={
                "CHATPORTAL_WIDGET_ORIGINS": site.origin,
                "CHATPORTAL_IDENTITY_SECRET": IDENTITY_SECRET,
            },
        )
        prepare_database(env)
        worker = DaphneWorker(env, Path(tmp) / "worker.log", name="screenshots")
        worker.start()
        try:
            token = jwt.encode(
                {
                    "sub": "crm-1",
                    "exp": int(time.time()) + 600,
                    "name": "Maria Popescu",
                    "email": "customer1@example.com",
                },
                IDENTITY_SECRET,
                algorithm="HS256",
            )
            site.page_html = host_page_html(
                f"{worker.url}/widget.js", {"department": "support", "identity-jwt": token}
            )
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                agent = browser.new_context(locale="en-US", viewport=VIEWPORT)
                visitor = browser.new_context(locale="en-US", viewport=VIEWPORT)
                customer = browser.new_context(locale="en-US", viewport=VIEWPORT)
                for context in (agent, visitor, customer):
                    context.set_default_timeout(20_000)
                customer.add_init_script(CHOOSE_ENGLISH)  # Maria's contact reads Romanian

                console = agent.new_page()
                console.goto(f"{worker.url}/console/")
                console.get_by_label("Username").fill("boris")
                console.get_by_label("Password").fill(PASSWORD)
                console.get_by_role("button", name="Sign in").click()
                console.wait_for_url(re.compile(r"/console/$"))
                expect(console.locator("#connection")).to_have_attribute("data-state", "connected")
                console.get_by_label("Presence").select_option("online")

                widget = visitor.new_page()
                widget.goto(site.url)
                widget.get_by_role("button", name="Open chat", exact=True).click()
                box = widget.get_by_role("textbox", name="Message", exact=True)
                box.fill("Hello, my RZA-500 relay shows error E42 after the firmware update.")
                widget.get_by_role("button", name="Send", exact=True).click()

                item = console.locator("#offers li.item, #queues li.item").filter(
                    has_text="Maria Popescu"
                )
                item.get_by_role("button", name="Accept").first.click()
                expect(console.get_by_role("complementary", name="Customer")).to_contain_text(
                    "RZA-2024-0001"
                )
                reply = console.get_by_role("textbox", name="Reply")
                console.get_by_role("switch", name="Internal note").check()
                reply.fill("Gold 24x7 contract: first response within 1 h.")
                reply.press("Enter")
                console.get_by_role("switch", name="Internal note").uncheck()
                reply.fill(
                    "Hello Maria, Boris here. I can see your RZA-500 (RZA-2024-0001) under warranty. "
                    "Which firmware version did you install?"
                )
                reply.press("Enter")
                expect(widget.get_by_role("log")).to_contain_text("Which firmware version")
                box.fill("Version 3.2, installed yesterday.")
                widget.get_by_role("button", name="Send", exact=True).click()
                expect(console.locator("#transcripts")).to_contain_text("Version 3.2")
                reply.press_sequentially("/firm")
                expect(
                    console.get_by_role("listbox", name="Canned responses")
                    .get_by_role("option")
                    .first
                ).to_be_visible()
                console.wait_for_timeout(300)
                paths = [out_dir / "console.png", out_dir / "widget.png", out_dir / "portal.png"]
                console.screenshot(path=str(paths[0]))
                reply.press("Escape")
                reply.fill("")

                widget.wait_for_timeout(300)
                widget.screenshot(path=str(paths[1]))

                # The same chat on Maria's phone: full screen, 16 px fields.
                phone = browser.new_context(
                    locale="en-US",
                    viewport=PHONE,
                    is_mobile=True,
                    has_touch=True,
                    device_scale_factor=2,
                )
                on_phone = phone.new_page()
                on_phone.goto(site.url)
                on_phone.get_by_role("button", name="Open chat", exact=True).tap()
                expect(on_phone.get_by_role("log")).to_contain_text("Which firmware version")
                on_phone.wait_for_timeout(300)
                on_phone.screenshot(path=str(out_dir / "widget-mobile.png"))
                phone.close()

                console.get_by_role("button", name="Convert to ticket").click()
                console.get_by_label(re.compile(r"^Subject")).fill(
                    "E42 after the firmware 3.2 update"
                )
                console.get_by_role("button", name="Create ticket").click()
                ticket_line = console.locator("#transcripts .evt-ticket")
                expect(ticket_line).to_contain_text(re.compile(r"T-\d+"))
                number = re.search(r"T-\d+", ticket_line.inner_text()).group(0)

                portal = customer.new_page()
                portal.goto(f"{worker.url}/portal/login/")
                portal.get_by_label("E-mail").fill("customer1@example.com")
                portal.get_by_label("Password").fill(PASSWORD)
                portal.get_by_role("button", name="Sign in").click()
                portal.get_by_role("heading", name="My tickets").wait_for()
                portal.get_by_role("table", name="My tickets").get_by_role(
                    "link", name=number
                ).wait_for()
                portal.wait_for_timeout(300)
                portal.screenshot(path=str(paths[2]), full_page=True)
                # Her ticket: the tracker, who handles it, the chat it came from.
                portal.get_by_role("link", name=number).click()
                portal.get_by_role("list", name="Progress").wait_for()
                portal.wait_for_timeout(300)
                ticket_shot = out_dir / "ticket.png"
                portal.screenshot(path=str(ticket_shot), full_page=True)

                # The agent's desk: Ctrl+K finds Maria by her serial; her page holds the
                # whole record and one timeline (the chat and ticket just made included).
                console.goto(f"{worker.url}/console/tickets/")
                console.keyboard.press("Control+k")
                console.keyboard.type("RZA-2024-0001", delay=20)
                found = console.get_by_role("listbox", name="Contacts and tickets found")
                found.get_by_role("option").first.wait_for()
                console.keyboard.press("Enter")
                console.wait_for_url(re.compile(r"/console/contacts/[0-9a-f-]{36}/$"))
                console.locator("#contact-timeline").wait_for()
                console.wait_for_timeout(300)
                paths.append(out_dir / "contact.png")
                console.screenshot(path=str(paths[3]), full_page=True)
                paths.append(ticket_shot)

                # The supervisor: the floor on a TV, then the numbers behind it.
                tv = browser.new_context(locale="en-US", viewport={"width": 1920, "height": 1080})
                tv.set_default_timeout(20_000)
                board = tv.new_page()
                board.goto(f"{worker.url}/console/wallboard/")
                board.get_by_label("Username").fill("sofia")
                board.get_by_label("Password").fill(PASSWORD)
                board.get_by_role("button", name="Sign in").click()
                board.wait_for_url(re.compile(r"/console/wallboard/$"))
                expect(board.get_by_role("status")).to_have_text("Live")
                board.wait_for_timeout(300)
                paths.append(out_dir / "wallboard.png")
                board.screenshot(path=str(paths[-1]))
                board.set_viewport_size(VIEWPORT)
                board.goto(f"{worker.url}/console/reports/")
                board.get_by_role("img", name=re.compile("^Chats per day")).wait_for()
                board.wait_for_timeout(300)
                paths.append(out_dir / "reports.png")
                board.screenshot(path=str(paths[-1]), full_page=True)
                browser.close()
        finally:
            worker.stop()
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="write only these (e.g. widget-mobile)"
    )
    args = parser.parse_args(argv)
    if args.only:
        with tempfile.TemporaryDirectory(prefix="chatportal-shots-only-") as tmp:
            capture(Path(tmp))
            written = []
            for name in args.only:
                written.append(args.out / f"{name}.png")
                shutil.copyfile(Path(tmp) / f"{name}.png", written[-1])
    else:
        written = [*capture(args.out), args.out / "widget-mobile.png"]
    for path in written:
        print(f"wrote {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
