"""The backtest's HTML report, opened in a real headless browser (Debian's chromium).

A flash crash is backtested with the example configuration; the report must be one self-contained file (no
scripts, no external resources), must render the VaR table, the trigger timeline and the price charts as the
browser lays them out, and its screenshot must show a drawn page (not a blank or an error page).
"""
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BACKSTOP = os.environ.get("BACKSTOP", str(ROOT / ".build/debug/backstop"))
CONFIG = os.environ.get("BACKSTOP_CONFIG", str(ROOT / "config/backstop.yaml"))


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is not installed: run `make setup` (scripts/setup.sh installs it)"
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    work = tmp_path_factory.mktemp("report")
    feed, out = work / "feed", work / "out"
    subprocess.run([BACKSTOP, "generate", "--scenario", "flash-crash", "--seed", "5", "--duration", "6m",
                    "--output", str(feed)], check=True, capture_output=True)
    subprocess.run([BACKSTOP, "backtest", "--config", CONFIG, "--input", str(feed), "--output", str(out),
                    "--report", str(work / "report.html")], check=True, capture_output=True)
    return work


def browser(*args):
    return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
                          check=True, capture_output=True, timeout=120)


def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA, non-interlaced PNG (what chromium writes) into rows of pixel tuples."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            chunks += body
        pos += 12 + length
    raw = zlib.decompress(chunks)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = previous[i], previous[i - channels] if i >= channels else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, channels)])
        previous = line
    return rows


def test_report_is_self_contained(report):
    html = (report / "report.html").read_text()
    assert "<script" not in html, "the report must not need scripts"
    assert not re.search(r'(src|href)="(https?:)?//', html), "the report must not load external resources"
    assert html.count("<svg") >= 3, "timeline and price charts are inline SVG"


def test_browser_renders_tables_and_charts(report):
    dom = browser("--dump-dom", f"file://{report / 'report.html'}").stdout.decode()
    assert "VaR backtest" in dom and "Trigger episodes" in dom
    summary = json.loads((report / "out" / "report.json").read_text())
    for instrument in summary["var_backtest"]:
        assert instrument in dom, f"{instrument} missing from the VaR table"
    episodes = summary["triggers"]["episodes"]
    assert episodes, "the flash crash must fire triggers"
    assert dom.count("<rect") >= len(episodes), "one bar per trigger episode on the timeline"
    assert "BTC-PERP" in dom and "VaR exception" in dom


def test_screenshot_shows_a_drawn_page(report):
    shot = report / "report.png"
    browser("--window-size=1100,1800", f"--screenshot={shot}", f"file://{report / 'report.html'}")
    rows = png_pixels(shot)
    assert len(rows) == 1800 and len(rows[0]) == 1100
    colors = {px for row in rows[::7] for px in row[::7]}
    assert len(colors) > 50, f"the page looks blank ({len(colors)} colors)"
    blue = sum(1 for row in rows for (r, g, b) in row if b > 180 and r < 90 and g < 140)
    red = sum(1 for row in rows for (r, g, b) in row if r > 180 and g < 80 and b < 80)
    assert blue > 500, f"the price lines are not drawn ({blue} blue pixels)"
    assert red > 100, f"trigger bars and VaR exceptions are not drawn ({red} red pixels)"
