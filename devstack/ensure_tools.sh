#!/usr/bin/env bash
# Installs the system tools the test suite needs on a fresh machine, from Debian's packages:
# - docker-compose, which validates docker-compose.yml (`docker-compose config`) without a Docker engine;
# - redis-server, which the tests start on a port of their own (the gateway's shared rate limits);
# - wrk, the HTTP load generator of bench/gateway.py and bench/registry_get.py;
# - LibreOffice Writer (headless) and Liberation fonts, which turn report DOCX into PDF with the metrics
#   of Times New Roman (services/reporting/reports/pdf.py); poppler-utils' pdftoppm renders pages to PNG;
# - Chromium, the headless browser tests/gateway/test_dashboard_page.py drives with Playwright (the Python
#   package only: `playwright install` would download a browser of its own, which this network refuses).
# A no-op when all are present; needs root (or passwordless sudo) and apt-get otherwise. A user who
# cannot install them still runs the suite: the few tests that need a missing tool are skipped, with
# the reason (tests/kit.py `system_tool`); for root, which make test expects to install them, they fail.
set -euo pipefail

missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-writer-nogui fonts-liberation2)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_tools: ${missing[*]} missing and apt-get is not available; install them" >&2
    exit 0  # the tests that need them say what is missing
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "ensure_tools: ${missing[*]} missing and this user cannot install them (run as root);" \
         "the tests that need them are skipped" >&2
    exit 0
fi

echo "ensure_tools: installing ${missing[*]} (Debian packages)" >&2
export DEBIAN_FRONTEND=noninteractive
# A failed install does not stop `make test`: the rest of the suite runs and the tests that need the
# tool fail naming what is missing.
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "ensure_tools: could not install ${missing[*]}; the tests that need them will fail" >&2
fi
exit 0
