#!/usr/bin/env bash
# resources/icons/clearbg.png -> clearbg.icns (run once on macOS before building the .app).
set -euo pipefail
cd "$(dirname "$0")/../../resources/icons"
mkdir -p clearbg.iconset
for size in 16 32 64 128 256 512; do
  sips -z $size $size clearbg.png --out clearbg.iconset/icon_${size}x${size}.png >/dev/null
  sips -z $((size * 2)) $((size * 2)) clearbg.png --out clearbg.iconset/icon_${size}x${size}@2x.png >/dev/null
done
iconutil -c icns clearbg.iconset -o clearbg.icns
rm -rf clearbg.iconset
