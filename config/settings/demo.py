"""`make demo` serves the product as families see it: the local settings with DEBUG off.

With DEBUG on, Django answers an unknown address, a bad request or a failed CSRF check with its
own technical pages, in English, showing settings and code; with it off, the product's own
pages (templates/400.html, 403.html, 403_csrf.html, 404.html, 500.html) in the visitor's
language. Static files come from WhiteNoise, which serves them from the finders without
collectstatic (WHITENOISE_USE_FINDERS in local.py), whatever DEBUG says.

`demo_setup` itself runs with the local settings (DEBUG on): it creates well-known logins and
refuses to run without DEBUG, so that no deployment ever gets them (scripts/demo).
"""

from config.settings.local import *  # noqa: F403
from config.settings.local import env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Files are read once at start-up, as in production; nothing changes under a demo.
WHITENOISE_AUTOREFRESH = DEBUG
