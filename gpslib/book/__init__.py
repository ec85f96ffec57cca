"""The book about GPS: its recorded experiments, the claims and tables computed from them, its figures, and the
helpers its chapters call. It sits above the GPS system (config, data, models, losses, train, evaluate, ...),
which never imports it."""


def say(markdown: str):
    """Show a computed sentence or table as Markdown that wraps in the page (the last line of a cell)."""
    from IPython.display import Markdown
    return Markdown(markdown)
