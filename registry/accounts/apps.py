from django.apps import AppConfig


class RegistryAccountsConfig(AppConfig):
    name = "registry.accounts"
    label = "registry_accounts"
    verbose_name = "Registry accounts (data stewards)"
    default_auto_field = "django.db.models.BigAutoField"
