"""An output folder of a run: its layout (`layout`), how a run writes it (`writer`), the one
way every command reads it (`folder`), what `--force` may replace (`guard`) and the lock
commands that change it take (`lock`)."""

from .layout import (ANALYST_VIEWS_DIR, CONFIG_FILES, CSV_TYPES, DELIVERY_FILES, FORMULA_STARTS, OUTPUT_FILES,
                     RULE_COLUMNS, OutputFile, RuleColumn, csv_values, missing_columns, output_files, output_rules,
                     views_sql)
from .writer import AtomicFolder, check_target, csv_cells, write_data_files, write_json, write_text_atomic

__all__ = ["ANALYST_VIEWS_DIR", "CONFIG_FILES", "CSV_TYPES", "DELIVERY_FILES", "FORMULA_STARTS", "OUTPUT_FILES",
           "RULE_COLUMNS", "OutputFile", "RuleColumn", "csv_values", "missing_columns", "output_files", "output_rules",
           "views_sql",
           "AtomicFolder", "check_target", "csv_cells", "write_data_files", "write_json", "write_text_atomic"]
