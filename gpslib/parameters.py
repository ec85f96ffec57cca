"""User input -> a validated Config: one parser behind `gpslib train`'s flags and train.ipynb's parameters.

`configure(dataset, partition, yaml_file, **overrides)` is `config.make_config` for every dataset: for a
`folder` it first asks the data side for the facts of the tree (`data.tree_facts`) and hands them to the pure
preset function. `config_from_parameters(params)` takes a mapping of names to values, as the CLI parses them
or as a notebook's parameters cell sets them: None or the text 'none' keeps the preset's value, other text is
coerced to the field's type (`config.coerce`), and names that are not fields (a notebook's `resume`, a
command's own flags) are left to the caller.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .config import Config, coerce, field_names, is_none, make_config, needs_tree, parse_flag, user_values

__all__ = ["configure", "config_from_parameters", "is_none", "parse_flag"]


def configure(dataset: str = "digits", partition: str = "1/8", yaml_file: str | Path | None = None,
              **overrides: Any) -> Config:
    """make_config for any dataset; a folder tree is read (once per process) only when its preset is needed."""
    tree = None
    if dataset == "folder":
        user = user_values(yaml_file, overrides)
        if needs_tree(user):
            from .data import tree_facts
            tree = tree_facts(user.get("data_root"), user.get("labeled_file"), user.get("unlabeled_file"),
                              parse_flag("dagger", user.get("dagger", False)))
    return make_config(dataset, partition, yaml_file, tree=tree, **overrides)


def config_from_parameters(params: Mapping[str, Any]) -> Config:
    """The Config of `dataset`, `partition`, `config_file` and every Config field found in `params`.

    None/'none' keeps the preset's value; text is coerced to the field's type; other names are ignored, so a
    notebook may pass its parameters as they are (e.g. `{name: globals()[name] for name in PARAMETERS}`).
    """
    dataset = str(params.get("dataset") or "digits")
    partition = params.get("partition")
    config_file = params.get("config_file")
    fields = {name: coerce(name, params[name]) for name in field_names()
              if name not in ("dataset", "partition") and name in params and not is_none(params[name])}
    return configure(dataset, "1/8" if is_none(partition) else str(partition),
                     None if is_none(config_file) else str(config_file), **fields)
