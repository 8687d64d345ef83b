#!/usr/bin/env sh
# Screenshot a brief (or any local HTML file) with headless Chromium, offline.
#   scripts/screenshot.sh BRIEF.html OUT.png [WIDTHxHEIGHT]   (default 1280x2400)
#   scripts/screenshot.sh BRIEF.html OUT.pdf                  (print to PDF: checks @media print)
# Installs Chromium with apt-get when it is missing (Debian/Ubuntu; needs root or sudo).
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 BRIEF.html OUT.png|OUT.pdf [WIDTHxHEIGHT]" >&2
  exit 2
fi
in=$1
out=$2
size=${3:-1280x2400}
if [ ! -f "$in" ]; then
  echo "$0: $in: no such file" >&2
  exit 2
fi

browser=""
for b in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
  echo "$0: Chromium not found, installing it with apt-get" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  browser=chromium
fi

abs_in=$(cd "$(dirname "$in")" && pwd)/$(basename "$in")
abs_out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

rm -f "$abs_out"
case "$out" in
  *.pdf) set -- "--print-to-pdf=$abs_out" --no-pdf-header-footer ;;
  *) set -- "--screenshot=$abs_out" "--window-size=$(echo "$size" | tr x ,)" --hide-scrollbars ;;
esac

# No network: every background service off; the brief itself requests nothing.
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" "$@" "file://$abs_in" >/dev/null 2>&1 || {
  echo "$0: $browser failed to render $in" >&2
  exit 1
}
if [ ! -s "$abs_out" ]; then
  echo "$0: $browser wrote nothing to $out" >&2
  exit 1
fi
echo "$out"
