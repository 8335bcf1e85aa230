from django.contrib import admin

from reports.models import SupportExpense


@admin.register(SupportExpense)
class SupportExpenseAdmin(admin.ModelAdmin):
    list_display = ("period_start", "period_end", "department", "amount", "currency", "note")
    list_filter = ("department", "currency")
    date_hierarchy = "period_start"
