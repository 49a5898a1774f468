"""Checked AST -> something that runs: Python functions (`python`), SQLAlchemy Core (`sql`),
pymongo queries (`mongo`). All compile through `base.Compiler` and give the same answers."""
