from __future__ import annotations

from django.urls import path, register_converter

from kb.pages import views


class LocaleConverter:
    regex = "en|ro|ru"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(LocaleConverter, "kblocale")

urlpatterns = [
    path("", views.kb_root, name="kb_root"),
    path("sitemap.xml", views.sitemap, name="kb_sitemap"),
    path("<kblocale:locale>/", views.kb_home, name="kb_home"),
    path("<kblocale:locale>/category/<str:slug>/", views.category_page, name="kb_category"),
    path("<kblocale:locale>/<str:slug>/", views.article_page, name="kb_article"),
    path("<kblocale:locale>/<str:slug>/vote/", views.vote, name="kb_vote"),
]
