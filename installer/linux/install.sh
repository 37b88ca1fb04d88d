#!/usr/bin/env bash
# Install the unpacked ClearBG folder for the current user: ~/.local/opt/ClearBG, a launcher in
# ~/.local/bin, the menu entry and the icon. Run it from inside the unpacked folder.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PREFIX="${PREFIX:-$HOME/.local}"
mkdir -p "$PREFIX/opt" "$PREFIX/bin" "$PREFIX/share/applications" "$PREFIX/share/icons/hicolor/512x512/apps"
rm -rf "$PREFIX/opt/ClearBG"
cp -a "$HERE" "$PREFIX/opt/ClearBG"
ln -sf "$PREFIX/opt/ClearBG/clearbg" "$PREFIX/bin/clearbg"
ln -sf "$PREFIX/opt/ClearBG/clearbg-cli" "$PREFIX/bin/clearbg-cli"
sed "s|^Exec=clearbg|Exec=$PREFIX/opt/ClearBG/clearbg|" "$HERE/clearbg.desktop" > "$PREFIX/share/applications/clearbg.desktop"
cp "$HERE/clearbg.png" "$PREFIX/share/icons/hicolor/512x512/apps/clearbg.png"
command -v update-desktop-database >/dev/null && update-desktop-database "$PREFIX/share/applications" || true
echo "ClearBG installed in $PREFIX/opt/ClearBG; start it from the menu or with: clearbg"
