"""Two-valued logic over SQL's three values (docs/spec/LANGUAGE.md §2: never UNKNOWN).

The compiler pushes every `not` down to the leaves (negation normal form). A positive leaf
may be UNKNOWN where the language says false, which is harmless: AND, OR, EXISTS and WHERE are
monotone and treat UNKNOWN like FALSE. A negated leaf adds an explicit `IS NULL` branch for
exactly the rows where its positive form is UNKNOWN, so `(not P)` is true exactly where `P`
is not. Each test therefore renders itself two ways: `positive()` and `negative()`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from .elements import junction

__all__ = ["AllOf", "AnyOf", "Const", "Leaf", "Negated", "Test"]


class Test:
    """A boolean condition that can render itself positively or negated, two-valued."""

    def positive(self) -> ColumnElement[bool]:
        raise NotImplementedError

    def negative(self) -> ColumnElement[bool]:
        raise NotImplementedError


@dataclass(frozen=True)
class Leaf(Test):
    """`test` may be UNKNOWN exactly where `unknown` is true (None: never UNKNOWN)."""

    test: ColumnElement[bool]
    unknown: ColumnElement[bool] | None = None

    def positive(self) -> ColumnElement[bool]:
        return self.test

    def negative(self) -> ColumnElement[bool]:
        negated = sa.not_(self.test)
        return negated if self.unknown is None else sa.or_(negated, self.unknown)


@dataclass(frozen=True)
class Const(Test):
    value: bool

    def positive(self) -> ColumnElement[bool]:
        return sa.true() if self.value else sa.false()

    def negative(self) -> ColumnElement[bool]:
        return sa.false() if self.value else sa.true()


@dataclass(frozen=True)
class AnyOf(Test):
    parts: tuple[Test, ...]

    def positive(self) -> ColumnElement[bool]:
        return junction(sa.or_, [p.positive() for p in self.parts])

    def negative(self) -> ColumnElement[bool]:
        return junction(sa.and_, [p.negative() for p in self.parts])


@dataclass(frozen=True)
class AllOf(Test):
    parts: tuple[Test, ...]

    def positive(self) -> ColumnElement[bool]:
        return junction(sa.and_, [p.positive() for p in self.parts])

    def negative(self) -> ColumnElement[bool]:
        return junction(sa.or_, [p.negative() for p in self.parts])


@dataclass(frozen=True)
class Negated(Test):
    inner: Test

    def positive(self) -> ColumnElement[bool]:
        return self.inner.negative()

    def negative(self) -> ColumnElement[bool]:
        return self.inner.positive()
