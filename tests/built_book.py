"""What a reader of the built book must never meet, found in the HTML of its pages: a line wider than
the text column, an elided or empty table cell, a path of the machine that built it, a formula that
MathJax rejects. Each checker reads one page and returns Offences, so that it can be tried on a
snippet before it is trusted on the book."""
from __future__ import annotations

import fnmatch
import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import yaml

from gpslib import book

ROOT = Path(__file__).resolve().parents[1]

# Characters a <pre> line holds before it scrolls, at a 1280 px window: measured with PROBE (below) in
# headless Chromium on pages of a built book (its _static CSS, navigation sidebar shown): the text
# column is 688 px, a code cell's <pre> keeps 652 px inside its 1rem padding (an output's 656 px) and
# DejaVu Sans Mono at 14 px (the theme's 0.875em) advances 8.43 px: 77 characters. The tests measure
# it again on every build when Chromium is there; this number (the one gpslib.book wraps its text to) stands in
# when it is not.
COLUMN_CHARS = book.COLUMN_CHARS

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars")
WINDOW = "1280,2000"

EMPTY_MARKERS = {"NaN", "nan", "<NA>", "None", "NaT"}
ELLIPSES = {"...", "…"}
HTML_FOOTER = re.compile(r"\b\d+ rows × \d+ columns\b")
TEXT_FOOTER = re.compile(r"\[\d+ rows x \d+ columns\]")
ELIDED_TEXT_ROW = re.compile(r"^[\s.…]*(\.\.\.|…)[\s.…]*$")
BLOCKS = {"p", "div", "pre", "li", "tr", "td", "th", "br", "h1", "h2", "h3", "h4", "h5", "h6", "section",
          "article", "table", "dt", "dd", "blockquote", "figure", "figcaption"}


@dataclass(frozen=True)
class Offence:
    page: str
    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.page}: {self.kind}: " + self.text.replace("\n", "\\n")[:100]


@dataclass
class Pre:
    text: str
    in_output: bool


@dataclass
class Parts:
    """The parts of a page the checks read."""
    pres: list[Pre] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)     # every <td> and <th>
    outputs: list[str] = field(default_factory=list)   # the text of every code cell output
    text: str = ""                                     # all text outside <script> and <style>
    targets: list[str] = field(default_factory=list)   # every src and href


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = Parts()
        self._texts: list[str] = []
        self._divs: list[bool] = []        # each open <div>: does it open a cell output?
        self._pre: list[str] | None = None
        self._pre_in_output = False
        self._cell: list[str] | None = None
        self._output: list[str] | None = None
        self._hidden = 0                   # inside <script> or <style>

    def _break(self, tag):
        """A block starts or ends: a new line in the page's text, so that a match shows its own line."""
        if tag in BLOCKS:
            for buffer in (self._texts, self._output):
                if buffer is not None:
                    buffer.append("\n")

    def handle_starttag(self, tag, attrs):
        self._break(tag)
        attrs = dict(attrs)
        self.parts.targets += [v for k, v in attrs.items() if k in ("src", "href") and v]
        if tag in ("script", "style"):
            self._hidden += 1
        elif tag == "div":
            opens = "cell_output" in (attrs.get("class") or "").split() and self._output is None
            if opens:
                self._output = []
            self._divs.append(opens)
        elif tag == "pre" and self._pre is None:
            self._pre, self._pre_in_output = [], self._output is not None
        elif tag in ("td", "th") and self._cell is None:
            self._cell = []

    def handle_startendtag(self, tag, attrs):
        self._break(tag)
        self.parts.targets += [v for k, v in attrs if k in ("src", "href") and v]

    def handle_endtag(self, tag):
        self._break(tag)
        if tag in ("script", "style"):
            self._hidden = max(0, self._hidden - 1)
        elif tag == "div" and self._divs:
            if self._divs.pop():
                self.parts.outputs.append("".join(self._output))
                self._output = None
        elif tag == "pre" and self._pre is not None:
            self.parts.pres.append(Pre("".join(self._pre), self._pre_in_output))
            self._pre = None
        elif tag in ("td", "th") and self._cell is not None:
            self.parts.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._hidden:
            return
        for buffer in (self._texts, self._pre, self._cell, self._output):
            if buffer is not None:
                buffer.append(data)

    def close(self):
        super().close()
        self.parts.text = "".join(self._texts)


def read_parts(page_html: str) -> Parts:
    reader = _Reader()
    reader.feed(page_html)
    reader.close()
    return reader.parts


def wide_lines(page: str, parts: Parts, capacity: int = COLUMN_CHARS) -> list[Offence]:
    """Lines of code, printed output or text output that the column cannot show without scrolling."""
    return [Offence(page, f"line of {len(line)} > {capacity} characters", line)
            for pre in parts.pres for line in pre.text.expandtabs().splitlines() if len(line) > capacity]


def elisions(page: str, parts: Parts) -> list[Offence]:
    """pandas hid rows or columns: its 'N rows × M columns' footer, or '...' standing for them."""
    found = [Offence(page, "pandas footer", m.group()) for m in HTML_FOOTER.finditer(parts.text)]
    found += [Offence(page, "elided table cell", cell) for cell in parts.cells if cell in ELLIPSES]
    for pre in parts.pres:
        found += [Offence(page, "pandas footer", m.group()) for m in TEXT_FOOTER.finditer(pre.text)]
        if pre.in_output:
            found += [Offence(page, "elided text row", line) for line in pre.text.splitlines()
                      if ELIDED_TEXT_ROW.match(line)]
    return found


def empty_markers(page: str, parts: Parts) -> list[Offence]:
    """A table cell that says NaN, <NA> or None where '–' belongs."""
    return [Offence(page, "empty value in a table", cell) for cell in parts.cells if cell in EMPTY_MARKERS]


def _around(text: str, start: int) -> str:
    """The line of text around a match, from a little before it."""
    line_start = max(text.rfind("\n", 0, start) + 1, start - 30)
    return text[line_start:].split("\n", 1)[0]


def machine_paths(page: str, parts: Parts, anywhere,
                  in_outputs=("/root/", "/home/", "/tmp/")) -> list[Offence]:
    """Paths of the building machine: folders that exist only there (the repository, the temporary and
    build folders) anywhere on the page, and home or temporary folders in what a cell printed."""
    found = []
    for needle in {str(p).rstrip("/") + "/" for p in anywhere if str(p).strip("/")}:
        found += [Offence(page, "machine path", _around(parts.text, m.start()))
                  for m in re.finditer(re.escape(needle), parts.text)]
        found += [Offence(page, "machine path in a link", t) for t in parts.targets if needle in t]
    for needle in in_outputs:
        for output in parts.outputs:
            found += [Offence(page, "machine path in an output", _around(output, m.start()))
                      for m in re.finditer(re.escape(needle), output)]
    return sorted(set(found), key=lambda o: (o.kind, o.text))


# ---- the build ----------------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def build_problems(log: str) -> str:
    """What a failed build's log says went wrong, without the rest: Sphinx's warnings and errors, and for
    a chapter that failed to execute, its cell and the exception's last line."""
    lines = [ANSI.sub("", line).rstrip() for line in log.splitlines()]
    kept: list[str] = []
    for i, line in enumerate(lines):
        if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line) and "IPKernelApp" not in line:
            kept.append(line)
        elif "An error occurred while executing the following cell" in line:
            end = next((j for j in range(i + 2, len(lines)) if set(lines[j].strip()) == {"-"}), i)
            kept.append("\n".join(lines[i:end + 1]))
        elif re.match(r"^[\w.]*(Error|Exception)\b.*: ", line.strip()):
            kept.append(line.strip())
    return "\n".join(dict.fromkeys(kept))


# ---- the book's pages and notebooks -------------------------------------------------------------

def toc_files() -> list[str]:
    """Every file _toc.yml lists, as written there (root first, no suffix)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return found


def built_notebooks() -> list[str]:
    """The notebooks the build executes: listed in _toc.yml and not excluded from execution."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    excluded = config.get("execute", {}).get("exclude_patterns", [])
    return [f"{name}.ipynb" for name in toc_files() if (ROOT / f"{name}.ipynb").exists()
            and not any(fnmatch.fnmatch(f"{name}.ipynb", pattern) for pattern in excluded)]


# ---- in a browser -------------------------------------------------------------------------------

MATH_SOURCE = re.compile(r'class="[^"]*\bmath\b')
MJX_ERROR = re.compile(r"<mjx-merror\b([^>]*)>")
MJX_MESSAGE = re.compile(r'data-mjx-error="([^"]*)"')
# MathJax draws an unknown macro in red instead of failing; its MathML copy keeps the name.
MJX_UNDEFINED = re.compile(r'<mtext[^>]*\bmathcolor="red"[^>]*>(\\[^<]*)</mtext>')

# Injected into a copy of a page: once MathJax has typeset it, measures the column's monospace capacity
# in a code cell laid out like the book's, and the tables wider than the column; writes both as JSON.
PROBE = """
<script>
(function () {
  function measure() {
    const article = document.querySelector("article.bd-article") || document.body;
    const line = "0123456789".repeat(20);
    const box = document.createElement("div");
    box.innerHTML =
      '<div class="cell docutils container"><div class="cell_input docutils container">' +
      '<div class="highlight-ipython3 notranslate"><div class="highlight"><pre><span>' + line +
      '</span></pre></div></div></div><div class="cell_output docutils container">' +
      '<div class="output stream highlight-myst-ansi notranslate"><div class="highlight"><pre><span>' +
      line + '</span></pre></div></div></div></div>';
    article.appendChild(box);
    const capacities = Array.from(box.querySelectorAll("pre")).map(function (pre) {
      const style = getComputedStyle(pre);
      const inner = pre.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      const char = pre.firstChild.getBoundingClientRect().width / line.length;
      return {inner: inner, char: char, chars: Math.floor(inner / char + 1e-6)};
    });
    article.removeChild(box);
    const style = getComputedStyle(article);
    const column = article.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const tables = Array.from(article.querySelectorAll("table"))
      .filter(function (t) { return t.getBoundingClientRect().width > column + 1; })
      .map(function (t) {
        return {width: Math.round(t.getBoundingClientRect().width),
                text: t.innerText.replace(/\\s+/g, " ").slice(0, 100)};
      });
    // a paragraph that follows a table in the same cell output, closer than 8 px below it
    const glued = Array.from(article.querySelectorAll(".cell_output > .output + p"))
      .map(function (p) {
        const above = p.previousElementSibling.querySelector("table");
        return {gap: above ? p.getBoundingClientRect().top - above.getBoundingClientRect().bottom : 99,
                text: p.innerText.replace(/\\s+/g, " ").slice(0, 100)};
      })
      .filter(function (g) { return g.gap < 8; });
    const out = document.createElement("div");
    out.setAttribute("data-gpslib-probe", "");
    out.textContent = JSON.stringify({column: column, pre: capacities, wide_tables: tables, glued: glued,
                                      mathjax: !!(window.MathJax && window.MathJax.startup)});
    document.body.appendChild(out);
  }
  window.addEventListener("load", function () {
    const typeset = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
    document.fonts.ready.then(function () { return typeset || null; }).then(measure, measure);
  });
})();
</script>
"""
PROBE_RESULT = re.compile(r"<div data-gpslib-probe=\"\">(.*?)</div>", re.S)


def chromium() -> str | None:
    """The headless browser the browser checks need, if this machine has one."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def dump_dom(exe: str, page_file: Path, budget_ms: int = 20000) -> str:
    """The page's DOM after its scripts ran (MathJax included), as Chromium serialises it."""
    try:
        return subprocess.run(
            [exe, *CHROMIUM_FLAGS, f"--window-size={WINDOW}", f"--virtual-time-budget={budget_ms}",
             "--dump-dom", page_file.resolve().as_uri()],
            capture_output=True, text=True, timeout=180).stdout
    except subprocess.TimeoutExpired:
        return ""   # reported as a page that never finished loading


def probe(exe: str, page_file: Path) -> tuple[str, dict | None]:
    """Loads a copy of a built page with PROBE in it, next to the original so that _static resolves;
    returns the typeset DOM and what PROBE measured (None if it never reported)."""
    source = page_file.read_text(encoding="utf-8")
    copy = page_file.with_name(page_file.stem + ".probe.html")
    copy.write_text(source.replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
    try:
        dom = dump_dom(exe, copy)
    finally:
        copy.unlink()
    found = PROBE_RESULT.search(dom)
    return dom, json.loads(html.unescape(found.group(1))) if found else None


def column_chars(measured: dict | None) -> int | None:
    """The narrower of a code cell's and an output's capacity, from PROBE's measurement."""
    if not measured or not measured.get("pre"):
        return None
    return min(p["chars"] for p in measured["pre"])


def mathjax_errors(page: str, page_html: str, dom: str) -> list[Offence]:
    """Formulas MathJax rejected (its error nodes in the typeset DOM), macros it did not know (drawn in
    red), or a page whose maths it never typeset at all."""
    found = []
    for tag in MJX_ERROR.finditer(dom):
        message = MJX_MESSAGE.search(tag.group(1))
        found.append(Offence(page, "MathJax error", html.unescape(message.group(1)) if message else tag.group()))
    found += [Offence(page, "undefined TeX macro", html.unescape(m.group(1))) for m in MJX_UNDEFINED.finditer(dom)]
    if MATH_SOURCE.search(page_html) and "<mjx-container" not in dom:
        found.append(Offence(page, "MathJax did not typeset", "no <mjx-container> after loading the page"))
    return found


def glued_to_tables(page: str, measured: dict | None) -> list[Offence]:
    """Sentences that start less than 8 px below the table above them (read as part of the table)."""
    return [Offence(page, f"text {g['gap']:.0f} px below a table", g["text"])
            for g in (measured or {}).get("glued", [])]


def wide_tables(page: str, measured: dict | None) -> list[Offence]:
    if measured is None:
        return [Offence(page, "not measured", "the page never finished loading in Chromium")]
    return [Offence(page, f"table {t['width']} px wide in a {measured['column']:.0f} px column", t["text"])
            for t in measured["wide_tables"]]
