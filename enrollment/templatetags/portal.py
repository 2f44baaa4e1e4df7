"""The portal's template filters; the words themselves live in enrollment.portal.vocabulary."""

from django import template

from enrollment.portal import vocabulary

register = template.Library()

register.filter("decision_reason", vocabulary.decision_reason)
register.filter("masked", vocabulary.masked)
register.filter("local_day", vocabulary.local_day)
register.filter("hukou_class", vocabulary.hukou_class_label)
register.filter("housing_class", vocabulary.housing_class_label)
register.filter("school_offer_status", vocabulary.school_offer_status)
