"""Who looked at my data: every registry query about the child and the guardians."""

from datetime import datetime

from django.shortcuts import render
from django.views.decorators.http import require_GET

from enrollment.access import parent_required
from enrollment.gateway import RegistryUnavailable, get_gateway
from enrollment.portal.parents.views import own_application
from enrollment.selectors.applications import applicant_related
from registry.contract import client_label, purpose_label


@parent_required
@require_GET
def application_lookups(request, ref: str):
    """Who looked at my data: every registry query about the child and the guardians."""
    application = own_application(request, ref)
    decision = (application.current_decisions or [None])[0]
    if applicant_related(application=application, decision=decision) is False:
        # Until its relation is confirmed, the account learns only about its own number.
        id_numbers = [request.user.verified_id_number]
    else:
        id_numbers = [application.child_id_number] + [
            g.id_number for g in application.guardians.all()
        ]
    unavailable = False
    try:
        records = get_gateway().lookups_about(id_numbers=id_numbers)
    except RegistryUnavailable:
        records, unavailable = [], True
    rows = [
        {
            "at": datetime.fromisoformat(record.at),
            "who": client_label(record.client_id, record.client_name),
            "client_id": record.client_id,
            "purpose": purpose_label(record.purpose),
            "consent_reference": record.consent_reference,
            "answered": record.outcome == "answered",
        }
        for record in records
    ]
    return render(
        request,
        "enrollment/lookups.html",
        {"application": application, "rows": rows, "unavailable": unavailable},
    )
