#!/usr/bin/env bash
# Install the unpacked ClearBG folder for the current user: ~/.local/opt/ClearBG, a launcher in
# ~/.local/bin, the menu entry and the icon, and the .clearbg project type (MIME type + icon), so a file
# manager opens projects and photos with ClearBG. Run it from inside the unpacked folder.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PREFIX="${PREFIX:-$HOME/.local}"
ICONS="$PREFIX/share/icons/hicolor/512x512"
mkdir -p "$PREFIX/opt" "$PREFIX/bin" "$PREFIX/share/applications" "$ICONS/apps" "$ICONS/mimetypes" \
         "$PREFIX/share/mime/packages"
rm -rf "$PREFIX/opt/ClearBG"
cp -a "$HERE" "$PREFIX/opt/ClearBG"
ln -sf "$PREFIX/opt/ClearBG/clearbg" "$PREFIX/bin/clearbg"
ln -sf "$PREFIX/opt/ClearBG/clearbg-cli" "$PREFIX/bin/clearbg-cli"
sed "s|^Exec=clearbg|Exec=$PREFIX/opt/ClearBG/clearbg|" "$HERE/clearbg.desktop" > "$PREFIX/share/applications/clearbg.desktop"
cp "$HERE/clearbg.png" "$ICONS/apps/clearbg.png"
cp "$HERE/clearbg.png" "$ICONS/mimetypes/application-x-clearbg-project.png"
cp "$HERE/clearbg-mime.xml" "$PREFIX/share/mime/packages/clearbg.xml"
command -v update-mime-database >/dev/null && update-mime-database "$PREFIX/share/mime" || true
command -v update-desktop-database >/dev/null && update-desktop-database "$PREFIX/share/applications" || true
command -v xdg-mime >/dev/null && xdg-mime default clearbg.desktop application/x-clearbg-project 2>/dev/null || true
echo "ClearBG installed in $PREFIX/opt/ClearBG; start it from the menu or with: clearbg (it opens .clearbg projects)"
