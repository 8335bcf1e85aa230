"""What the KPIs need that no other app records: support's expenses."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from queues.models import Department

# The KPIs a target may be set on (reports.kpis computes each; docs/kpis.md defines them).
TARGET_METRICS = [
    ("chats_total", _("Chats")),
    ("chats_missed", _("Missed chats")),
    ("wait_s_median", _("Median wait (s)")),
    ("first_response_s_median", _("Median first response (s)")),
    ("handle_s_median", _("Median handle time (s)")),
    ("tickets_solved", _("Tickets solved")),
    ("resolution_s_median", _("Median resolution (s)")),
    ("sla_first_response_met_pct", _("First-response SLA met (%)")),
    ("sla_resolution_met_pct", _("Resolution SLA met (%)")),
    ("csat_avg", _("CSAT (1-5)")),
]
COUNT_METRICS = frozenset({"chats_total", "chats_missed", "tickets_solved"})
LOWER_IS_BETTER = frozenset(
    {
        "chats_missed",
        "wait_s_median",
        "first_response_s_median",
        "handle_s_median",
        "resolution_s_median",
    }
)

currency_code = RegexValidator(r"^[A-Z]{3}$", _("An ISO 4217 code: three capital letters."))


class SupportExpense(models.Model):
    """What support cost over a period (salaries, tools, …), entered by an admin.

    Without a department it is the whole support organization's. The KPIs
    spread an expense evenly over the days of its period (docs/kpis.md).
    """

    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"), help_text=_("Inclusive."))
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="support_expenses",
        verbose_name=_("department"),
        help_text=_("Empty: the whole support organization."),
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(
        _("currency"), max_length=3, default="EUR", validators=[currency_code]
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start"]
        verbose_name = _("support expense")
        verbose_name_plural = _("support expenses")
        indexes = [
            models.Index(fields=["period_start", "period_end"], name="reports_exp_period_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="reports_expense_period_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period_start}–{self.period_end} {self.amount} {self.currency}"

    def clean(self) -> None:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValidationError({"period_end": _("The period ends before it starts.")})


class KpiTarget(models.Model):
    """A goal for a team (department) or one agent: a KPI, a value, the period it is set for.

    Counts (chats, tickets solved, …) are goals per period and are scaled to
    the length of the range a report shows (a week's 70 is 10 a day); rates,
    medians and averages are goals as they are, whatever the range. Whether
    higher or lower is better follows from the metric (`LOWER_IS_BETTER`).
    """

    class Period(models.TextChoices):
        DAY = "day", _("per day")
        WEEK = "week", _("per week")
        MONTH = "month", _("per month")

    PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}

    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="kpi_targets",
        verbose_name=_("department"),
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="kpi_targets",
        verbose_name=_("agent"),
    )
    metric = models.CharField(_("KPI"), max_length=40, choices=TARGET_METRICS)
    value = models.DecimalField(_("target value"), max_digits=14, decimal_places=2)
    period = models.CharField(
        _("period"), max_length=5, choices=Period.choices, default=Period.MONTH
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["metric", "pk"]
        verbose_name = _("KPI target")
        verbose_name_plural = _("KPI targets")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(department__isnull=False, agent__isnull=True)
                    | models.Q(department__isnull=True, agent__isnull=False)
                ),
                name="reports_target_team_or_agent",
            ),
        ]

    def __str__(self) -> str:
        who = self.department or self.agent
        return f"{who}: {self.get_metric_display()} {self.value} {self.get_period_display()}"

    def clean(self) -> None:
        if (self.department_id is None) == (self.agent_id is None):
            raise ValidationError(_("Set either a department or an agent, not both."))

    @property
    def is_count(self) -> bool:
        return self.metric in COUNT_METRICS

    @property
    def lower_is_better(self) -> bool:
        return self.metric in LOWER_IS_BETTER

    def value_for_days(self, days: int) -> float:
        """The target over a range of `days`: counts scale with the range, the rest do not."""
        if not self.is_count:
            return float(self.value)
        return round(float(self.value) * days / self.PERIOD_DAYS[self.period], 1)
