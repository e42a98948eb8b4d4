"""jaxrl report: one self-contained HTML page, checked structurally and in headless Chromium."""

import base64
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from jaxrl import cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class _Page(HTMLParser):
    """Tags with their attributes, and the visible text."""

    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "run"
    assert cli.main(["train", "q_learning", "--env", "FrozenLake-v1", "--env-arg", "is_slippery=false", "--seeds", "3",
                     "--steps", "3000", "--set", "learning_rate=0.8", "--set", "gamma=0.95", "--out", str(out), "--quiet",
                     "--eval-episodes", "4"]) == 0
    assert cli.main(["report", str(out)]) == 0
    return out


def test_report_is_self_contained_and_shows_the_run(run):
    page = _Page()
    page.feed((run / "report.html").read_text())
    text = " ".join(page.text)
    for tag, attrs in page.tags:  # nothing to fetch: no external scripts, styles, images or links
        assert tag != "link" and not (tag == "script" and "src" in attrs)
        for name in ("src", "href"):
            assert not re.match(r"^(https?:)?//|^file:", attrs.get(name, "")), (tag, attrs)
    images = {attrs["id"]: attrs["src"] for tag, attrs in page.tags if tag == "img"}
    assert set(images) == {"learning_curve", "episode"}
    assert base64.b64decode(images["learning_curve"].split(",", 1)[1]) == (run / "learning_curve.png").read_bytes()
    assert base64.b64decode(images["episode"].split(",", 1)[1])[:6] == b"GIF89a"
    assert "q_learning on FrozenLake-v1" in text and '{"is_slippery": false}' in text
    evaluation = json.loads((run / "eval.json").read_text())
    assert evaluation["mean_return"] == 1.0 and "mean_return 1" in text
    assert len([t for t, a in page.tags if t == "svg" and a.get("class") == "sparkline"]) == 3  # one per seed


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
def test_report_renders_offline_in_headless_chromium(run, tmp_path):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    url = (run / "report.html").resolve().as_uri()
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert 'data-images-shown="2/2"' in dom  # the curve and the GIF decoded, from the page alone
    assert "q_learning on FrozenLake-v1" in dom and dom.count('class="sparkline"') == 3
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1100,1400", url], capture_output=True, timeout=120)
    from PIL import Image
    import numpy as np

    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # a drawn page, not a blank or error screen


def test_report_of_a_foreign_directory_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == 2
    assert "is not a jaxrl run directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
