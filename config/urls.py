"""The single deployment (DEPLOYMENT=single, the demo and the tests): both agencies' URLs in
one process. The registry's come first: the parents' portal takes every other address."""

from config.urls_common import common_urlpatterns
from config.urls_enrollment import enrollment_urlpatterns
from config.urls_registry import registry_urlpatterns

urlpatterns = [*common_urlpatterns, *registry_urlpatterns, *enrollment_urlpatterns]

# Answers in the APIs' JSON shape under their prefixes, the site's pages elsewhere.
handler400 = "config.web.bad_request"
handler404 = "config.web.not_found"
handler500 = "config.web.server_error"
