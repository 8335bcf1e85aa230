"""What the KPIs need that no other app records: support's expenses."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from queues.models import Department

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
