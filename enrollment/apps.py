from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = "Enrollment"
    default_auto_field = "django.db.models.BigAutoField"
