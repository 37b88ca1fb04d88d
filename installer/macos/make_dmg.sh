#!/usr/bin/env bash
# Build dist/ClearBG-<version>-macos.dmg from dist/ClearBG.app (made by `python installer/build.py` on macOS).
# Needs Xcode command line tools (hdiutil, iconutil). Sign/notarise with your Developer ID before shipping:
#   codesign --deep --force --options runtime --sign "Developer ID Application: ..." dist/ClearBG.app
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=$(python3 -c 'import clearbg_desktop; print(clearbg_desktop.__version__)')
APP=dist/ClearBG.app
[ -d "$APP" ] || { echo "missing $APP: run python installer/build.py first" >&2; exit 1; }
"$APP/Contents/MacOS/clearbg" --self-test
STAGING=$(mktemp -d)
cp -R "$APP" "$STAGING/"
ln -s /Applications "$STAGING/Applications"
hdiutil create -volname "ClearBG $VERSION" -srcfolder "$STAGING" -ov -format UDZO "dist/ClearBG-$VERSION-macos.dmg"
rm -rf "$STAGING"
echo "dist/ClearBG-$VERSION-macos.dmg"
