"""Third-party notices for the bundle: who wrote what we ship, under which licence, with the licence texts.

Why at build time, from the files PyInstaller actually collects: a hand-kept list goes stale the day a
dependency pulls in another (the bundle carried licence files for two of its ~20 distributions, #43). The spec
hands every collected file to ``collect``; each file is traced to the Python distribution whose RECORD lists it,
to the interpreter, or to the Debian package that installed it (system libraries), and the U²-Net weights'
licence comes from their model cards. ``missing_licences`` names what has no licence, and the build stops then.

    python installer/notices.py OUT.txt     # the notices of this environment's ClearBG and its dependencies
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
KNOWN_WORDS = ("MIT", "X11", "Expat", "BSD", "ISC", "zlib", "LGPL", "GPL", "MPL", "Apache", "public domain")
LICENCE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|COPYRIGHT|ThirdPartyNotices)", re.IGNORECASE)
OUR_DISTRIBUTION = "clearbg-desktop"
QT_DISTRIBUTIONS = {"pyside6-essentials", "pyside6", "pyside6-addons", "shiboken6"}
# Qt's licence texts: the wheels carry none (PySide6-Essentials 6.12 has no licence file in its dist-info).
QT_TEXTS = (HERE / "licences" / "LGPL-3.0.txt", HERE / "licences" / "GPL-3.0.txt")
# A distribution whose wheel ships no licence file but names a licence we carry the standard text of.
STANDARD_TEXTS = {"apache": HERE / "licences" / "Apache-2.0.txt"}

QT_OBLIGATIONS = """\
Qt and Qt for Python (PySide6, shiboken6) are used under the GNU Lesser General Public License v3 (LGPLv3).
What that means for you, plainly:
  * You may use, copy and pass on ClearBG with these libraries in it; the LGPLv3 and GPLv3 texts follow.
  * The Qt libraries are separate files in the app's folder, never compiled into ClearBG:
      Linux:   _internal/libQt6*.so.6 and _internal/PySide6/ (plugins in _internal/PySide6/Qt/plugins)
      Windows: _internal\\PySide6\\Qt6*.dll      macOS: ClearBG.app/Contents/Frameworks/PySide6/Qt/lib
    You may replace them with your own build of the same Qt version (or a compatible one): put your files in
    their place and start ClearBG as before. Nothing in ClearBG stops you or checks them.
  * The source of Qt is at https://download.qt.io/official_releases/qt/ (and https://code.qt.io/); the source of
    Qt for Python at https://download.qt.io/official_releases/QtForPython/ and https://code.qt.io/pyside/pyside-setup.
    The versions in this bundle are listed below. On request we send the same source on a physical medium at cost.
  * ClearBG's own code is Apache-2.0 and its source is public; you may modify it and relink it with Qt.
"""


@dataclass
class Notice:
    """One thing we ship that someone else wrote: its licence (an SPDX expression or the author's words) and texts."""

    kind: str  # python | interpreter | native | model
    name: str
    version: str
    licence: str
    texts: list[tuple[str, str]] = field(default_factory=list)  # (file name, text)
    note: str = ""
    files: list[str] = field(default_factory=list)  # native libraries it brings, as named in the bundle

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name.lower()}"


# ----- Python distributions -------------------------------------------------------------------------------------


def normalized(name: str) -> str:
    """PEP 503's form of a distribution name (``PySide6_Essentials`` -> ``pyside6-essentials``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution_licence(dist: metadata.Distribution) -> str:
    """The licence as the metadata says it: PEP 639's expression, a short ``License`` field, or the trove classifiers."""
    meta = dist.metadata
    expression = (meta.get("License-Expression") or "").strip()
    if expression:
        return expression
    field_text = (meta.get("License") or "").strip()
    if field_text and "\n" not in field_text and len(field_text) < 120 and field_text.upper() != "UNKNOWN":
        return field_text
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    if classifiers:
        return " OR ".join(classifiers) if len(classifiers) > 1 else classifiers[0]
    if field_text and field_text.upper() != "UNKNOWN":
        return field_text.splitlines()[0][:120]
    return ""


def distribution_texts(dist: metadata.Distribution) -> list[tuple[str, str]]:
    """The licence files the distribution ships (PEP 639 ``licenses/`` or the legacy dist-info files, or a
    licence file inside its package), and a ``License`` field that holds a whole text."""
    found: dict[str, str] = {}
    for entry in dist.files or []:
        parts = entry.parts
        in_info = parts[0].endswith((".dist-info", ".egg-info"))
        licences_dir = in_info and len(parts) > 2 and parts[1] == "licenses"
        top_level = len(parts) == 2 and LICENCE_FILE.match(entry.name)
        if not (licences_dir or top_level) or entry.name.endswith((".py", ".pyc")):
            continue
        if licences_dir and not (LICENCE_FILE.match(entry.name) or "licen" in entry.name.lower()):
            continue  # PEP 639 folders sometimes carry README or CHANGELOG as well
        try:
            text = Path(str(dist.locate_file(entry))).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found["/".join(parts[2:] if licences_dir else parts[1:])] = text
    field_text = (dist.metadata.get("License") or "").strip()
    if not found and "\n" in field_text:
        found["License (from the package metadata)"] = field_text
    return sorted(found.items())


def _index_files(dists: Iterable[metadata.Distribution]) -> dict[str, metadata.Distribution]:
    """Real path of every file a distribution's RECORD lists -> that distribution."""
    owner: dict[str, metadata.Distribution] = {}
    for dist in dists:
        for entry in dist.files or []:
            owner.setdefault(os.path.realpath(str(dist.locate_file(entry))), dist)
    return owner


def python_notice(dist: metadata.Distribution, libraries: Iterable[str] = ()) -> Notice:
    name = dist.metadata["Name"]
    notice = Notice("python", name, dist.version, distribution_licence(dist), distribution_texts(dist),
                    files=sorted(set(libraries)))
    if not notice.texts:
        for word, path in STANDARD_TEXTS.items():
            if word in notice.licence.lower() and path.is_file():
                notice.texts.append((f"{path.name} (the standard text: the package ships no licence file)",
                                     path.read_text(encoding="utf-8")))
    if normalized(name) in QT_DISTRIBUTIONS:
        notice.note = QT_OBLIGATIONS
        notice.texts += [(path.name, path.read_text(encoding="utf-8")) for path in QT_TEXTS if path.is_file()]
    return notice


# ----- the interpreter and system libraries ---------------------------------------------------------------------


def interpreter_notice() -> Notice:
    """CPython itself (libpython and the standard library are in every PyInstaller bundle): the PSF licence."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts = [("LICENSE.txt", (stdlib / "LICENSE.txt").read_text(encoding="utf-8"))] \
        if (stdlib / "LICENSE.txt").is_file() else []
    return Notice("interpreter", "Python", sys.version.split()[0], "PSF-2.0", texts,
                  note="The Python interpreter and its standard library, as PyInstaller bundles them. PyInstaller's "
                       "bootloader (the small program that starts ClearBG) is GPL-2.0-or-later with an exception "
                       "that allows distributing it with any program.")


def debian_package(path: str) -> str | None:
    """The Debian package that installed ``path`` (or the file it links to), or None (not dpkg-managed)."""
    candidates = [path, os.path.realpath(path)]
    candidates += [c.replace("/usr/lib/", "/lib/", 1) for c in candidates if c.startswith("/usr/lib/")]
    candidates += [c.replace("/lib/", "/usr/lib/", 1) for c in candidates if c.startswith("/lib/")]
    for candidate in dict.fromkeys(candidates):
        try:
            result = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if result.returncode == 0 and ":" in result.stdout:
            return result.stdout.split(":")[0].split(",")[0].strip()
    return None


def debian_notice(package: str, libraries: Iterable[str]) -> Notice:
    """A system library's package: version from dpkg, licence and text from its Debian copyright file."""
    try:
        version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True,
                                 timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        version = ""
    copyright_file = Path("/usr/share/doc") / package.split(":")[0] / "copyright"
    text = copyright_file.read_text(encoding="utf-8", errors="replace") if copyright_file.is_file() else ""
    licences = sorted(dict.fromkeys(m.strip() for m in re.findall(r"^License:\s*(\S[^\n]*)", text, re.MULTILINE)))
    named = " AND ".join(f"({lic})" if " " in lic else lic for lic in licences[:8])
    if not named and text:  # an older, free-form copyright file: its words are the licence entry
        words = [w for w in KNOWN_WORDS if re.search(rf"\b{re.escape(w)}\b", text)]
        named = (", ".join(words) + " (as its Debian copyright file says)") if words else \
            "as its Debian copyright file says (below)"
    return Notice("native", package, version, named,
                  [("debian/copyright", text)] if text else [], files=sorted(set(libraries)),
                  note="A system library the bundle carries, from the Debian/Ubuntu package named here.")


# ----- models ---------------------------------------------------------------------------------------------------


def model_notices(weights: Path) -> list[Notice]:
    """The bundled weights, from the manifest and model cards: origin, SHA-256 and licence."""
    manifest = json.loads((weights / "manifest.json").read_text(encoding="utf-8"))
    notices = []
    for name, item in sorted(manifest.get("models", {}).items()):
        card: dict = {}
        if item.get("card") and (weights / item["card"]).is_file():
            card = json.loads((weights / item["card"]).read_text(encoding="utf-8"))
        licence = item.get("licence") or card.get("licence") or ""
        source = card.get("source") or (card.get("init") or {}).get("file") or ""
        if not licence and (weights / "MODEL_CARD.md").is_file():
            match = re.search(r"^- Licence:\s*(.+)$", (weights / "MODEL_CARD.md").read_text(encoding="utf-8"),
                              re.MULTILINE)
            licence = match.group(1).strip() if match else ""
        notices.append(Notice(
            "model", f"U²-Net {name} ({item['file']})", item["sha256"][:12], licence,
            note=f"SHA-256 {item['sha256']}. Origin: {source or 'the U²-Net authors (Qin et al. 2020)'}. "
                 "The U²-Net weights are Apache-2.0 (github.com/xuebinqin/U-2-Net); ClearBG's conversion adds no terms."))
    return notices


# ----- collecting and writing -----------------------------------------------------------------------------------


def collect(paths: Iterable[str], weights: Path | None = None,
            dists: Iterable[metadata.Distribution] | None = None) -> tuple[list[Notice], list[str]]:
    """Notices for the files the bundle holds, and the files no one could be named for (shown in the build log).

    ``paths`` are the source paths PyInstaller collects (its TOC's second column)."""
    owner = _index_files(metadata.distributions() if dists is None else dists)
    stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
    base = os.path.realpath(sys.base_prefix)
    by_dist: dict[str, tuple[metadata.Distribution, list[str]]] = {}
    by_package: dict[str, list[str]] = {}
    interpreter = False
    unknown: list[str] = []
    for raw in dict.fromkeys(str(p) for p in paths if p):
        real = os.path.realpath(raw)
        dist = owner.get(real)
        native = bool(re.search(r"\.(so(\.\d+)*|dll|dylib)$", real))
        if dist is not None:
            entry = by_dist.setdefault(normalized(dist.metadata["Name"]), (dist, []))
            if native and ".libs" in Path(real).parent.name:  # a library auditwheel vendored into the wheel
                entry[1].append(Path(real).name)
            continue
        if real.startswith(stdlib) or real.startswith(base + os.sep) or "libpython" in real:
            interpreter = True
            continue
        if not os.path.isabs(real) or not os.path.exists(real):
            continue  # generated (PyInstaller's own modules, the bootloader's base library)
        package = debian_package(raw) if native else None
        if package:
            by_package.setdefault(package, []).append(Path(raw).name)
        elif native:
            unknown.append(raw)
    notices = [python_notice(dist, libs) for key, (dist, libs) in sorted(by_dist.items())
               if normalized(dist.metadata["Name"]) != OUR_DISTRIBUTION]
    if interpreter:
        notices.append(interpreter_notice())
    notices += [debian_notice(package, libs) for package, libs in sorted(by_package.items())]
    if weights is not None:
        notices += model_notices(weights)
    return notices, unknown


def missing_licences(notices: Iterable[Notice]) -> list[str]:
    """What the notices cannot name a licence for, or give no text of (models: the licence named is enough)."""
    missing = []
    for notice in notices:
        if not notice.licence.strip():
            missing.append(f"{notice.kind} {notice.name} {notice.version}: no licence in its metadata")
        elif notice.kind != "model" and not notice.texts:
            missing.append(f"{notice.kind} {notice.name} {notice.version}: no licence text")
    return missing


def render(notices: Iterable[Notice], version: str, unknown: Iterable[str] = ()) -> str:
    """THIRD_PARTY_NOTICES.txt: a table first (what, version, licence), then each one's note and texts."""
    notices = list(notices)
    rule = "=" * 100
    lines = [f"ClearBG {version}: third-party notices", "",
             "ClearBG is Apache-2.0. The app's folder also holds the software and models below, each under its own",
             "licence. This file is written by the build from the files it bundles (installer/notices.py).", ""]
    width = max([len(n.name) for n in notices] + [10])
    for notice in notices:
        lines.append(f"  {notice.kind:<11} {notice.name:<{width}}  {notice.version:<22} {notice.licence}")
    for notice in notices:
        lines += ["", rule, f"{notice.name} {notice.version} ({notice.kind}) - licence: {notice.licence}", rule]
        if notice.note:
            lines += ["", notice.note.rstrip()]
        if notice.files:
            lines += ["", "Native libraries it brings into the bundle: " + ", ".join(notice.files)]
        for name, text in notice.texts:
            lines += ["", f"----- {name} -----", text.rstrip()]
    unknown = list(unknown)
    if unknown:
        lines += ["", rule, "Libraries whose package could not be identified at build time:", *unknown]
    return "\n".join(lines) + "\n"


def write(out: Path, notices: list[Notice], version: str, unknown: Iterable[str] = ()) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(notices, version, unknown), encoding="utf-8")
    return out


def runtime_closure(root: str = OUR_DISTRIBUTION) -> list[metadata.Distribution]:
    """ClearBG's installed distribution and everything it requires (no extras): what a bundle may carry."""
    from packaging.requirements import Requirement

    seen: dict[str, metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = normalized(todo.pop())
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(seen.values())


def main(argv: list[str]) -> int:
    """Without a bundle: the notices of the installed runtime closure (what the dialog shows in a checkout)."""
    sys.path.insert(0, str(HERE.parent))
    from clearbg_desktop import __version__

    closure = runtime_closure()
    notices = [python_notice(d) for d in closure if normalized(d.metadata["Name"]) != OUR_DISTRIBUTION]
    notices += model_notices(HERE.parent / "resources" / "weights")
    out = write(Path(argv[0]) if argv else HERE.parent / "build" / "THIRD_PARTY_NOTICES.txt", notices, __version__)
    print(f"notices: {out} ({len(notices)} entries)")
    for line in missing_licences(notices):
        print(f"no licence: {line}", file=sys.stderr)
    return 1 if missing_licences(notices) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
