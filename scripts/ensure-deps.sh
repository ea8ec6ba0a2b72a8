#!/usr/bin/env bash
# Installs what Tandem needs from Debian when it is missing: Chromium, which it drives
# headless, and libjpeg-turbo, with which it paints masks (skip it with TAGS= in make).
set -euo pipefail
pkgs=()
have_chromium=""
for c in "${TANDEM_CHROMIUM:-}" chromium chromium-browser google-chrome /usr/bin/chromium; do
  if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1; then have_chromium=1; break; fi
done
[ -n "$have_chromium" ] || pkgs+=(chromium fonts-liberation)
if [[ " ${TAGS:-turbojpeg} " == *" turbojpeg "* ]] && [ ! -f /usr/include/turbojpeg.h ]; then
  pkgs+=(libturbojpeg0-dev)
fi
command -v gcc >/dev/null 2>&1 || pkgs+=(gcc libc6-dev)
[ ${#pkgs[@]} -eq 0 ] && exit 0
echo "installing from Debian: ${pkgs[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install: ${pkgs[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
command -v chromium >/dev/null 2>&1 || [ -n "$have_chromium" ] || { echo "chromium did not install" >&2; exit 1; }
