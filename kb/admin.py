from django.contrib import admin

from kb.models import Article, ArticleRevision, ArticleVote, Category


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "locale", "slug", "position")
    list_filter = ("locale",)
    prepopulated_fields = {"slug": ("name",)}


class RevisionInline(admin.TabularInline):
    model = ArticleRevision
    extra = 0
    fields = ("number", "title", "status", "audience", "author", "note", "created_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "locale", "audience", "status", "view_count", "helpful_count")
    list_filter = ("locale", "audience", "status", "departments")
    search_fields = ("title", "slug")
    filter_horizontal = ("departments", "products")
    raw_id_fields = ("source_tickets",)
    readonly_fields = (
        "public_id",
        "translation_group",
        "view_count",
        "helpful_count",
        "unhelpful_count",
        "suggested_count",
        "deflection_count",
    )
    inlines = [RevisionInline]


@admin.register(ArticleVote)
class ArticleVoteAdmin(admin.ModelAdmin):
    list_display = ("article", "voter", "helpful", "created_at")
    list_filter = ("helpful",)
