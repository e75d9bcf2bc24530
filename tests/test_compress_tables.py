"""A large night's tables are compressed before 70_item_outcomes (pipeline.compress_tables,
issue 20: the run's memory peak) and every output keeps its bytes: the same export written
with the compression and without it gives the same files, but for run.json's timings."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from conftest import ROOT
from dunning_batch import pipeline
from dunning_batch.run import run
from dunning_batch.synth import write_synthetic

AS_OF = dt.date(2026, 11, 24)


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    write_synthetic(folder, 4_000, seed=1, as_of=AS_OF)  # some 20,000 items: DuckDB uses its threads
    return folder


def night(export: Path, out: Path) -> dict:
    run(ROOT / "config" / "example.toml", export / "open_items.parquet", export / "customers.parquet", AS_OF, out,
        pdf=False)
    return json.loads((out / "run.json").read_text(encoding="utf-8"))


def test_compressed_tables_give_the_same_bytes(export: Path, tmp_path: Path, monkeypatch) -> None:
    plain = night(export, tmp_path / "plain")
    assert pipeline.COMPRESS_STEP not in plain["timings_seconds"], "a small night is not compressed"
    monkeypatch.setattr(pipeline, "COMPRESS_FROM_ITEMS", 0)
    compressed = night(export, tmp_path / "compressed")
    assert pipeline.COMPRESS_STEP in compressed["timings_seconds"], "the night was compressed"
    first, second = files_of(tmp_path / "plain"), files_of(tmp_path / "compressed")
    assert sorted(first) == sorted(second)
    assert plain["inputs"]["open_items"]["rows"] > 10_000
    differing = [name for name in first if name != "run.json" and first[name] != second[name]]
    assert not differing, f"compressing the tables changed {differing}"
    for manifest in (plain, compressed):
        manifest.pop("timings_seconds")
    assert plain == compressed
