"""The project carries its own documentation: docs/SPEC.md is the published copy of the
contract, and nothing a user reads points outside the repository."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_SPEC = ROOT.parent / "shared" / "SPEC.md"


def test_docs_spec_is_the_contract():
    published = (ROOT / "docs" / "SPEC.md").read_text(encoding="utf-8")
    assert published.startswith("# dunning_batch — what it computes, exactly")
    if SHARED_SPEC.is_file():  # where the contract's source sits beside the clone (CI, developers)
        assert published == SHARED_SPEC.read_text(encoding="utf-8")


def test_readme_and_messages_point_into_the_repository():
    texts = [ROOT / "README.md", *sorted((ROOT / "dunning_batch").rglob("*.py")),
             *sorted((ROOT / "templates").rglob("*"))]
    outside = [str(p.relative_to(ROOT)) for p in texts if p.is_file() and "../shared" in p.read_text(encoding="utf-8")]
    assert outside == []
