"""The page `dvc plots show` / `dvc plots diff` write, with no network: vega, vega-lite and
vega-embed inside it.

DVC's own page loads the three libraries from a CDN, so offline it stays blank. DVC takes an
HTML template instead (`plots.html_template` in .dvc/config, relative to .dvc/): ours is
`.dvc/plots/offline.html`, the builds of the three npm packages inlined, each under a comment
naming its package, version, licence file and sha256. The template has no `{scripts}`
placeholder, which is where DVC would put its CDN tags. To update the builds:

    npm pack vega@5 vega-lite@5 vega-embed@6      # in an empty folder, then unpack each
    slm-math plots-template --build vega=DIR/package --build vega-lite=... --build vega-embed=...
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

TEMPLATE = Path(".dvc/plots/offline.html")
LICENSES = Path(".dvc/plots/licenses")
# package -> its minified UMD build inside the npm package, in load order
BUILDS = {"vega": "build/vega.min.js", "vega-lite": "build/vega-lite.min.js",
          "vega-embed": "build/vega-embed.min.js"}
BUILD_COMMENT = re.compile(
    r"<!-- (?P<package>[a-z-]+) (?P<version>[0-9.]+) \(npm, (?P<license>[^)]+)\), licence: "
    r"(?P<license_file>\S+), sha256 (?P<sha256>[0-9a-f]{64}) -->\n<script>\n(?P<code>.*?)\n</script>",
    re.S)

PAGE = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>DVC Plot</title>
{builds}
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def render_template(packages: dict[str, Path]) -> str:
    """The offline template from unpacked npm packages (`name -> folder with package.json`)."""
    blocks = []
    for name, build in BUILDS.items():
        folder = packages[name]
        meta = json.loads((folder / "package.json").read_text())
        code = (folder / build).read_text(encoding="utf-8").strip()
        if "</script" in code.lower():
            raise ValueError(f"{folder / build}: holds '</script', which would end the inline script")
        digest = hashlib.sha256(code.encode()).hexdigest()
        blocks.append(f"<!-- {name} {meta['version']} (npm, {meta.get('license', 'see licence')}), "
                      f"licence: {LICENSES / f'{name}.LICENSE'}, sha256 {digest} -->\n"
                      f"<script>\n{code}\n</script>")
    # DVC fills {refresh_tag} and {plot_divs} by plain replacement
    return PAGE.replace("{builds}", "\n".join(blocks))


def inlined_builds(template: str) -> list[dict]:
    """The builds a template carries: package, version, licence, sha256 and whether the code
    still has that sha256."""
    out = []
    for match in BUILD_COMMENT.finditer(template):
        info = match.groupdict()
        code = info.pop("code")
        info["intact"] = hashlib.sha256(code.encode()).hexdigest() == info["sha256"]
        out.append(info)
    return out


REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//", re.I)


def remote_scripts(html: str) -> list[str]:
    """The `<script src=...>` tags of a page that load from the network."""
    return [m.group(0) for m in REMOTE_SCRIPT.finditer(html)]


def write_template(root: str | Path, packages: dict[str, Path]) -> Path:
    """Write `TEMPLATE` under `root` from unpacked npm packages."""
    path = Path(root) / TEMPLATE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_template(packages), encoding="utf-8")
    return path
