#!/usr/bin/env bash
# Everything the test suite needs on a fresh machine, idempotently: Debian's chromium for the
# service's browser test (Playwright drives /usr/bin/chromium; it cannot download its own
# browsers here), then the package with its test extra.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && apt-get install -y -q --no-install-recommends chromium \
      || echo "install-test-deps: could not install chromium; the browser test will skip and say why" >&2
  else
    echo "install-test-deps: /usr/bin/chromium is missing and apt-get (as root) is not available;" \
         "the browser test will skip and say why" >&2
  fi
fi
pip install -e '.[test]'
