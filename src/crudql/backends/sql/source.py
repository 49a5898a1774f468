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

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection, Engine

try:
    from sqlalchemy.ext.asyncio import AsyncEngine
except ImportError:  # pragma: no cover - without greenlet there are no async engines either

    class AsyncEngine:  # type: ignore[no-redef]
        """Stands for SQLAlchemy's AsyncEngine where its asyncio extension cannot load."""


from ...ast import Expr, Now, SortKey
from ...ast import now_values as nows_in_tree
from ...cache import CompiledCache, WeightedLRU, tree_weight
from ...check.schema import Schema
from ...cursor import check_cursor_key
from ...errors import QueryError
from ...fieldtypes import Kind
from ...records import require_model
from ...timeouts import DEFAULT_TIMEOUT, Deadline, check_timeout
from ...values import clock
from .compiler import FilterCompiler
from .dialects import dialect_for
from .execution import Direct, DirectPair, Pooled, engine_runs_direct, fetch_all, fetch_scalar, pooled, runs_direct
from .keyset import Term, keyset_condition, keyset_segments, keyset_terms, position_values
from .loading import Loader
from .mapping import Json, Scalar, build_mapping
from .params import now_bindings, now_values
from .rows import RowReader
from .tables import (
    IndexSpec,
    create_indexes,
    default_table_name,
    insert_records,
    model_indexes,
    reflect_table,
    storage_columns,
    table_for_model,
    transaction,
)

__all__ = ["SQLSource", "Statements"]

LIMIT, OFFSET = "crudql_limit", "crudql_offset"
C = TypeVar("C", Connection, Pooled)
_WEIGHT = 12  # cached statements per unit of `tree_weight` (see SQLSource.__init__)


@dataclass(frozen=True, slots=True)
class _PagePlan:
    """One page's statements (a keyset page: segments of the order) and their parameters."""

    stmts: Statements
    statements: tuple[Statements, ...]  # whose pages run, in turn, until the page is full
    params: dict[str, Any]
    nows: dict[str, Any]
    offset: int
    limit: int
    keyset: bool
    lookahead: bool = False  # the page's last item only shows that more follow: no model for it


@dataclass(frozen=True)
class Statements:
    """The statements of one (filter, sort): the page (bound `crudql_limit`, `crudql_offset`)
    and the count; `nows` are the parameters `now` values of the filter became (bound per
    request, `crudql.backends.sql.params`). `direct`: the same statements compiled to run
    on the DBAPI cursor (`crudql.backends.sql.execution`), where the source may."""

    page: sa.Select[Any]
    count: sa.Select[Any]
    nows: tuple[tuple[str, Now, str], ...] = ()
    direct: DirectPair | None = None


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
    # `page(..., lookahead=True)` returns None for the row that only shows more follow
    # (`crudql.request.PreparedQuery.call`): its model would be built to be thrown away.
    page_lookahead = True

    def __init__(
        self,
        bind: Engine | Connection | AsyncEngine,
        table: sa.Table | str | type,
        model: type[BaseModel] | None = None,
        *,
        fields: Mapping[str, Any] | None = None,
        count: str = "separate",
        autocommit: bool = True,
        timeout: float | None = DEFAULT_TIMEOUT,
        queryable: str = "all",
        own_layout: bool = False,
        cursor_key: bytes | str | None = None,
    ) -> None:
        self.model = require_model(model, "SQL")
        self.timeout = check_timeout(timeout)
        self.cursor_key = check_cursor_key(cursor_key)
        if count not in ("separate", "window"):
            raise ValueError("count must be 'separate' or 'window'")
        self.bind = bind
        self.is_async = isinstance(bind, AsyncEngine)
        self.schema = Schema.from_model(self.model, queryable)
        self.dialect = dialect_for(bind)
        if isinstance(table, str):
            table = reflect_table(bind, table)
        self.mapping = build_mapping(table, self.model, fields, queryable=queryable, dialect=bind.dialect)
        self.table = self.mapping.table
        if not self.is_async:
            self.dialect.check_bind(bind)  # type: ignore[arg-type]
        self.compiler = FilterCompiler(self.dialect, self.mapping)
        self.count_mode = count
        # Pass a Connection to control transactions yourself.
        self._reader: Any = (
            bind.execution_options(isolation_level="AUTOCOMMIT")
            if isinstance(bind, (Engine, AsyncEngine)) and autocommit and self.dialect.autocommit_reads
            else bind
        )
        # crudql's own tables (`from_records`) are read raw, the fastest way: one JSON decode per
        # JSON column, pydantic parses the text of instants. Tables of your own keep their column
        # types (enums, naive datetimes, UUIDs, arrays) and are assembled by the loader.
        self._raw = own_layout and self.mapping.flat
        self._loader = None if self._raw else Loader(self.compiler.root)
        # The model's validator itself, a Python call less per record, unless the model has its own
        # `model_validate`.
        own = self.model.model_validate.__func__ is not BaseModel.model_validate.__func__  # type: ignore[attr-defined]
        validate = self.model.model_validate if own else self.model.__pydantic_validator__.validate_python
        # Statements run on the DBAPI cursor where nothing is lost (`execution`): a synchronous
        # engine the source takes connections from (a Connection passed in keeps SQLAlchemy's
        # transaction bookkeeping); only the count where rows go to the loader, which reads
        # them as SQLAlchemy types them.
        self._direct = not self.is_async and isinstance(self._reader, Engine)
        # Direct statements are compiled once SQLAlchemy has met the server (MariaDB or MySQL,
        # its version): statements built before that (`explain`) are cached apart.
        self._server_known = False
        fields_ = [mf for mf in self.mapping.fields.values() if isinstance(mf, (Scalar, Json))]
        self._columns = [(mf.expr, mf.alias) for mf in fields_]
        # JSON columns are read here (`rows`), unless the driver returns them decoded (then a str
        # is a JSON string, not JSON text).
        json_columns = [(alias, isinstance(mf, Json)) for mf, (_, alias) in zip(fields_, self._columns)]
        decoded = self.dialect.json_decoded
        self._rows = RowReader(self.model, [(a, j and not decoded) for a, j in json_columns], validate, nested=not own)
        # A pooled page reads a driver that decodes JSON through the dialect's `json_text_cursor`:
        # the text, from which a nested model is read in one pass (`rows`).
        self._text_rows = RowReader(self.model, json_columns, validate, nested=not own) if decoded else None
        # SQLAlchemy statements weigh about eight times the tree they come from, and their direct
        # forms (`execution`, once run twice) a fifth of that again (measured): hence the factor
        # in `statements`. Their compiled forms go to this source's own cache, bounded
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

    @property
    def statements_per_page(self) -> int:
        """Statements a page may take: the page, one per to-many relationship, the count."""
        return 2 + (0 if self._loader is None else _many_count(self._loader.plan))

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
        wanted = model_indexes(model) if indexes is None else indexes
        name = table_name or default_table_name(model)
        table = table_for_model(model, sa.MetaData(), name, dialect, schema=schema, indexes=wanted)
        columns = storage_columns(build_mapping(table, model))
        with transaction(bind, dialect) as conn:
            if replace:
                table.drop(conn, checkfirst=True)
            table.create(conn)
            create_indexes(table, conn, dialect, wanted)
            insert_records(conn, table, model, columns, records, batch_size)
        return cls(bind, table, model, own_layout=True, **source_options)

    def insert(self, records: Iterable[BaseModel | dict[str, Any]], *, batch_size: int = 1000) -> int:
        """Add records (model instances or JSON dicts) to the table; returns how many."""
        if self.is_async or not isinstance(self.bind, (Engine, Connection)):
            raise TypeError("insert needs a synchronous Engine or Connection")
        with transaction(self.bind, self.dialect) as conn:
            return insert_records(conn, self.table, self.model, storage_columns(self.mapping), records, batch_size)

    # -------------------------------------------------------------- statements

    def statements(self, where: Expr | None, order: Sequence[SortKey]) -> Statements:
        """The page and count statements for a checked query, cached by the (hashable) AST
        and bounded by an estimate of their memory."""
        return self._statements.get_or_build(
            (where, tuple(order), self._server_known), self._build, _statements_weight, where, order
        )

    def _after_statements(
        self, where: Expr | None, order: Sequence[SortKey], position: Sequence[Any], offset: bool
    ) -> tuple[tuple[Statements, ...], dict[str, Any]]:
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
            (where, key, shape, offset, self._server_known),
            build,
            lambda built: len(built) * (_WEIGHT * tree_weight(where) + 512 * len(terms)),
        )
        return statements, params

    def _build(
        self, where: Expr | None, order: Sequence[SortKey], after: Any = None, offset: bool = True
    ) -> Statements:
        condition = self.compiler.compile(where) if where is not None else None
        # Raw column values (`SQLDialect.select_column`): SQLAlchemy's per-value result
        # processors (JSON, instants) cost more than the query on a small page; `rows` decodes
        # JSON and pydantic parses the ISO text of instants.
        if self._loader is None:
            columns: list[Any] = [self.dialect.select_column(c).label(c.key) for c, _ in self._columns]
        else:
            columns = list(self._loader.columns)
        if self.count_mode == "window":
            columns.append(sa.func.count().over().label("crudql_total"))
        page = sa.select(*columns).select_from(self.compiler.from_clause)
        count = sa.select(sa.func.count()).select_from(self.compiler.from_clause)
        if condition is not None:
            page = page.where(condition)
            count = count.where(condition)
        if after is not None:
            page = page.where(after)
        page = page.order_by(*self.compiler.order_by(order)).limit(sa.bindparam(LIMIT, type_=sa.BigInteger))
        if offset:
            page = page.offset(sa.bindparam(OFFSET, type_=sa.BigInteger))
        # Walking the built statement for `now` parameters costs more than the AST walk that
        # shows there are none (hundreds of conditions: tens of milliseconds).
        nows = now_bindings(condition) if where is not None and nows_in_tree(where) else ()
        if not (self._direct and self._server_known):
            return Statements(page, count, nows)
        names = [name for name, _, _ in nows]
        return Statements(page, count, nows, DirectPair(page if self._loader is None else None, count, names))

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
            page = pages[0].page  # the first segment: where the page starts
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
        if form == "naive":  # a DATETIME column without a time zone holds UTC wall time
            return instant.astimezone(dt.timezone.utc).replace(tzinfo=None)
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
        lookahead: bool = False,
    ) -> tuple[list[Any], int]:
        """One page and the count of all matches (`crudql.sources.Source`). With `after` (a
        position: one value per key of `order`), the rows after it, by a keyset condition
        instead of an OFFSET (`crudql.backends.sql.keyset`). With `lookahead` (`page_lookahead`),
        the `limit`-th item, there only to show that more follow, is None instead of a model."""
        if self.is_async:
            raise TypeError("this source reads through an AsyncEngine: await crudql.run_query_async(request, source)")
        self._meet_server()
        reader, (rows, more, total) = self._fetch(self._plan(where, order, offset, limit, after, now, lookahead))
        # Models are built once the connection is back in the pool (and no longer referenced).
        return (reader.records(rows) if self._loader is None else rows) + more, total

    def _fetch(self, plan: _PagePlan) -> tuple[RowReader, tuple[list[Any], list[Any], int]]:
        if self._pooled(plan):
            cursor = None if self._text_rows is None else self.dialect.json_text_cursor
            with self.dialect.exclusive(self._reader), pooled(self._reader) as pool_conn:
                with self._guarded(pool_conn) as guarded:
                    return self._text_rows or self._rows, self._page_on(guarded, plan, cursor)
        with self._running() as conn:
            return self._rows, self._page_on(conn, plan)

    def _pooled(self, plan: _PagePlan) -> bool:
        """Whether the page runs on a pooled connection without a `Connection`: both of its
        statements run directly (compiled already: a third run on), rows in crudql's own layout,
        and nothing a Connection would tell about it listens (`engine_runs_direct`)."""
        stmts = plan.stmts
        forms = stmts.direct.compiled if stmts.direct is not None else None
        return (
            self._direct
            and forms is not None
            and forms[0] is not None
            and forms[1] is not None
            and not plan.keyset
            and self._loader is None
            and engine_runs_direct(self._reader)
        )

    async def page_async(
        self,
        where: Expr | None,
        order: Sequence[SortKey],
        offset: int,
        limit: int,
        after: Sequence[Any] | None = None,
        *,
        now: dt.datetime | None = None,
        lookahead: bool = False,
    ) -> tuple[list[Any], int]:
        """`page` through an AsyncEngine (the same statements and timeout), or in a worker
        thread for a synchronous bind, so an event loop never waits on the database."""
        if not self.is_async:
            return await asyncio.to_thread(
                lambda: self.page(where, order, offset, limit, after, now=now, lookahead=lookahead)
            )
        plan = self._plan(where, order, offset, limit, after, now, lookahead)
        async with self._reader.connect() as conn:
            return await conn.run_sync(lambda sync: self._page_guarded(sync, plan))  # type: ignore[no-any-return]

    def _plan(
        self,
        where: Expr | None,
        order: Sequence[SortKey],
        offset: int,
        limit: int,
        after: Sequence[Any] | None,
        now: dt.datetime | None,
        lookahead: bool = False,
    ) -> _PagePlan:
        stmts = self.statements(where, order)
        nows = now_values(stmts.nows, clock() if now is None else now, self._stored_instant) if stmts.nows else {}
        if after is None:
            params = {LIMIT: limit, OFFSET: offset, **nows}
            return _PagePlan(stmts, (stmts,), params, nows, offset, limit, False, lookahead)
        statements, position = self._after_statements(where, order, after, offset > 0)
        params = {LIMIT: limit, **nows, **position, **({OFFSET: offset} if offset > 0 else {})}
        return _PagePlan(stmts, statements, params, nows, offset, limit, True, lookahead)

    def _page_guarded(self, conn: Connection, plan: _PagePlan) -> tuple[list[Any], int]:
        with self._guarded(conn) as guarded:
            rows, more, total = self._page_on(guarded, plan)
        return (self._rows.records(rows) if self._loader is None else rows) + more, total

    def _page_on(
        self, conn: Connection | Pooled, plan: _PagePlan, cursor: Callable[[Any], Any] | None = None
    ) -> tuple[list[Any], list[Any], int]:
        """The page's rows (raw in crudql's own layout, else models: the loader's relationships
        take further statements), [None] when only counted rows show that more follow, and
        the total. `cursor`: makes the cursor direct page statements run on."""
        direct = self._direct and runs_direct(conn)
        forms = self._forms(direct, plan.stmts, conn)
        # An offset page learns whether more follow from the count it runs anyway (or from a
        # partial page), not from one more row: a sorted index scan then reads no row past
        # the page. A cursor's page counts every match, not those after it: it reads one more.
        counted = plan.lookahead and not plan.keyset and plan.limit > 1
        wanted = plan.limit - 1 if counted else plan.limit
        rows: list[Any] = []
        params = dict(plan.params)
        for stmts in plan.statements:  # segments of the order, until the page is full
            params[LIMIT] = wanted - len(rows)
            page = (forms if stmts is plan.stmts else self._forms(direct, stmts, conn))[0]
            if page is not None:
                rows += fetch_all(conn, page, params, cursor)
            else:
                assert isinstance(conn, Connection)  # a pooled page runs its direct forms
                rows += conn.execute(stmts.page, params, execution_options=self._options).all()
            if len(rows) >= wanted:
                break
        if plan.keyset:
            total = self._count(conn, plan.stmts, plan.nows, forms[1])
        else:
            total = self._total(conn, plan.stmts, rows, plan.offset, wanted, plan.nows, forms[1])
        more: list[Any] = []
        if counted:
            if len(rows) == wanted and plan.offset + wanted < total:
                more = [None]  # only counted (`crudql.request.page_of`)
        elif plan.lookahead and len(rows) >= plan.limit > 0:
            rows, more = rows[: plan.limit - 1], [None]
        if self._loader is None:
            return rows, more, total
        assert isinstance(conn, Connection)
        return [self.model.model_validate(r) for r in self._loader.records(conn, rows)], more, total

    @contextmanager
    def _running(self) -> Iterator[Connection]:
        """A prepared connection whose statements the engine cancels at the source's timeout;
        driver errors a client caused or a timeout become `QueryError`s."""
        with self._connect() as conn, self._guarded(conn) as guarded:
            yield guarded

    @contextmanager
    def _guarded(self, conn: C) -> Iterator[C]:
        deadline = None if self.timeout is None else Deadline(self.timeout)
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
        self,
        conn: Connection | Pooled,
        stmts: Statements,
        rows: list[Any],
        offset: int,
        limit: int,
        params: dict[str, Any],
        direct: Direct | None,
    ) -> int:
        if (rows and len(rows) < limit) or (not rows and offset == 0):
            return offset + len(rows)  # the page shows the end of the matches
        if rows and self.count_mode == "window":
            return int(rows[0][-1])
        return self._count(conn, stmts, params, direct)

    def _count(
        self, conn: Connection | Pooled, stmts: Statements, params: dict[str, Any], direct: Direct | None
    ) -> int:
        if direct is not None:
            return int(fetch_scalar(conn, direct, params))
        assert isinstance(conn, Connection)
        return int(conn.execute(stmts.count, params, execution_options=self._options).scalar_one())

    def count(self, where: Expr | None = None, *, now: dt.datetime | None = None) -> int:
        self._meet_server()
        stmts = self.statements(where, ())
        with self._running() as conn:
            params = now_values(stmts.nows, clock() if now is None else now, self._stored_instant)
            direct = self._forms(self._direct and runs_direct(conn), stmts, conn)[1]
            return self._count(conn, stmts, params, direct)

    @staticmethod
    def _forms(direct: bool, stmts: Statements, conn: Connection | Pooled) -> tuple[Direct | None, Direct | None]:
        """The statements' (page, count) to run on the DBAPI cursor; None: through SQLAlchemy."""
        if direct and stmts.direct is not None:
            return stmts.direct.forms(conn.dialect) or (None, None)
        return None, None

    def _meet_server(self) -> None:
        """Before the first direct statement is compiled: a connection, on which SQLAlchemy
        initializes the dialect (server version, MariaDB or MySQL, quoting), as it would before
        compiling a statement it runs."""
        if self._direct and not self._server_known:
            if self.bind.dialect.server_version_info is None:
                with self._connect():
                    pass
            self._server_known = True

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        if isinstance(self._reader, Connection):
            yield self._reader  # the caller owns transactions
        else:
            with self.dialect.exclusive(self._reader), self._reader.connect() as conn:
                yield conn


def _statements_weight(_: Statements, where: Expr | None, order: Sequence[SortKey]) -> int:
    return _WEIGHT * tree_weight(where)


def _many_count(plan: Any) -> int:
    """To-many relationships in a loader plan (each is one statement per page)."""
    count = len(plan.many)
    count += sum(_many_count(m.plan) for m in plan.many if m.plan is not None)
    count += sum(_many_count(nested) for _, nested, _ in plan.objects)
    return count
