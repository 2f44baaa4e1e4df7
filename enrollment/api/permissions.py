from rest_framework.permissions import BasePermission

from enrollment.access import has_role
from enrollment.models import Role


def role_permission(*roles: str) -> type[BasePermission]:
    """A permission that admits signed-in users of these roles only."""

    class _RolePermission(BasePermission):
        def has_permission(self, request, view) -> bool:
            return has_role(request.user, roles)

    _RolePermission.__name__ = "Is" + "Or".join(r.title() for r in roles)
    return _RolePermission


IsParent = role_permission(Role.PARENT)
IsOfficer = role_permission(Role.OFFICER)
IsSchoolStaff = role_permission(Role.SCHOOL)
