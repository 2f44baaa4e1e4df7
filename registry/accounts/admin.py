from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from registry.accounts.models import Steward

admin.site.register(Steward, UserAdmin)
