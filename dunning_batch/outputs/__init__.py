"""An output folder of a run: its layout (`layout`), how a run writes it (`writer`) and the one
way every command reads it (`folder`)."""

from .layout import (ANALYST_VIEWS_DIR, CSV_TYPES, DELIVERY_FILES, FORMULA_STARTS, csv_values, OUTPUT_FILES, RULE_COLUMNS, OutputFile, output_files,
                     views_sql)
from .writer import AtomicFolder, check_target, csv_cells, write_data_files, write_json, write_text_atomic

__all__ = ["ANALYST_VIEWS_DIR", "CSV_TYPES", "DELIVERY_FILES", "FORMULA_STARTS", "csv_values", "csv_cells", "OUTPUT_FILES", "RULE_COLUMNS", "OutputFile", "output_files",
           "views_sql", "AtomicFolder", "check_target", "write_data_files", "write_json", "write_text_atomic"]
