#!/usr/bin/env bash
# Installs Debian's Chromium when no Chromium is found; Tandem drives it headless.
set -euo pipefail
for c in "${TANDEM_CHROMIUM:-}" chromium chromium-browser google-chrome /usr/bin/chromium; do
  if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1; then
    exit 0
  fi
done
echo "Chromium not found; installing Debian's chromium package..." >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install chromium" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "chromium did not install" >&2; exit 1; }
