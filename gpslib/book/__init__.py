"""The book about GPS: its recorded experiments, the claims and tables computed from them, its figures, and the
helpers its chapters call. It sits above the GPS system (config, data, models, losses, train, evaluate, ...),
which never imports it."""
