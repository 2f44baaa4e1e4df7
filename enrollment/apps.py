from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = "Enrollment"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Connects the signals that clear the reference cache when a row changes.
        from enrollment.services import reference  # noqa: F401
