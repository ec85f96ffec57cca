"""The book about GPS: its recorded experiments, the claims and tables computed from them, its figures, and the
helpers its chapters call. It sits above the GPS system (config, data, models, losses, train, evaluate, ...),
which never imports it."""

# Monospace characters one line of a code cell or output holds in the rendered page: the 688 px column less the
# block's padding, at the theme's 14 px DejaVu Sans Mono (8.43 px a character). The built-book test measures it.
COLUMN_CHARS = 77


def listed(items) -> str:
    """'a', 'a and b', 'a, b and c'; '' for none."""
    items = [str(i) for i in items]
    return " and ".join(filter(None, [", ".join(items[:-1]), *items[-1:]]))


def filled(frame):
    """A table for the page: "–" where a cell has no value (never NaN, <NA> or None)."""
    from ..compare import DASH
    return frame.astype(object).where(frame.notna(), DASH)


def _markdown(text: str):
    from IPython.display import Markdown
    return Markdown(text.replace("95 % CI", "95\u00a0%\u00a0CI"))       # the interval's label stays on one line


def say(markdown: str):
    """Show a computed sentence or table as Markdown that wraps in the page (the last line of a cell)."""
    return _markdown(markdown) if markdown.strip() else None      # nothing to show: no empty output


def glue_md(name: str, markdown: str) -> None:
    """Put a computed phrase or table into the chapter's prose: a Markdown cell writes {glue:md}`name` where it
    goes (Jupyter Book's glue), so the argument stays in the chapter and only the numbers come from code."""
    from myst_nb import glue
    glue(name, _markdown(markdown), display=False)
