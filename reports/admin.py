from django.contrib import admin

from reports.models import KpiTarget, SupportExpense


@admin.register(SupportExpense)
class SupportExpenseAdmin(admin.ModelAdmin):
    list_display = ("period_start", "period_end", "department", "amount", "currency", "note")
    list_filter = ("department", "currency")
    date_hierarchy = "period_start"


@admin.register(KpiTarget)
class KpiTargetAdmin(admin.ModelAdmin):
    list_display = ("metric", "department", "agent", "value", "period")
    list_filter = ("metric", "period", "department")
    raw_id_fields = ("agent",)
