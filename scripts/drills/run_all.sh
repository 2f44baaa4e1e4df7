#!/usr/bin/env bash
# Runs every fault drill in turn; each prints one JSON line of figures and exits non-zero when
# an application was lost or decided twice. DATABASE_URL / CELERY_BROKER_URL name the server
# (each drill makes its own database and uses its own Redis database number or server).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
status=0
for drill in worker_kill redis_restart registry_faults concurrent_override duplicate_submission \
  notifications; do
  "$PY" "scripts/drills/$drill.py" 2>/dev/null | grep '^{"drill"' || status=1
done
exit $status
