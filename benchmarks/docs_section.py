"""Each benchmark script owns one `## ...` section of docs/benchmarks.md and rewrites only it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"


def write_section(title: str, text: str, path: Path = DOCS) -> None:
    """Replace the section headed `title` (`## ...`) with `text`, or add it before
    "## How to run"; the other sections stay as they are."""
    existing = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    start = existing.find(title + "\n")
    if start == -1:
        anchor = existing.find("\n## How to run")
        if anchor == -1:
            updated = existing.rstrip("\n") + "\n\n" + text
        else:
            updated = existing[: anchor + 1] + text.rstrip("\n") + "\n\n" + existing[anchor + 1 :]
    else:
        following = existing.find("\n## ", start + len(title))
        end = len(existing) if following == -1 else following + 1
        updated = existing[:start] + text.rstrip("\n") + "\n" + ("\n" + existing[end:] if following != -1 else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")
