"""The run's config (SPEC §3): read and checked from TOML, then handed to SQL as relations.

`model` holds the shape, `load` reads a file into it (with `toml_table` recording every
problem and `money_rules` checking the keys of SPEC §9), `relations` turns it into the
cfg_* Arrow tables the pipeline joins.
"""

from .load import load_config
from .model import (CUSTOMER_COLUMNS, DOC_TYPES, OPEN_ITEM_COLUMNS, PAYMENT_COLUMNS, RATE_COLUMNS, Config, FeeTier,
                    InputFormat, Interest, Level, Policy, RunSettings)
from .relations import config_tables

__all__ = [
    "CUSTOMER_COLUMNS", "DOC_TYPES", "OPEN_ITEM_COLUMNS", "PAYMENT_COLUMNS", "RATE_COLUMNS", "Config", "FeeTier",
    "InputFormat", "Interest", "Level", "Policy", "RunSettings", "config_tables", "load_config",
]
