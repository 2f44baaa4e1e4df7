"""Forms of the school staff's pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from enrollment.models import Offer


class EnrolmentForm(forms.Form):
    """The school marks whether an admitted child enrolled (报到)."""

    ref = forms.CharField(max_length=32, widget=forms.HiddenInput)
    enrolment = forms.ChoiceField(label=_("报到情况"), choices=Offer.Enrolment.choices)
    reason = forms.CharField(label=_("备注"), required=False, max_length=500, strip=True)
