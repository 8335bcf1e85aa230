"""Every department setting is editable in the admin; an agent's profile is on the user's page."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from queues.models import AgentProfile, Department
from tests.admin_forms import change_form_data
from tests.factories import make_agent, make_department

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, db):
    client.force_login(
        get_user_model().objects.create_superuser("root", "root@example.com", "x-pass-123")
    )
    return client


def test_the_department_form_has_every_setting():
    editable = {
        field.name
        for field in Department._meta.get_fields()
        if getattr(field, "editable", False) and field.concrete and not field.auto_created
    }
    form = admin.site.get_model_admin(Department).form
    assert editable - set(form.base_fields) == set()


def test_the_ticket_after_time_is_saved_from_the_admin(admin_client):
    support = make_department("support")
    url = reverse("admin:queues_department_change", args=[support.pk])
    data = change_form_data(admin_client.get(url))
    assert data["auto_ticket_after_s"] == "600"
    data["auto_ticket_after_s"] = "0"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    support.refresh_from_db()
    assert support.auto_ticket_after_s == 0


def test_an_agents_profile_is_edited_on_the_users_page(admin_client):
    boris = make_agent("boris", ["support"], max_chats=3)
    sales = make_department("sales")
    url = reverse("admin:auth_user_change", args=[boris.pk])
    data = change_form_data(admin_client.get(url))
    data["agent_profile-0-max_chats"] = "5"
    data["agent_profile-0-departments"] = [str(sales.pk)]
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    profile = AgentProfile.objects.get(user=boris)
    assert profile.max_chats == 5
    assert list(profile.departments.all()) == [sales]
