"""`dvc plots show` / `dvc plots diff` pages that load nothing from the network: the committed
template inlines vega, vega-lite and vega-embed, and real DVC commands write pages with no
remote script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from slm_math.cli import main
from slm_math.report.plots_page import (BUILDS, LICENSES, TEMPLATE, inlined_builds,
                                        remote_scripts, render_template)
from tests.conftest import ROOT


def test_committed_template_inlines_the_three_builds_intact():
    template = (ROOT / TEMPLATE).read_text(encoding="utf-8")
    builds = inlined_builds(template)
    assert [b["package"] for b in builds] == list(BUILDS)
    assert all(b["intact"] for b in builds), "an inlined build no longer has its recorded sha256"
    for build in builds:
        assert (ROOT / build["license_file"]).is_file()
        assert "Redistribution and use in source and binary forms" in (
            ROOT / build["license_file"]).read_text()
    assert remote_scripts(template) == []
    # DVC puts its CDN <script> tags where {scripts} stands: the template has no such place
    assert "{plot_divs}" in template and "{scripts}" not in template


def test_dvc_config_points_at_the_template():
    config = (ROOT / ".dvc" / "config").read_text()
    assert "[plots]" in config and "html_template = plots/offline.html" in config
    assert (ROOT / ".dvc" / "plots" / "offline.html") == ROOT / TEMPLATE


def test_remote_scripts_are_found():
    page = ('<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>'
            "<script src='//cdn.example/x.js'></script><script>var a = 1;</script>"
            '<script src="vendor/local.js"></script>')
    assert len(remote_scripts(page)) == 2


def fake_package(root: Path, name: str, code: str) -> Path:
    folder = root / name
    (folder / Path(BUILDS[name]).parent).mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps({"version": "1.2.3", "license": "BSD-3-Clause"}))
    (folder / BUILDS[name]).write_text(code)
    return folder


def test_render_template_and_the_command(tmp_path, capsys):
    packages = {name: fake_package(tmp_path, name, f"var {name.replace('-', '_')} = {{a: 1}};")
                for name in BUILDS}
    template = render_template(packages)
    assert [b["version"] for b in inlined_builds(template)] == ["1.2.3"] * 3
    assert all(b["intact"] for b in inlined_builds(template))
    tampered = template.replace("var vega_lite = {a: 1};", "var vega_lite = {a: 2};")
    assert [b["intact"] for b in inlined_builds(tampered)] == [True, False, True]
    repo = tmp_path / "repo"
    args = ["plots-template", "--repo", str(repo), *(f"--build={k}={v}" for k, v in packages.items())]
    assert main(args) == 0
    assert (repo / TEMPLATE).read_text() == template
    assert main(["plots-template", "--repo", str(repo), f"--build=vega={packages['vega']}"]) == 2
    assert "no --build for vega-embed, vega-lite" in capsys.readouterr().err
    (packages["vega"] / BUILDS["vega"]).write_text('var s = "</script>";')
    with pytest.raises(ValueError, match="would end the inline script"):
        render_template(packages)


def run(cmd, cwd, env):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_dvc_plots_show_and_diff_write_pages_with_no_remote_script(tmp_path):
    """A git + DVC repo with the project's .dvc/plots and its html_template setting: the
    pages of `dvc plots show` and `dvc plots diff` carry the curves and the inlined builds,
    and no <script src> that leaves the machine."""
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "DVC_NO_ANALYTICS": "1"}
    run(["git", "init", "-q"], repo, env)
    run(["dvc", "init", "-q"], repo, env)
    shutil.copytree(ROOT / ".dvc" / "plots", repo / ".dvc" / "plots")
    run(["dvc", "config", "plots.html_template", "plots/offline.html"], repo, env)
    curve = repo / "dvclive" / "train" / "plots" / "metrics" / "loss.tsv"
    curve.parent.mkdir(parents=True)
    curve.write_text("step\tloss\n0\t2.0\n1\t1.5\n2\t1.1\n")
    (repo / "dvc.yaml").write_text("plots:\n  - dvclive/train/plots/metrics:\n      x: step\n")
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "curves"], repo, env)
    curve.write_text("step\tloss\n0\t2.0\n1\t1.2\n2\t0.7\n")
    pages = {}
    for command in ("show", "diff"):
        out = tmp_path / command
        run(["dvc", "plots", command, "-o", str(out)], repo, env)
        pages[command] = (out / "index.html").read_text(encoding="utf-8")
    for command, page in pages.items():
        assert remote_scripts(page) == [], f"dvc plots {command}: {remote_scripts(page)}"
        assert [b["package"] for b in inlined_builds(page)] == list(BUILDS)
        assert "vegaEmbed(" in page and "loss" in page
    assert "HEAD" in pages["diff"] and "workspace" in pages["diff"]
