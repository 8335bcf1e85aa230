"""Which departments a contact's products route to (`ProductRoute.department`).

The rule is `queues.routing.product_department`; this module only reads.
"""

from __future__ import annotations

from queues.models import Department, ProductRoute
from queues.routing import product_department


def owned_product_departments(contact_id: int | None) -> list[str]:
    """Slugs of the departments the contact's products are routed to."""
    if contact_id is None:
        return []
    return list(
        ProductRoute.objects.filter(
            product__assets__contact_id=contact_id, department__isnull=False
        )
        .values_list("department__slug", flat=True)
        .distinct()
    )


def routed_department(product_id: int | None) -> str | None:
    """The department slug a product is routed to, if any."""
    if product_id is None:
        return None
    return (
        ProductRoute.objects.filter(product_id=product_id, department__isnull=False)
        .values_list("department__slug", flat=True)
        .first()
    )


def department_for_contact(
    requested: Department, contact_id: int | None, *, product_id: int | None = None
) -> Department:
    """`requested`, or the department the products route to.

    `product_id`: the product the chat or ticket names (its asset's), which
    wins over the products the contact owns.
    """
    named = routed_department(product_id)
    owned = [] if named else owned_product_departments(contact_id)
    slug = product_department(requested.slug, named=named, owned=owned)
    if slug == requested.slug:
        return requested
    return Department.objects.filter(slug=slug).first() or requested
