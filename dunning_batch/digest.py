"""SHA-256 of files, streamed, and of whole folders of files: the manifest's fingerprints."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_digest(directory: Path, pattern: str) -> dict[str, Any]:
    """One fingerprint for a folder of files: sha256 over the sorted lines 'name sha256'."""
    files = sorted(directory.glob(pattern)) if directory.is_dir() else []
    listing = "".join(f"{p.name} {sha256_of(p)}\n" for p in files)
    return {"files": len(files), "sha256": hashlib.sha256(listing.encode()).hexdigest()}
