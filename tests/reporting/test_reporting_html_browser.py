"""matrix.html in a real headless Chromium: no console errors, and the grid really renders.

The page is opened offline from a file; a ``window.onerror``/``console.error`` hook
injected ahead of our own script writes any error into the DOM, which
``--dump-dom`` then shows. Skipped where Debian's chromium is not installed.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from reporting_sample import sample_matrix

from calico_conformance.reporting import render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (apt-get install chromium)")

ERRORS = re.compile(r'<html[^>]*\bdata-errors="([^"]*)"')
HOOK = """<script>
window.__errors = [];
function __report(m){ window.__errors.push(String(m));
  document.documentElement.setAttribute("data-errors", window.__errors.join(" | ")); }
window.onerror = function(m){ __report(m); };
window.addEventListener("error", function(e){
  if (e.target !== window) __report("load " + e.target); }, true);
document.addEventListener("securitypolicyviolation", function(e){
  __report("csp " + e.blockedURI); });
var __ce = console.error;
console.error = function(){
  __report([].join.call(arguments, " ")); __ce.apply(console, arguments); };
</script>"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
            "--v=0", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def page(tmp_path: Path, *, hook: bool = True) -> Path:
    html = render_html(sample_matrix())
    if hook:
        html = html.replace('<meta charset="utf-8">',
                            '<meta charset="utf-8">' + HOOK.replace("\n", ""), 1)
        html = html.replace("</body>", '<p id="loaded">loaded</p></body>')
    path = tmp_path / "matrix.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_the_page_loads_in_headless_chromium_without_console_errors(tmp_path: Path) -> None:
    url = page(tmp_path).as_uri() + "#cell-v3.26.4-baseline-k8s1.28"
    proc = chromium(tmp_path, "--dump-dom", url)
    dom = proc.stdout
    assert 'id="loaded"' in dom, proc.stderr[-2000:]
    assert not ERRORS.search(dom), ERRORS.search(dom)
    assert "Uncaught" not in proc.stderr
    assert "Refused to" not in proc.stderr  # the CSP blocked nothing: no external assets
    # our script opened the details the URL fragment pointed at
    assert '<details class="cell" id="cell-v3.26.4-baseline-k8s1.28"' in dom
    assert 'id="cell-v3.26.4-baseline-k8s1.28" style="border-left-color:#a5d6a7" open=""' in dom


def test_the_error_hook_itself_catches_a_broken_script(tmp_path: Path) -> None:
    path = page(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace(
        "</body>", "<script>undefinedFunction();</script></body>"), encoding="utf-8")
    dom = chromium(tmp_path, "--dump-dom", path.as_uri()).stdout
    found = ERRORS.search(dom)
    assert found and "undefinedFunction" in found.group(1)


def _png_rows(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG into raw scanlines (enough to tell blank from drawn)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = bpp = 0
    while pos < len(data):
        (length,), ctype = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if ctype == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            bpp = 3 if colour == 2 else 4
        elif ctype == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        row = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        ftype, line = row[0], bytearray(row[1:])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def test_a_screenshot_shows_a_coloured_grid_not_a_blank_page(tmp_path: Path) -> None:
    shot = tmp_path / "matrix.png"
    proc = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,900",
                    "--hide-scrollbars", page(tmp_path, hook=False).as_uri())
    assert shot.is_file(), proc.stderr[-2000:]
    width, height, rows = _png_rows(shot.read_bytes())
    assert (width, height) == (1400, 900)
    bpp = len(rows[0]) // width
    pixels = {row[i:i + 3] for row in rows[::4] for i in range(0, len(row), bpp * 4)}
    assert len(pixels) > 20, "the screenshot is (nearly) one colour"
    # the FAIL red of the heatmap is on screen
    assert any(abs(p[0] - 0xEF) < 8 and abs(p[1] - 0x53) < 8 and abs(p[2] - 0x50) < 8
               for p in pixels)


def test_a_ten_thousand_cell_matrix_is_small_and_fills_in_details_when_opened(
        tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from bench_render import synthetic_matrix

    html = render_html(synthetic_matrix(10032))
    assert len(html) <= 5_000_000 and "<template id=\"ev-0\">" in html
    assert "<svg" not in html.split("<template", 1)[0]  # evidence lives once, in templates
    html = html.replace('<meta charset="utf-8">', '<meta charset="utf-8">'
                        + HOOK.replace("\n", ""), 1)
    path = tmp_path / "big.html"
    path.write_text(html, encoding="utf-8")
    anchor = re.search(r'<details class="cell" id="([^"]+)"', html)
    assert anchor is not None
    dom = chromium(tmp_path, "--dump-dom", f"{path.as_uri()}#{anchor.group(1)}").stdout
    assert not ERRORS.search(dom), ERRORS.search(dom)
    opened = dom[dom.index(f'id="{anchor.group(1)}"'):]
    opened = opened[:opened.index("</details>")]
    assert 'open=""' in opened.split(">", 1)[0] and "<svg" in opened  # filled from a template
