"""The 录取结果 panel of a parent's application: what a published run says about it, and the
waiting-list places an answer to an offer leaves in place."""

from django.conf import settings
from django.utils import timezone

from enrollment.models import Application, Offer, Placement, Recheck, WaitlistEntry
from enrollment.portal.parents import forms as portal_forms
from enrollment.selectors.allocation import allocation_run_of_results
from enrollment.selectors.offers import offer_list


def results_context(user, application: Application) -> dict:
    """The 录取结果 panel: only once a run that concerns this application is visible to its
    family (selectors.allocation_run_of_results). Until then the page says when the results
    come, and offers no re-check: there is nothing yet to contest."""
    now = timezone.now()
    run = allocation_run_of_results(application=application, now=now)
    if run is None:
        embargoed = allocation_run_of_results(application=application, now=now, visible=False)
        return {
            "published": False,
            "results_from": embargoed.visible_from
            if embargoed is not None and embargoed.visible_from
            else None,
        }
    offers = list(offer_list(user=user, now=now).filter(application=application))
    waitlist = waitlist_places(application)
    rechecks = list(Recheck.objects.filter(application=application).order_by("-requested_at"))
    return {
        "published": True,
        "run": run,
        # Left out of the run: found ineligible when it was made, so never on its lists.
        "left_out": not Placement.objects.filter(run=run, application=application).exists(),
        "offers": offers,
        "live_offer": next((o for o in offers if o.status in Offer.LIVE), None),
        "waitlist": waitlist,
        "rechecks": rechecks,
        "recheck_open": any(r.status == Recheck.Status.OPEN for r in rechecks),
        "recheck_form": portal_forms.RecheckForm(),
        "recheck_days": getattr(settings, "RECHECK_WINDOW_DAYS", 7),
    }


def waitlist_places(application: Application) -> list[WaitlistEntry]:
    """The application's places on the waiting lists of the run its family sees."""
    run = allocation_run_of_results(application=application, now=timezone.now())
    if run is None:
        return []
    return list(
        WaitlistEntry.objects.filter(run=run, application=application)
        .select_related("school")
        .order_by("position")
    )
