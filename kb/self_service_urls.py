from django.urls import path

from kb import self_service

urlpatterns = [
    path("kb/embed/search/", self_service.help_search, name="kb_help_search"),
    path("kb/embed/<uuid:public_id>/", self_service.article_embed, name="kb_embed"),
    path("portal/kb/suggestions/", self_service.portal_suggestions, name="kb_portal_suggestions"),
    path("portal/kb/<uuid:public_id>/", self_service.portal_article, name="kb_portal_article"),
]
