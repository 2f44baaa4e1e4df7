"""The registry in Django's admin: header mappings only, the one table of the registry that
people maintain by hand (facts come from feeds, the audit log is append-only)."""

from django.contrib import admin

from registry.models import HeaderMapping


@admin.register(HeaderMapping)
class HeaderMappingAdmin(admin.ModelAdmin):
    list_display = ("source", "header_set", "header", "column", "created_by", "created_at")
    list_filter = ("source", "header_set")
    search_fields = ("header", "header_set")
    readonly_fields = ("created_by", "created_at")

    def save_model(self, request, obj, form, change):
        # Stored as the import compares it, and with who added it.
        from registry.loading.rows import header_name

        obj.header = header_name(obj.header)
        if not change:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)
