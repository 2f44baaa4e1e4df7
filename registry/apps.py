from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Shared registry (data pool)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from registry import lookups  # noqa: F401 - registers `__any` on CharField
