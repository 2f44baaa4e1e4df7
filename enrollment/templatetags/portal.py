"""The portal's template filters; the words themselves live in enrollment.portal.vocabulary."""

from django import template

from enrollment.portal import vocabulary

register = template.Library()

register.filter("decision_reason", vocabulary.decision_reason)
register.filter("masked", vocabulary.masked)
register.filter("local_day", vocabulary.local_day)
