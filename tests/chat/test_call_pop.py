"""A PBX's `ringing` pops the caller on the right consoles; later states update the same pop."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from chat.actions.calls import report_call
from crm.models import ContactPhone, Organization
from tests.chat.conftest import open_agent
from tests.factories import make_agent, make_contact

pytestmark = pytest.mark.django_db(transaction=True)


def maria_with_a_phone():
    from crm.models import Asset, Product, SlaPlan, SupportContract

    organization = Organization.objects.create(name="Electrica Nord SRL")
    contact = make_contact("Maria Popescu")
    contact.organization = organization
    contact.save()
    ContactPhone.objects.create(contact=contact, number="+40721234567", is_primary=True)
    product = Product.objects.create(name="RZA-500", line="Relay protection")
    Asset.objects.create(contact=contact, product=product, serial_number="RZA-2024-0001")
    plan = SlaPlan.objects.create(
        name="Gold 24x7", first_response_minutes=60, resolution_minutes=480, is_24x7=True
    )
    import datetime

    today = datetime.date.today()
    SupportContract.objects.create(
        organization=organization,
        plan=plan,
        starts_on=today - datetime.timedelta(days=10),
        ends_on=today + datetime.timedelta(days=300),
    )
    return contact


async def online(agent_socket, username):
    await agent_socket.send({"type": "presence", "status": "online"})
    await agent_socket.expect("presence", agent=username, status="online")


async def test_ringing_for_a_named_agent_pops_the_callers_summary_on_that_console(
    support_agent, sales_agent
):
    await database_sync_to_async(maria_with_a_phone)()
    boris, _ = await open_agent(support_agent)
    sara, _ = await open_agent(sales_agent)
    await database_sync_to_async(report_call)(
        phone="0721 234 567", direction="inbound", call_id="c1", state="ringing", agent="boris"
    )
    frame = await boris.expect("call")
    call = frame["call"]
    assert call["state"] == "ringing" and call["phone"] == "+40721234567"
    assert call["direction"] == "inbound"
    contact = call["contact"]
    assert contact["name"] == "Maria Popescu"
    assert contact["organization"]["name"] == "Electrica Nord SRL"
    assert [a["serial_number"] for a in contact["assets"]] == ["RZA-2024-0001"]
    assert contact["contract"]["plan"] == "Gold 24x7" and contact["contract"]["is_24x7"]
    assert await sara.silent()
    await boris.close()
    await sara.close()


async def test_ringing_a_department_reaches_its_online_agents_and_updates_reach_them_too(
    support, support_agent, sales_agent
):
    ana = await database_sync_to_async(make_agent)("ana", [support])
    boris, _ = await open_agent(support_agent)
    ana_socket, _ = await open_agent(ana)
    sara, _ = await open_agent(sales_agent)
    await online(boris, "boris")
    await online(sara, "sara")
    # Ana is connected but not online: she is not rung.
    await database_sync_to_async(report_call)(
        phone="+40 722 000 111",
        direction="inbound",
        call_id="c2",
        state="ringing",
        department="support",
    )
    popped = await boris.expect("call")
    assert popped["call"]["contact"] is None
    assert popped["call"]["state"] == "ringing"
    assert await sara.silent()
    assert await ana_socket.silent()
    await database_sync_to_async(report_call)(
        phone="+40 722 000 111",
        direction="inbound",
        call_id="c2",
        state="answered",
        agent="boris",
    )
    answered = await boris.expect("call")
    assert answered["call"]["state"] == "answered" and answered["call"]["agent"] == "boris"
    await database_sync_to_async(report_call)(
        phone="+40 722 000 111", direction="inbound", call_id="c2", state="ended"
    )
    ended = await boris.expect("call")
    assert ended["call"]["state"] == "ended"
    assert ended["call"]["duration_s"] is not None
    for socket in (boris, ana_socket, sara):
        await socket.close()


async def test_a_call_reported_after_it_ended_pops_nowhere(support_agent):
    boris, _ = await open_agent(support_agent)
    await online(boris, "boris")
    await database_sync_to_async(report_call)(
        phone="+40 722 000 111", direction="inbound", agent="boris", duration_s=60
    )
    assert await boris.silent()
    await boris.close()


async def test_a_console_that_connects_mid_call_pops_it_again(support_agent):
    await database_sync_to_async(report_call)(
        phone="+40 722 000 111", direction="inbound", call_id="c3", state="ringing", agent="boris"
    )
    await database_sync_to_async(report_call)(
        phone="+40 722 000 222", direction="inbound", call_id="c4", state="ringing", agent="boris"
    )
    await database_sync_to_async(report_call)(
        phone="+40 722 000 222", direction="inbound", call_id="c4", state="ended"
    )
    boris, _ = await open_agent(support_agent)
    frame = await boris.expect("call")
    assert frame["call"]["phone"] == "+40722000111" and frame["call"]["state"] == "ringing"
    assert await boris.silent()
    await boris.close()
