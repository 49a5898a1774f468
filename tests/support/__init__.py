"""Helpers shared by the tests (no tests here): hypothesis strategies for contacts, filters and
sorts (`support.strategies`), short AST constructors (`support.builders`), the hand-computed
conformance table every backend answers (`support.conformance`) and the SQL test helpers
(`support.sql`). `tests/` is on `pythonpath` (pyproject.toml), so tests import `support.*`."""
