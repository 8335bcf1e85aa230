"""Who may see which ticket: one rule for the portal, sockets and the API.

Customers (a Django user with a `contact`) see their own tickets, an
organization admin the organization's; anything else is `TicketNotFound`,
so a customer cannot learn whether someone else's ticket number exists.
Agents see the tickets of their departments and the ones assigned to them;
supervisors see all.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from crm.models import Asset, Contact, SupportContract
from queues.agent_scope import AgentScope, agent_scope
from tickets.errors import TicketNotFound
from tickets.models import NUMBER_PREFIX, Ticket

MAX_NUMBER_CHARS = 20


def normalize_number(raw: object) -> str:
    """`T-1042` from `T-1042` or `t-1042`; anything else is not found."""
    text = str(raw or "").strip().upper()
    digits = text.removeprefix(NUMBER_PREFIX)
    if len(text) > MAX_NUMBER_CHARS or not digits.isdigit() or not text.startswith(NUMBER_PREFIX):
        raise TicketNotFound("no such ticket")
    return text


def customer_contact(user: AbstractBaseUser | None) -> Contact | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    try:
        return user.contact  # type: ignore[attr-defined]
    except Contact.DoesNotExist:
        return None


def tickets_for_customer(user: AbstractBaseUser | None) -> QuerySet[Ticket]:
    """The tickets a customer may see, newest first; none for anyone else."""
    contact = customer_contact(user)
    if contact is None:
        return Ticket.objects.none()
    visible = Q(contact=contact)
    if contact.is_organization_admin and contact.organization_id is not None:
        visible |= Q(organization_id=contact.organization_id)
    return (
        Ticket.objects.filter(visible)
        .select_related("contact", "department", "assignee")
        .order_by("-updated_at")
    )


def access_ticket_for_customer(user: AbstractBaseUser | None, number: object) -> Ticket:
    number = normalize_number(number)
    ticket = tickets_for_customer(user).filter(number=number).first()
    if ticket is None:
        raise TicketNotFound("no such ticket")
    return ticket


@dataclass(frozen=True)
class Equipment:
    assets: QuerySet[Asset]
    contracts: QuerySet[SupportContract]


def equipment_for_customer(user: AbstractBaseUser | None) -> Equipment:
    """A customer's units and their organization's support contracts; nothing for anyone else.

    A contact sees the units registered to them and the organization's units
    registered to nobody in particular; an organization admin sees every unit
    of the organization (as they see its tickets). Contracts are the
    organization's: every contact of it is covered by them.
    """
    contact = customer_contact(user)
    if contact is None:
        return Equipment(assets=Asset.objects.none(), contracts=SupportContract.objects.none())
    visible = Q(contact=contact)
    org_id = contact.organization_id
    if org_id is not None:
        if contact.is_organization_admin:
            visible |= Q(organization_id=org_id)
        else:
            visible |= Q(organization_id=org_id, contact__isnull=True)
    assets = (
        Asset.objects.filter(visible).select_related("product", "contact").order_by("serial_number")
    )
    contracts = (
        SupportContract.objects.filter(organization_id=org_id).select_related("plan")
        if org_id is not None
        else SupportContract.objects.none()
    )
    return Equipment(assets=assets, contracts=contracts.order_by("-ends_on"))


def tickets_for_agent(
    user: AbstractBaseUser | None, *, scope: AgentScope | None = None
) -> QuerySet[Ticket]:
    scope = scope or agent_scope(user)
    if scope is None:
        return Ticket.objects.none()
    tickets = Ticket.objects.all()
    if not scope.is_supervisor:
        tickets = tickets.filter(Q(department_id__in=scope.department_ids) | Q(assignee=user))
    return tickets


def access_ticket_for_agent(
    user: AbstractBaseUser | None, number: object, *, scope: AgentScope | None = None
) -> Ticket:
    """Not found both when it does not exist and when it is another department's."""
    number = normalize_number(number)
    ticket = (
        tickets_for_agent(user, scope=scope)
        .select_related("contact", "organization", "department", "assignee", "sla_plan")
        .filter(number=number)
        .first()
    )
    if ticket is None:
        raise TicketNotFound("no such ticket")
    return ticket
