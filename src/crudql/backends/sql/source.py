"""`crudql.sources.SQL`: a table of model records answering `run_query` pages.

Each page is one `SELECT ... ORDER BY ... LIMIT/OFFSET` and, unless the page itself shows the
total (a partial page), one `SELECT count(*)` without ORDER BY. A cursor's page is
`SELECT ... WHERE <filter> AND <after the position> ORDER BY ... LIMIT` (`keyset`), and the
count. Statements are built once per (checked filter, sort) (and, for cursor pages, per shape
of the position) and cached; the engine's compiled-statement cache then reuses the SQL text
with new values: `now` and the position are parameters bound per request (`params`).
`statements()` is what `explain` and `crudql explain` show: the same statements a page runs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection, Engine

from ...ast import Expr, Now, SortKey
from ...cache import CompiledCache, WeightedLRU, tree_weight
from ...check.schema import Schema
from ...cursor import check_cursor_key
from ...errors import QueryError
from ...fieldtypes import FieldType, Kind
from ...records import require_model, validated
from ...timeouts import DEFAULT_TIMEOUT, Deadline, check_timeout
from ...values import clock
from .compiler import FilterCompiler
from .dialects import dialect_for
from .keyset import Term, keyset_condition, keyset_segments, keyset_terms, position_values
from .params import now_bindings, now_values
from .storage import UnstorableValue, to_row
from .tables import IndexSpec, TableMapping, create_indexes, default_table_name, model_indexes, table_for_model

__all__ = ["SQLSource", "Statements"]

LIMIT, OFFSET = "crudql_limit", "crudql_offset"


@dataclass(frozen=True)
class Statements:
    """The statements of one (filter, sort): the page (bound `crudql_limit`, `crudql_offset`)
    and the count; `nows` are the parameters `now` values of the filter became (bound per
    request, `crudql.backends.sql.params`)."""

    page: sa.Select[Any]
    count: sa.Select[Any]
    nows: tuple[tuple[str, Now, str], ...] = ()


class SQLSource:
    """A table of model records in a SQL database (any dialect of `crudql.backends.sql.dialects`).

    `bind` is an Engine (a connection is taken per page) or a Connection (used as is; the
    caller owns its transactions). `table` is a `sa.Table` or a table name (reflected).
    `count="window"` adds count(*) OVER () to the page query instead of a separate count
    (measured slower: see docs/sql.md). `timeout`: seconds a page and its count may run before
    the engine cancels them (`crudql.QueryTimeoutError`); None disables. `queryable`: the
    field policy mode of the schema (`crudql.Schema.from_model`). `cursor_key`: the secret
    that signs this source's cursors (docs/api.md, "Cursors").
    """

    STATEMENT_CACHE_BYTES = 16 << 20

    def __init__(
        self,
        bind: Engine | Connection,
        table: sa.Table | str,
        model: type[BaseModel] | None = None,
        *,
        count: str = "separate",
        autocommit: bool = True,
        timeout: float | None = DEFAULT_TIMEOUT,
        queryable: str = "all",
        cursor_key: bytes | str | None = None,
    ) -> None:
        self.model = require_model(model, "SQL")
        self.timeout = check_timeout(timeout)
        self.cursor_key = check_cursor_key(cursor_key)
        if count not in ("separate", "window"):
            raise ValueError("count must be 'separate' or 'window'")
        self.bind = bind
        self.schema = Schema.from_model(self.model, queryable)
        if isinstance(table, str):
            table = sa.Table(table, sa.MetaData(), autoload_with=bind)
        self.table = table
        self.dialect = dialect_for(bind)
        self.dialect.check_bind(bind)
        self.mapping = TableMapping(table, self.schema)
        for info in self.mapping.fields.values():
            if info.is_json:
                self.dialect.check_json_column(info.column)
        self.compiler = FilterCompiler(self.dialect, self.mapping)
        self.count_mode = count
        # Pass a Connection to control transactions yourself.
        self._reader: Engine | Connection = (
            bind.execution_options(isolation_level="AUTOCOMMIT")
            if isinstance(bind, Engine) and autocommit and self.dialect.autocommit_reads
            else bind
        )
        self._columns = [(info.column, info.alias) for info in self.mapping.fields.values()]
        # JSON columns are decoded here, once, with json.loads, unless the driver returns them
        # decoded (then a str is a JSON string, not JSON text).
        self._json_positions = (
            ()
            if self.dialect.json_decoded
            else tuple(i for i, info in enumerate(self.mapping.fields.values()) if info.is_json)
        )
        # SQLAlchemy statements weigh about eight times the tree they come from (measured): hence
        # the factor in `statements`. Their compiled forms go to this source's own cache, bounded
        # by memory, rather than to the engine's, bounded by count only (500 entries of up to
        # half a megabyte each).
        self._statements: WeightedLRU[tuple[Any, ...], Statements] = WeightedLRU(self.STATEMENT_CACHE_BYTES)
        self._keyset_terms: WeightedLRU[tuple[SortKey, ...], tuple[Term, ...]] = WeightedLRU(4 << 20)
        self._after_cache: WeightedLRU[tuple[Any, ...], tuple[Statements, ...]] = WeightedLRU(
            self.STATEMENT_CACHE_BYTES // 2
        )
        self._compiled = CompiledCache(self.STATEMENT_CACHE_BYTES)
        self._options = {"compiled_cache": self._compiled}

    def __repr__(self) -> str:
        return f"SQLSource({self.dialect.name}, {self.table.name!r}, {self.model.__name__})"

    # -------------------------------------------------------------- loading

    @classmethod
    def from_records(
        cls,
        bind: Engine | Connection,
        records: Iterable[BaseModel | dict[str, Any]],
        model: type[BaseModel] | None = None,
        table_name: str | None = None,
        *,
        schema: str | None = None,
        indexes: IndexSpec | None = None,
        replace: bool = False,
        batch_size: int = 1000,
        **source_options: Any,
    ) -> SQLSource:
        """Create the table (with its indexes), load `records` and return the source.

        Records are model instances or JSON dicts (alias or Python names), validated into the
        model. The table is named after the model (`Contact` -> `contact`) unless
        `table_name` says otherwise. `indexes`: column names or tuples of them (composite);
        by default the model's `crudql_indexes`. `replace=True` drops an existing table of
        that name first. Other keyword arguments go to the source (`count`, ...).
        """
        model = require_model(model, "SQL.from_records")
        dialect = dialect_for(bind)
        bind = dialect.shared_bind(bind) or bind
        table = table_for_model(model, sa.MetaData(), table_name or default_table_name(model), dialect, schema=schema)
        columns = TableMapping(table, Schema.from_model(model)).storage_columns()
        with _transaction(bind) as conn:
            if replace:
                table.drop(conn, checkfirst=True)
            table.create(conn)
            create_indexes(table, conn, dialect, model_indexes(model) if indexes is None else indexes)
            _insert(conn, table, model, columns, records, batch_size)
        return cls(bind, table, model, **source_options)

    def insert(self, records: Iterable[BaseModel | dict[str, Any]], *, batch_size: int = 1000) -> int:
        """Add records (model instances or JSON dicts) to the table; returns how many."""
        with _transaction(self.bind) as conn:
            return _insert(conn, self.table, self.model, self.mapping.storage_columns(), records, batch_size)

    # -------------------------------------------------------------- statements

    def statements(self, where: Expr | None, order: Sequence[SortKey]) -> Statements:
        """The page and count statements for a checked query, cached by the (hashable) AST
        and bounded by an estimate of their memory."""
        return self._statements.get_or_build(
            (where, tuple(order)), lambda: self._build(where, order), lambda _: 10 * tree_weight(where)
        )

    def _after_statements(
        self, where: Expr | None, order: Sequence[SortKey], position: Sequence[Any], offset: bool
    ) -> tuple[tuple[sa.Select[Any], ...], dict[str, Any]]:
        """The page statements of a keyset page: the rows after `position`, in consecutive
        segments of the order (`keyset_segments`; one, with an OFFSET, when `offset`), cached
        by the position's shape; and the position's parameters."""
        key = tuple(order)
        terms = self._keyset_terms.get_or_build(
            key, lambda: keyset_terms(self.compiler, order), lambda terms: 4096 + 1024 * len(terms)
        )
        shape, params = position_values(terms, position)

        def build() -> tuple[Statements, ...]:
            if offset:
                return (self._build(where, order, keyset_condition(terms, shape), True),)
            return tuple(self._build(where, order, part, False) for part in keyset_segments(terms, shape))

        statements = self._after_cache.get_or_build(
            (where, key, shape, offset), build, lambda built: len(built) * (10 * tree_weight(where) + 512 * len(terms))
        )
        return tuple(s.page for s in statements), params

    def _build(
        self, where: Expr | None, order: Sequence[SortKey], after: Any = None, offset: bool = True
    ) -> Statements:
        condition = self.compiler.compile(where) if where is not None else None
        # Raw column values: SQLAlchemy's per-value result processors (JSON, instants) cost
        # more than the query on a small page; _record decodes JSON and pydantic parses the
        # ISO text of instants (type_coerce renders no CAST).
        columns: list[Any] = [sa.type_coerce(c, sa.types.NullType()).label(c.key) for c, _ in self._columns]
        if self.count_mode == "window":
            columns.append(sa.func.count().over().label("crudql_total"))
        page = sa.select(*columns)
        count = sa.select(sa.func.count()).select_from(self.table)
        if condition is not None:
            page = page.where(condition)
            count = count.where(condition)
        if after is not None:
            page = page.where(after)
        page = page.order_by(*self.compiler.order_by(order)).limit(sa.bindparam(LIMIT, type_=sa.BigInteger))
        if offset:
            page = page.offset(sa.bindparam(OFFSET, type_=sa.BigInteger))
        return Statements(page, count, now_bindings(condition))

    def explain(
        self,
        where: Expr | None,
        order: Sequence[SortKey] = (),
        offset: int = 0,
        limit: int = 20,
        *,
        count: bool = False,
        now: dt.datetime | None = None,
        after: Sequence[Any] | None = None,
    ) -> list[str]:
        """The engine's plan for the page (or count) query, as the dialect prints it; with
        `after`, for the page after that position (a cursor's page)."""
        stmts = self.statements(where, order)
        params = {
            LIMIT: limit,
            OFFSET: offset,
            **now_values(stmts.nows, clock() if now is None else now, self._stored_instant),
        }
        page = stmts.page
        if after is not None:
            pages, position = self._after_statements(where, order, after, offset > 0)
            page = pages[0]  # the first segment: where the page starts
            params.update(position)
        prefix = self.dialect.explain_prefix
        plan: list[str] = []

        def explain_instead(
            conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
        ) -> tuple[str, Any]:
            return prefix + statement, parameters

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
            plan.extend(self.dialect.plan_lines(cursor.fetchall()))

        with self._connect() as conn:
            self.dialect.prepare(conn)
            sa.event.listen(conn, "before_cursor_execute", explain_instead, retval=True)
            sa.event.listen(conn, "after_cursor_execute", capture)
            try:
                conn.execute(stmts.count if count else page, params).close()
            finally:
                sa.event.remove(conn, "before_cursor_execute", explain_instead)
                sa.event.remove(conn, "after_cursor_execute", capture)
        return plan

    # -------------------------------------------------------------- queries

    def _stored_instant(self, form: str, instant: dt.datetime) -> Any:
        """An instant `now` resolved to, as the values it is compared with are stored."""
        if form == "json":
            return self.dialect.json_literal(instant, Kind.DATETIME)
        return self.dialect.literal_value(instant, Kind.DATETIME)

    def page(
        self,
        where: Expr | None,
        order: Sequence[SortKey],
        offset: int,
        limit: int,
        after: Sequence[Any] | None = None,
        *,
        now: dt.datetime | None = None,
    ) -> tuple[list[Any], int]:
        """One page and the count of all matches (`crudql.sources.Source`). With `after` (a
        position: one value per key of `order`), the rows after it, by a keyset condition
        instead of an OFFSET (`crudql.backends.sql.keyset`)."""
        stmts = self.statements(where, order)
        nows = now_values(stmts.nows, clock() if now is None else now, self._stored_instant)
        statements: tuple[sa.Select[Any], ...]
        if after is None:
            statements, params = (stmts.page,), {LIMIT: limit, OFFSET: offset, **nows}
        else:
            statements, position = self._after_statements(where, order, after, offset > 0)
            params = {LIMIT: limit, **nows, **position, **({OFFSET: offset} if offset > 0 else {})}
        with self._running() as conn:
            rows: list[Any] = []
            for statement in statements:  # segments of the order, until the page is full
                params[LIMIT] = limit - len(rows)
                rows += conn.execute(statement, params, execution_options=self._options).all()
                if len(rows) >= limit:
                    break
            if after is None:
                total = self._total(conn, stmts, rows, offset, limit, nows)
            else:
                total = int(conn.execute(stmts.count, nows, execution_options=self._options).scalar_one())
        return [self._record(row) for row in rows], total

    @contextmanager
    def _running(self) -> Iterator[Connection]:
        """A prepared connection whose statements the engine cancels at the source's timeout;
        driver errors a client caused or a timeout become `QueryError`s."""
        deadline = None if self.timeout is None else Deadline(self.timeout)
        with self._connect() as conn:
            self.dialect.prepare(conn)
            try:
                if deadline is None:
                    yield conn
                else:
                    with self.dialect.enforce(conn, deadline):
                        yield conn
            except sa.exc.DBAPIError as exc:
                if deadline is not None and self.dialect.is_cancelled(exc):
                    raise deadline.error() from None
                if isinstance(exc, sa.exc.DataError):
                    # A value the database refused (the checks above should have caught it first).
                    raise QueryError(f"the database rejected a value of the query: {exc.orig}", code="value") from None
                raise

    def _total(
        self, conn: Connection, stmts: Statements, rows: list[Any], offset: int, limit: int, params: dict[str, Any]
    ) -> int:
        if (rows and len(rows) < limit) or (not rows and offset == 0):
            return offset + len(rows)  # the page shows the end of the matches
        if rows and self.count_mode == "window":
            return int(rows[0][-1])
        return int(conn.execute(stmts.count, params, execution_options=self._options).scalar_one())

    def count(self, where: Expr | None = None, *, now: dt.datetime | None = None) -> int:
        stmts = self.statements(where, ())
        with self._running() as conn:
            params = now_values(stmts.nows, clock() if now is None else now, self._stored_instant)
            return int(conn.execute(stmts.count, params, execution_options=self._options).scalar_one())

    def _record(self, row: Sequence[Any]) -> Any:
        values = list(row)
        for i in self._json_positions:
            if isinstance(values[i], (str, bytes)):
                values[i] = json.loads(values[i])
        # A NULL column is an absent field: SQL has one NULL for "missing" and "null".
        data = {alias: value for (_, alias), value in zip(self._columns, values) if value is not None}
        return self.model.model_validate(data)

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        if isinstance(self._reader, Connection):
            yield self._reader  # the caller owns transactions
        else:
            with self._reader.connect() as conn:
                yield conn


@contextmanager
def _transaction(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        if bind.in_transaction():
            yield bind
        else:
            with bind.begin():
                yield bind
    else:
        with bind.begin() as conn:
            yield conn


def _insert(
    conn: Connection,
    table: sa.Table,
    model: type[BaseModel],
    columns: dict[str, tuple[str, FieldType]],
    records: Iterable[Any],
    batch_size: int,
) -> int:
    batch: list[dict[str, Any]] = []
    n = 0
    for n, record in enumerate(validated(model, records), 1):
        try:
            batch.append(to_row(record, columns))
        except UnstorableValue as exc:
            raise ValueError(f"item {n - 1}: {exc}") from None
        if len(batch) >= batch_size:
            conn.execute(table.insert(), batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
    return n
