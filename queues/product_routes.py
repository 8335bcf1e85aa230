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


def department_for_contact(requested: Department, contact_id: int | None) -> Department:
    """`requested`, or the department the contact's products route to."""
    slug = product_department(requested.slug, owned=owned_product_departments(contact_id))
    if slug == requested.slug:
        return requested
    return Department.objects.filter(slug=slug).first() or requested
