"""Dates as the viewer reads them, in a machine-readable wrapper.

`{% local_time value %}` writes
`<time datetime="2026-10-25T00:30:00.000Z">Oct. 25, 2026, 3:30 a.m.</time>`:
the attribute is the moment in UTC (the wire format, foundation.timestamps),
the text is the moment in the active zone (the viewer's, activated per
request by chatportal.viewer_middleware and per render by the sockets) in
the active language's format. A second argument picks another format
(`"SHORT_DATETIME_FORMAT"`, `"Y-m-d H:i"`), `css_class=` a class for the element. A calendar date (a warranty's
end) has no zone: it is written as it is.

`{% local_clock zone %}` is "now" somewhere else: "14:05 in Vladivostok",
for the customer beside an agent's screen; nothing when the zone is unknown.

In `crm`, the lowest app with templates' tags, so every higher app's
templates can load it.
"""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from foundation.time_zones import city_of_zone, is_unknown_zone, is_valid_zone, zone_or_utc
from foundation.timestamps import iso_timestamp

register = template.Library()


def _moment(value: object) -> datetime.datetime | datetime.date | None:
    if isinstance(value, str) and value:
        try:
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime.datetime):
        if timezone.is_naive(value):
            value = value.replace(tzinfo=datetime.UTC)
        return value
    if isinstance(value, datetime.date):
        return value
    return None


@register.simple_tag
def local_time(
    value: object, fmt: str = "DATETIME_FORMAT", css_class: str = ""
) -> SafeString | str:
    moment = _moment(value)
    if moment is None:
        return ""
    if isinstance(moment, datetime.datetime):
        stamp = iso_timestamp(moment)
        text = date_format(timezone.localtime(moment), fmt)
    else:
        stamp = moment.isoformat()
        text = date_format(moment, "DATE_FORMAT" if fmt == "DATETIME_FORMAT" else fmt)
    if css_class:
        return format_html('<time class="{}" datetime="{}">{}</time>', css_class, stamp, text)
    return format_html('<time datetime="{}">{}</time>', stamp, text)


@register.simple_tag
def local_clock(zone: object, now: datetime.datetime | None = None) -> SafeString | str:
    """The time now in `zone` and its city; "" for a zone nobody set or this machine lacks."""
    if not isinstance(zone, str) or is_unknown_zone(zone) or not is_valid_zone(zone):
        return ""
    moment = now or timezone.now()
    there = moment.astimezone(zone_or_utc(zone))
    return format_html(
        '<span class="local-clock" data-time-zone="{zone}">{text}</span>',
        zone=zone,
        text=format_html(
            _("{time} in {city}"),
            time=format_html(
                '<time datetime="{}">{}</time>', iso_timestamp(moment), time_format(there)
            ),
            city=city_of_zone(zone),
        ),
    )
