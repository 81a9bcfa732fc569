#!/usr/bin/env bash
# Installs what the playground's browser test (`npm run test:e2e -w @tarm/playground`) needs beyond npm:
# Debian's Chromium at /usr/bin/chromium. playwright-core drives it; no browser is ever downloaded.
# Idempotent: does nothing when Chromium is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "install-e2e: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium
/usr/bin/chromium --version
