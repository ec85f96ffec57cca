"""The whole book builds once, with every warning an error, from the outputs of each chapter's smoke run
(tests/smoke.py, started outside book/); then every page is read for what a reader must never meet
(tests/built_book.py). The checkers are tried on small snippets first."""
from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import built_book as bb
from built_book import built_notebooks, toc_files
from smoke import smoke_run

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def _jupyter_book() -> str:
    """The jupyter-book next to this interpreter (a venv), else the one on PATH."""
    local = Path(sys.executable).with_name("jupyter-book")
    return str(local) if local.exists() else (shutil.which("jupyter-book") or "")


def _report(offences: list[bb.Offence]) -> None:
    if offences:
        pytest.fail(f"{len(offences)} offence(s):\n" + "\n".join(map(str, offences)), pytrace=False)


# ---- the checkers, on snippets ------------------------------------------------------------------

CELL = ('<div class="cell docutils container"><div class="cell_input docutils container">'
        '<div class="highlight"><pre>{code}</pre></div></div>'
        '<div class="cell_output docutils container"><div class="output text_html">{output}</div></div></div>')


def _page(code="x = 1", output=""):
    return f"<html><body><article class='bd-article'>{CELL.format(code=code, output=output)}</article></body></html>"


def test_wide_lines_names_the_line_over_capacity_only():
    code = "a" * 10 + "\n" + "b" * 11 + "\n\tc"
    offences = bb.wide_lines("p", bb.read_parts(_page(code=code)), capacity=10)
    assert [(o.kind, o.text) for o in offences] == [("line of 11 > 10 characters", "b" * 11)]
    tabbed = bb.read_parts(_page(code="\t\tx"))    # a tab takes 8 columns
    assert bb.wide_lines("p", tabbed, capacity=16) and not bb.wide_lines("p", tabbed, capacity=17)


def test_wide_lines_reads_outputs_and_escaped_text():
    output = "<pre>" + "&lt;" * 12 + "</pre>"
    assert [o.text for o in bb.wide_lines("p", bb.read_parts(_page(output=output)), capacity=11)] == ["<" * 12]


def test_elisions_find_pandas_footers_and_ellipsis_cells():
    table = ("<table class='dataframe'><tr><th>a</th><th>...</th></tr><tr><td>1</td><td>…</td></tr></table>"
             "<p>60 rows × 2 columns</p>")
    kinds = sorted(o.kind for o in bb.elisions("p", bb.read_parts(_page(output=table))))
    assert kinds == ["elided table cell", "elided table cell", "pandas footer"]
    text = "<pre>    a\n0   1\n..  ...\n9   2\n\n[10 rows x 1 columns]</pre>"
    kinds = sorted(o.kind for o in bb.elisions("p", bb.read_parts(_page(output=text))))
    assert kinds == ["elided text row", "pandas footer"]


def test_elisions_leave_ellipsis_in_code_and_prose_alone():
    page = _page(code="def f():\n    ...", output="<p>and so on...</p><table><tr><td>1...2</td></tr></table>")
    assert bb.elisions("p", bb.read_parts(page)) == []


def test_empty_markers_find_nan_na_and_none_in_cells_only():
    table = ("<table><tr><th>None</th><td>NaN</td><td>&lt;NA&gt;</td><td>–</td><td>None of them</td></tr></table>"
             "<p>NaN</p>")
    assert sorted(o.text for o in bb.empty_markers("p", bb.read_parts(_page(output=table)))) == [
        "<NA>", "NaN", "None"]


def test_machine_paths_find_build_folders_anywhere_and_home_only_in_outputs():
    page = _page(code="path = '/srv/repo/data'",
                 output="<pre>saved to /home/me/run\n</pre><img src='file:///var/build/x.png'>")
    page = page.replace("<article", "<p>see /home/you in prose</p><article")
    offences = bb.machine_paths("p", bb.read_parts(page), anywhere=["/srv/repo", "/var/build"])
    assert sorted((o.kind, o.text) for o in offences) == [
        ("machine path", "path = '/srv/repo/data'"),
        ("machine path in a link", "file:///var/build/x.png"),
        ("machine path in an output", "saved to /home/me/run"),
    ]
    assert bb.machine_paths("p", bb.read_parts(_page()), anywhere=["/srv/repo", "/", ""]) == []


def test_machine_paths_see_through_syntax_highlighting():
    code = '<span class="n">root</span> <span class="o">=</span> <span class="s2">"/srv/repo/x"</span>'
    assert bb.machine_paths("p", bb.read_parts(_page(code=code)), anywhere=["/srv/repo"])


def test_mathjax_errors_read_error_nodes_and_untypeset_pages():
    source = '<span class="math notranslate nohighlight">\\(\\foo\\)</span>'
    typeset = '<mjx-container class="MathJax"><mjx-math><mjx-merror data-mjx-error="Undefined control ' \
              'sequence \\foo" title="x"><mjx-mtext>\\foo</mjx-mtext></mjx-merror></mjx-math></mjx-container>'
    assert [o.text for o in bb.mathjax_errors("p", source, typeset)] == ["Undefined control sequence \\foo"]
    assert [o.kind for o in bb.mathjax_errors("p", source, "<html></html>")] == ["MathJax did not typeset"]
    assert bb.mathjax_errors("p", "<p>no maths</p>", "<html></html>") == []
    assert bb.mathjax_errors("p", source, "<mjx-container><mjx-mi>x</mjx-mi></mjx-container>") == []
    undefined = '<mjx-container><math><mtext mathcolor="red">\\notacommand</mtext></math></mjx-container>'
    assert [str(o) for o in bb.mathjax_errors("p", source, undefined)] == [
        "p: undefined TeX macro: \\notacommand"]


def test_wide_tables_report_tables_wider_than_the_column():
    measured = {"column": 688.0, "pre": [], "wide_tables": [{"width": 900, "text": "a b c"}]}
    assert [str(o) for o in bb.wide_tables("p", measured)] == ["p: table 900 px wide in a 688 px column: a b c"]
    assert bb.wide_tables("p", {**measured, "wide_tables": []}) == []
    assert bb.column_chars({"pre": [{"chars": 77}, {"chars": 78}]}) == 77 and bb.column_chars(None) is None


def test_build_problems_keep_warnings_and_the_failing_cell_only():
    log = """Running Sphinx v7.4.7
\x1b[01mreading sources... \x1b[39;49;00m[ 43%] book/06
[IPKernelApp] WARNING | Kernel is running over TCP without encryption.
book/02_data.ipynb:4: WARNING: image file not readable: x.png
nbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:
------------------
print(claims.seed_noise(runs))
------------------

  File "x.py", line 1, in <module>
\x1b[31mAttributeError\x1b[39m: module 'gpslib.book.claims' has no attribute 'seed_noise'
\x1b[31mAttributeError\x1b[39m: module 'gpslib.book.claims' has no attribute 'seed_noise'
myst_nb.core.execute.base.ExecutionError: /src/book/06_feedback_rampup.ipynb
"""
    assert bb.build_problems(log).splitlines() == [
        "book/02_data.ipynb:4: WARNING: image file not readable: x.png",
        "nbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:",
        "------------------", "print(claims.seed_noise(runs))", "------------------",
        "AttributeError: module 'gpslib.book.claims' has no attribute 'seed_noise'",
        "myst_nb.core.execute.base.ExecutionError: /src/book/06_feedback_rampup.ipynb"]


def test_offence_prints_one_line_of_at_most_100_characters():
    line = str(bb.Offence("book/x.html", "kind", "a\nb" * 100))
    assert "\n" not in line and line.startswith("book/x.html: kind: a\\nb") and len(line) <= 120


def _mathjax_js() -> Path | None:
    try:
        package = importlib.import_module("sphinx-mathjax-offline")
    except ImportError:
        return None
    path = Path(package.__file__).parent / "static" / "mathjax" / "tex-chtml.js"
    return path if path.exists() else None


def test_the_browser_check_sees_mathjax_reject_a_formula_and_measures_a_page(tmp_path):
    """The whole chain the book's pages go through, on a page of three formulas (an unknown macro, a
    mismatched environment, one right) and a table wider than its column."""
    exe, mathjax = bb.chromium(), _mathjax_js()
    if not exe:
        pytest.skip("no chromium: the browser checks skip (apt-get install chromium)")
    if not mathjax:
        pytest.skip("sphinx-mathjax-offline is not installed (pip install -e .[book])")
    math = '<span class="math notranslate nohighlight">\\({}\\)</span> '
    page_html = (f'<html><head><script defer src="{mathjax.as_uri()}"></script></head><body>'
                 '<article class="bd-article" style="width:600px"><p>'
                 + math.format("a^2") + math.format("\\notacommand{x}")
                 + math.format("\\begin{aligned} a \\end{align}") +
                 '</p><table style="width:900px"><tr><td>wide</td></tr></table>'
                 + ''.join('<div class="cell_output"><div class="output"><table><tr><td>t</td></tr></table></div>'
                           f'<p style="margin:{margin}">{text}</p></div>' for margin, text in (("0", "glued"),
                                                                                                ("1em 0", "apart")))
                 + '</article></body></html>')
    page = tmp_path / "page.html"
    page.write_text(page_html)
    dom, measured = bb.probe(exe, page)
    assert sorted(str(o) for o in bb.mathjax_errors("page", page_html, dom)) == [
        "page: MathJax error: \\begin{aligned} ended with \\end{align}",
        "page: undefined TeX macro: \\notacommand"]
    assert [o.text for o in bb.wide_tables("page", measured)] == ["wide"]
    assert [o.text for o in bb.glued_to_tables("page", measured)] == ["glued"]
    assert 40 < bb.column_chars(measured) < 100
    assert not (tmp_path / "page.probe.html").exists()


# ---- the build ----------------------------------------------------------------------------------

@dataclass
class Build:
    result: subprocess.CompletedProcess
    failures: list[str]       # chapters whose smoke run failed, with the failing cell
    out: Path                 # --path-output
    base: Path                # pytest's temporary folder, which holds it
    html: Path
    new_in_book: list[str]    # files the build left in book/
    pages: dict[str, str]     # page (relative to html/) -> its HTML


def _smoke_run_chapters(stage: Path, base: Path) -> list[str]:
    """Each chapter the build executes, smoke-run from a fresh folder outside book/ (tests/smoke.py) into the
    staged book, two at a time (a chapter spends much of its time loading libraries); returns the failures."""
    def run(name: str) -> str:
        cwd = Path(tempfile.mkdtemp(dir=base))
        result = smoke_run(ROOT / name, stage / name, cwd=cwd, runs=cwd / "runs")
        return "" if result.returncode == 0 else f"{name}:\n" + result.stderr[-3000:]
    with ThreadPoolExecutor(2) as pool:
        return [failure for failure in pool.map(run, built_notebooks()) if failure]


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Build:
    """One build for every test of this file (--dist loadfile keeps them on one worker): the chapters run
    with their smoke parameters (a reader's defaults take minutes each), then the book is built from a copy
    of its sources that holds those outputs, as `jupyter-book build .` builds it, without executing them again."""
    exe = _jupyter_book()
    if not exe:
        pytest.skip("jupyter-book is not installed (pip install -e .[book])")
    pytest.importorskip("papermill")
    base = tmp_path_factory.mktemp("book")
    stage, out = base / "src", base / "out"
    before = {p for p in BOOK.rglob("*")}
    shutil.copytree(BOOK, stage / "book", ignore=shutil.ignore_patterns("_build", "results", ".*"))
    shutil.copytree(ROOT / "_static", stage / "_static")
    shutil.copy(ROOT / "_toc.yml", stage)
    (stage / "gpslib").symlink_to(ROOT / "gpslib")            # the source the chapters include
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    (stage / "_config.yml").write_text(yaml.safe_dump(config))
    failures = _smoke_run_chapters(stage, base)
    out.mkdir()
    result = subprocess.run([exe, "build", str(stage), "--path-output", str(out), "-W", "-n", "--keep-going", "--all"],
                            capture_output=True, text=True, timeout=3600, cwd=out)
    new = sorted(str(p.relative_to(BOOK)) for p in set(BOOK.rglob("*")) - before)
    html = out / "_build" / "html"
    pages = {f"{name}.html": (html / f"{name}.html").read_text(encoding="utf-8")
             for name in toc_files() if (html / f"{name}.html").exists()}
    return Build(result, failures, out, tmp_path_factory.getbasetemp(), html, new, pages)


@pytest.fixture(scope="module")
def browser(book):
    """Each page loaded in headless Chromium: (typeset DOM, measurements), or None without Chromium."""
    exe = bb.chromium()
    if not exe:
        return None
    return {page: bb.probe(exe, book.html / page) for page in book.pages}


@pytest.mark.notebook
def test_book_builds_without_warnings(book):
    log = book.result.stdout + book.result.stderr
    assert book.result.returncode == 0, bb.build_problems(log) or log[-6000:]
    assert (book.html / "index.html").exists()
    assert len(book.pages) == len(toc_files()), f"pages missing: {sorted(book.pages)}"
    chapter = book.pages.get("book/01_gps_in_one_picture.html", "")
    assert "_static/mathjax/tex-chtml.js" in chapter
    assert "cdn.jsdelivr.net" not in chapter and "mathjax@" not in chapter
    assert (book.html / "_static" / "mathjax" / "tex-chtml.js").exists()


@pytest.mark.notebook
def test_every_chapter_ran_from_outside_book_and_wrote_nothing_there(book):
    """A chapter that needed book/ as its working directory fails its smoke run; none may write into book/."""
    assert book.failures == [], "\n\n".join(book.failures)
    assert book.new_in_book == [], f"a chapter wrote into book/: {book.new_in_book}"


# One test per page and check, so that the summary names the pages to fix. (With --dist loadfile, xdist
# also hands out the files with the most tests first: the build starts at once, beside the unit tests.)
PAGES = [f"{name}.html" for name in toc_files()]


@pytest.fixture(scope="module")
def capacity(browser) -> int:
    """Characters per <pre> line: measured on the built pages when Chromium is there (the narrowest)."""
    measured = [bb.column_chars(m) for _, m in (browser or {}).values()]
    return min([c for c in measured if c] or [bb.COLUMN_CHARS])


def _built(book, page) -> None:
    if not book.pages:
        pytest.skip("the build wrote no page (test_book_builds_without_warnings says why)")
    if page not in book.pages:
        pytest.fail(f"{page} was not built", pytrace=False)


def _parts(book, page) -> bb.Parts:
    _built(book, page)
    return bb.read_parts(book.pages[page])


def _browsed(book, browser, page):
    if browser is None:
        pytest.skip("no chromium (/usr/bin/chromium or on PATH): this check needs a browser")
    _built(book, page)
    return browser[page]


@pytest.mark.notebook
@pytest.mark.parametrize("page", PAGES)
def test_page_lines_fit_the_column(book, capacity, page):
    _report(bb.wide_lines(page, _parts(book, page), capacity))


@pytest.mark.notebook
@pytest.mark.parametrize("page", PAGES)
def test_page_tables_show_every_row_and_column(book, page):
    _report(bb.elisions(page, _parts(book, page)))


@pytest.mark.notebook
@pytest.mark.parametrize("page", PAGES)
def test_page_tables_show_a_dash_where_there_is_no_value(book, page):
    _report(bb.empty_markers(page, _parts(book, page)))


@pytest.mark.notebook
@pytest.mark.parametrize("page", PAGES)
def test_page_shows_no_path_of_the_building_machine(book, page):
    temp = Path(tempfile.gettempdir())
    anywhere = [ROOT, temp, temp.resolve(), book.base, book.base.resolve()]
    _report(bb.machine_paths(page, _parts(book, page), anywhere))


@pytest.mark.notebook
@pytest.mark.parametrize("page", PAGES)
def test_page_formulas_typeset(book, browser, page):
    dom, _ = _browsed(book, browser, page)
    _report(bb.mathjax_errors(page, book.pages[page], dom))


@pytest.mark.notebook
@pytest.mark.parametrize("page", PAGES)
def test_page_tables_fit_the_column(book, browser, page):
    _, measured = _browsed(book, browser, page)
    _report(bb.wide_tables(page, measured))


@pytest.mark.notebook
@pytest.mark.parametrize("page", PAGES)
def test_page_text_below_a_table_stands_apart(book, browser, page):
    _, measured = _browsed(book, browser, page)
    _report(bb.glued_to_tables(page, measured))


@pytest.mark.notebook
def test_the_main_job_s_s1_has_one_value_on_every_page(book):
    """The recorded GPS at 1/8, seed 0 is named in the training page's note and in the results' list of runs:
    both give the recorded history's final S1 (val and test), so no two pages can disagree."""
    from gpslib.history import History
    from gpslib.paths import RESULTS_DIR
    h = History.load(RESULTS_DIR / "tables" / "gps-1_8.json")
    val, test = 100 * h.final["miou_student1"], 100 * h.test["miou_student1"]
    _built(book, "book/train.html")
    note = re.search(r"val S1 ([\d.]+)\s*%, test ([\d.]+)\s*%", book.pages["book/train.html"])
    assert note and (float(note.group(1)), float(note.group(2))) == (round(val, 2), round(test, 2)), note
    _built(book, "book/11_results.html")
    row = re.search(r"<th>gps-1_8</th>\s*<td>([\d.]+)</td>\s*<td>([\d.]+)</td>", book.pages["book/11_results.html"])
    assert row and (float(row.group(1)), float(row.group(2))) == (round(val, 1), round(test, 1)), row
