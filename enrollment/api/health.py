"""A bare health endpoint: no authentication, no serializer, one trivial database query.

Monitoring polls it to see that a web worker answers and reaches PostgreSQL; the opening-day
benchmark uses it as the baseline for what the stack serves with no product logic at all.
"""

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"ok": False, "database": "unreachable"}, status=503)
    return JsonResponse({"ok": True})
