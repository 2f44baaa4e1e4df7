from django.contrib.auth.models import AbstractUser
from django.db import models

from registry.models import STEWARD_ROLE


class Steward(AbstractUser):
    """An account of the registry's deployment (AUTH_USER_MODEL there).

    `role` is the same word the single deployment's accounts carry, so the stewards' pages
    (`registry.stewards.access`) and their notices ask one question in both deployments.
    """

    role = models.CharField(
        max_length=16, choices=[(STEWARD_ROLE, "data steward")], default=STEWARD_ROLE
    )

    class Meta:
        db_table = "registry_steward"
