"""Forms of the school staff's pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from enrollment.models import Offer


class EnrolmentForm(forms.Form):
    """The school marks whether an admitted child enrolled (报到)."""

    ref = forms.CharField(max_length=32, widget=forms.HiddenInput)
    # Nothing chosen until the school chooses: a default of 已报到 would record a child who
    # never came at the first careless 保存.
    enrolment = forms.ChoiceField(
        label=_("报到情况"), choices=[("", _("尚未登记"))] + list(Offer.Enrolment.choices)
    )
    reason = forms.CharField(label=_("备注"), required=False, max_length=500, strip=True)
