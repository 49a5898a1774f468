"""The MongoDB backend answers like docs/spec/LANGUAGE.md §2 and like the Python backend.

Three layers:
- a small adversarial fixture (missing vs null vs empty, `%`/`_`/`\\`, unicode, instants
  between two milliseconds) with hand-computed answers for every operator, on every engine;
  the Python backend's conformance table (each case also negated) and the spec's examples;
- sorting, paging, storage and `explain`;
- differential hypothesis tests: generated contacts, filters, sorts and pages give exactly the
  Python backend's page (same records, same order, same total) through `run_query`.

Engines: mongomock (always) and montydb (when installed). Neither is a real MongoDB; the
compiled filters avoid every place where they differ from it (see docs/mongo.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crudql
from crudql.ast import Expr
from crudql.backends import mongo
from crudql.backends.mongo import MongoSource, compile_filter, compile_sort, explain, explain_json
from crudql.backends.python import compile_filter as python_filter
from crudql.backends.python import sort_records
from crudql.models import Contact
from crudql.request import PageRequest, effective_sort, run_query
from crudql.sources import InMemory
from support.conformance import CASES as CONFORMANCE  # the Python backend's hand-computed table
from support.conformance import FIXTURE as CONFORMANCE_FIXTURE
from support.strategies import SCHEMA, contacts, filter_texts, sort_texts

HAS_MONTYDB = importlib.util.find_spec("montydb") is not None
ENGINES = [
    "mongomock",
    pytest.param("montydb", marks=pytest.mark.skipif(not HAS_MONTYDB, reason="montydb is not installed")),
]
_names = itertools.count()


@functools.cache
def _client(engine: str) -> Any:
    # One client per engine and process: montydb fixes its storage options per process.
    if engine == "mongomock":
        import mongomock

        return mongomock.MongoClient()
    import montydb

    return montydb.MontyClient(":memory:")


def new_collection(engine: str) -> Any:
    return _client(engine)["crudql_test"][f"c{next(_names)}"]


def examples(ci_minimum: int) -> int:
    """At least `ci_minimum` examples under the ci profile; the profile's count otherwise."""
    default = settings.default.max_examples
    return max(ci_minimum, default) if default >= 300 else default


# ---------------------------------------------------------------------------- the fixture

RECORDS: list[dict[str, Any]] = [
    {
        "id": "a1",
        "name": "Zoë Ångström",
        "emailAddress": "zoe@example.com",
        "organizationID": "org-1",
        "creationTime": "2024-01-31T12:00:00.123Z",
        "tags": ["partner", "vip"],
        "info": {
            "partner": "AWS",
            "companyName": "Acme 50% off",
            "cosellPartnerMetrics": {
                "accountCount": 10,
                "successRate": 50.5,
                "pipeline": {"USD": 100.0},
                "industries": ["Software"],
                "accounts": [
                    {
                        "industry": "Software",
                        "type": "Customer",
                        "opportunities": [{"stageName": "Closed Won", "amount": 10.0}],
                    },
                    {"industry": "Retail", "type": "Prospect"},
                ],
            },
        },
    },
    {
        "id": "a2",
        "name": None,
        "organizationID": "org-2",
        "creationTime": "2024-01-31T12:00:00Z",
        "tags": [],
        "info": {"partner": None, "companyName": "a_b", "cosellPartnerMetrics": {"accountCount": 0, "accounts": []}},
    },
    {"id": "a3"},
    {
        "id": "a4",
        "name": "back\\slash",
        "organizationID": "org-1",
        "creationTime": "2024-01-31T14:00:00+02:00",  # the same instant as a2
        "tags": None,
        "info": None,
    },
    {
        "id": "a5",
        "name": "multi\nline",
        "creationTime": "2024-02-29T00:00:00Z",
        "info": {
            "partner": "",
            "companyName": "a%b",
            "cosellPartnerMetrics": {"accounts": [{"industry": "Software", "type": "Prospect"}], "pipeline": {}},
        },
    },
    {
        "id": "B6",
        "name": "ÅNGSTRÖM",
        "organizationID": "ORG-1",
        "tags": ["churned", "Partner"],
        "info": {
            "partner": "GCP",
            "companyName": "axb",
            "cosellPartnerMetrics": {
                "accountCount": 2**53 + 1,  # a double cannot hold it: compared exactly
                "successRate": None,
                "accounts": [{"industry": None, "type": "Customer"}],
            },
        },
    },
    {
        "id": "b7",
        "name": "ann",
        "creationTime": "2023-12-31T23:59:59.999Z",
        "info": {
            "cosellPartnerMetrics": {"accountCount": -3, "pipeline": {"USD": -0.5, "EUR": 3}},
            "enrichedContactInfo": {"status": "stale", "info": {"isPrimary": False}},
        },
    },
    {
        "id": "é8",
        "name": "",
        "emailAddress": "$where",
        "tags": ["$where", ""],
        "info": {
            "companyName": '{"$gt": ""}',
            "enrichedContactInfo": {"status": "active", "info": {"isPrimary": True}},
        },
    },
]
# Code-point order: "B6" < "a1" < ... < "b7" < "é8".
ALL = "B6 a1 a2 a3 a4 a5 b7 é8"


def ids(text: str) -> list[str]:
    """Ids in the default (id ascending, code point) order."""
    return sorted(text.split())


def but(text: str) -> str:
    excluded = set(text.split())
    return " ".join(i for i in ALL.split() if i not in excluded)


M = "info.cosellPartnerMetrics"
ACC = f"{M}.accounts"
# (filter in lisp, ids it matches), computed by hand from RECORDS and docs/spec/LANGUAGE.md §2.
CASES: list[tuple[str, str]] = [
    # equality and null tests
    ('(= organization_id "org-1")', "a1 a4"),
    ('(!= organization_id "org-1")', but("a1 a4")),
    ("(= name null)", "a2 a3"),
    ("(!= name null)", but("a2 a3")),
    ("(is-null info.partner)", "a2 a3 a4 b7 é8"),
    ("(exists info.partner)", "a1 a5 B6"),
    ('(= info.partner "")', "a5"),
    ('(!= info.partner "AWS")', but("a1")),
    ('(= name "")', "é8"),
    # in / nin, null in the list, empty lists
    ('(in info.partner ("AWS" "GCP"))', "a1 B6"),
    ('(in info.partner ("AWS" null))', "a1 a2 a3 a4 b7 é8"),
    ('(nin info.partner ("AWS" null))', "a5 B6"),
    ("(in info.partner ())", ""),
    ("(nin info.partner ())", ALL),
    ("(in info.partner (null))", "a2 a3 a4 b7 é8"),
    # numbers: int and float fields, a 2**53+1 integer, between
    (f"(> {M}.accountCount 0)", "a1 B6"),
    (f"(<= {M}.accountCount 0)", "a2 b7"),
    (f"(not (> {M}.accountCount 0))", but("a1 B6")),
    (f"(= {M}.accountCount 9007199254740992)", ""),
    (f"(> {M}.accountCount 9007199254740992)", "B6"),
    (f"(between {M}.accountCount -3 0)", "a2 b7"),
    (f"(between {M}.accountCount 10 0)", ""),
    (f"(< {M}.successRate 100)", "a1"),
    (f"(= {M}.successRate null)", but("a1")),
    (f"(= {M}.pipeline.USD 100)", "a1"),
    (f"(< {M}.pipeline.USD 0)", "b7"),
    (f"(exists {M}.pipeline)", "a1 a5 b7"),
    (f"(is-null {M}.pipeline.EUR)", but("b7")),
    (f"(= {M}.closedWonAmount.EUR 3)", ""),
    # datetimes: offsets, dates alone, literals between two milliseconds
    ('(= creation_time "2024-01-31T12:00:00Z")', "a2 a4"),
    ('(= creationTime "2024-01-31T13:00:00+01:00")', "a2 a4"),
    ('(> creation_time "2024-01-31T12:00:00Z")', "a1 a5"),
    ('(>= creation_time "2024-01-31T12:00:00.0005Z")', "a1 a5"),
    ('(< creation_time "2024-01-31T12:00:00.0005Z")', "a2 a4 b7"),
    ('(<= creation_time "2024-01-31T12:00:00.1235Z")', "a1 a2 a4 b7"),
    ('(> creation_time "2024-01-31T12:00:00.1225Z")', "a1 a5"),
    ('(= creation_time "2024-01-31T12:00:00.0005Z")', ""),
    ('(!= creation_time "2024-01-31T12:00:00.0005Z")', ALL),
    ('(in creation_time ("2024-01-31T12:00:00.123Z" "2024-01-31T12:00:00.0001Z"))', "a1"),
    ('(< creation_time "2024-01-01")', "b7"),
    ('(between creation_time "2024-01-31" "2024-01-31T12:00:00Z")', "a2 a4"),
    ('(between creation_time "2024-01-31T12:00:00.0001Z" "2024-01-31T12:00:00.1239Z")', "a1"),
    # strings order by code point
    ('(< name "a")', "a1 é8"),
    ('(>= name "b")', "a4 a5 B6"),
    ('(> name "$")', "a1 a4 a5 B6 b7"),
    # LIKE: anchored, % and _ across newlines, escapes, unicode case folding
    ('(like name "%ngstr%")', "a1"),
    ('(ilike name "%ÅNGSTRÖM")', "a1 B6"),
    ('(ilike name "zoë%")', "a1"),
    ('(like name "a__")', "b7"),
    ('(like name "back\\\\\\\\slash")', "a4"),
    ('(like name "multi_line")', "a5"),
    ('(like name "multi%")', "a5"),
    ('(like name "%line")', "a5"),
    ('(like name "multi")', ""),
    ('(like name "m%l%i%e")', "a5"),
    ('(like name "%u%t%i%")', "a5"),
    ('(like name "%a%n%")', "b7"),
    ('(like name "%")', but("a2 a3")),
    ('(like name "")', "é8"),
    ('(ilike name "%N")', "b7"),
    ('(like info.companyName "a\\\\%b")', "a5"),
    ('(like info.companyName "a_b")', "a2 a5 B6"),
    ('(like info.companyName "a\\\\_b")', "a2"),
    ('(like info.companyName "%50\\\\% off")', "a1"),
    ('(like info.companyName "a.b")', ""),
    ('(ilike email_address "%WHERE")', "é8"),
    ('(not (like name "%n%"))', "a2 a3 a4 B6 é8"),
    # contains, icontains, starts-with, ends-with (strings: substring; arrays: element)
    ('(contains info.companyName "50%")', "a1"),
    ('(contains info.companyName "")', "a1 a2 a5 B6 é8"),
    ('(icontains info.companyName "ACME")', "a1"),
    ('(contains info.companyName ".")', ""),
    ('(contains tags "partner")', "a1"),
    ('(icontains tags "PARTNER")', "a1 B6"),
    ('(icontains tags "part")', ""),
    ('(starts-with name "Zo")', "a1"),
    ('(starts-with name "")', but("a2 a3")),
    ('(ends-with name "line")', "a5"),
    ('(ends-with name "lin")', ""),
    ('(starts-with info.companyName "{\\"$gt\\"")', "é8"),
    # arrays of scalars
    ('(has tags "vip")', "a1"),
    ('(not (has tags "vip"))', but("a1")),
    ('(has tags "")', "é8"),
    ('(has-any tags ("vip" "churned"))', "a1 B6"),
    ("(has-any tags ())", ""),
    ('(has-all tags ("partner" "vip"))', "a1"),
    ('(has-all tags ("partner" "churned"))', ""),
    ("(has-all tags ())", ALL),
    ('(not (has-all tags ("partner" "vip")))', but("a1")),
    # exists / is-null on arrays and objects: [] exists, null does not
    ("(exists tags)", "a1 a2 B6 é8"),
    ("(is-null tags)", "a3 a4 a5 b7"),
    ("(= tags null)", "a3 a4 a5 b7"),
    ("(!= tags null)", "a1 a2 B6 é8"),
    ("(exists info)", but("a3 a4")),
    ("(is-null info)", "a3 a4"),
    (f"(exists {ACC})", "a1 a2 a5 B6"),
    # any / all / * over arrays of objects
    (f'(any {ACC} (= industry "Software"))', "a1 a5"),
    (f'(any {ACC} (and (= industry "Software") (= type "Customer")))', "a1"),
    (f'(any {ACC} (and (= industry "Retail") (= type "Customer")))', ""),
    (f'(and (= {ACC}.*.industry "Retail") (= {ACC}.*.type "Customer"))', "a1"),
    (f'(all {ACC} (= type "Customer"))', "a2 a3 a4 B6 b7 é8"),
    (f'(not (all {ACC} (= type "Customer")))', "a1 a5"),
    (f'(!= {ACC}.*.industry "Software")', "a2 a3 a4 B6 b7 é8"),
    (f'(nin {ACC}.*.industry ("Software" "Retail"))', "a2 a3 a4 B6 b7 é8"),
    (f"(is-null {ACC}.*.industry)", "B6"),
    (f"(exists {ACC}.*.industry)", "a1 a5"),
    (f'(any {ACC} (not (= industry "Software")))', "a1 B6"),
    (f"(any {ACC} (exists type))", "a1 a5 B6"),
    (f'(any {ACC} (any opportunities (= stage_name "Closed Won")))', "a1"),
    (f"(= {ACC}.*.opportunities.*.amount 10)", "a1"),
    (f"(all {ACC} (exists opportunities))", "a2 a3 a4 b7 é8"),
    (f'(all {ACC} (all opportunities (= stageName "Closed Lost")))', but("a1")),
    (f"(all {ACC} (= industry null))", "a2 a3 a4 B6 b7 é8"),
    # enums and booleans
    ('(= info.enriched_contact_info.status "stale")', "b7"),
    ('(< info.enrichedContactInfo.status "b")', "é8"),
    ('(in info.enrichedContactInfo.status ("active" "archived"))', "é8"),
    ("(= info.enrichedContactInfo.info.isPrimary false)", "b7"),
    ("(!= info.enrichedContactInfo.info.isPrimary true)", but("é8")),
    # logic
    ('(or (= name "ann") (has tags "vip"))', "a1 b7"),
    ("(not (or (exists name) (exists tags)))", "a3"),
    ("(and (exists name) (not (exists name)))", ""),
    ('(not (not (= name "ann")))', "b7"),
    # values that look like MongoDB operators are data
    ('(= email_address "$where")', "é8"),
    ('(= info.company_name "{\\"$gt\\": \\"\\"}")', "é8"),
    ('(in email_address ("$where" "$ne"))', "é8"),
    ('(has tags "$where")', "é8"),
    # map keys MongoDB cannot address are missing everywhere
    (f'(= "{M}.pipeline.$gt" 1)', ""),
    (f'(is-null "{M}.pipeline.$gt")', ALL),
    (f'(!= "{M}.pipeline.$where" 1)', ALL),
]


@functools.cache
def _fixture_source(engine: str, instants: str) -> MongoSource:
    return MongoSource.from_records(new_collection(engine), RECORDS, instants=instants, model=Contact)


def matching(source: Any, where: Expr | None) -> list[str]:
    items, total = source.page(where, effective_sort([], SCHEMA), 0, 1000)
    assert total == len(items)
    return [item.id for item in items]


def check(text: str) -> Expr | None:
    return crudql.parse_filter(text, schema=SCHEMA)


@pytest.mark.parametrize("instants", ["date", "string"])
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("query", "expected"), CASES, ids=[q for q, _ in CASES])
def test_fixture_case(engine: str, instants: str, query: str, expected: str) -> None:
    assert matching(_fixture_source(engine, instants), check(query)) == ids(expected)


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[q for q, _ in CASES])
def test_fixture_case_python_agrees(query: str, expected: str) -> None:
    # The hand-computed answers are also the Python backend's: the two backends and the
    # spec reading behind them agree.
    predicate = python_filter(check(query))
    assert sorted(r["id"] for r in RECORDS if predicate(Contact.model_validate(r))) == ids(expected)


def test_fixture_covers_every_operator() -> None:
    used = {crudql.operators.lookup(q[1 : q.index(" ")]).name for q, _ in CASES}  # type: ignore[union-attr]
    assert used >= {op.name for op in crudql.operators.OPERATORS}


# ---------------------------------------------------------------------------- the shared conformance cases

CONFORMANCE_IDS = {r["id"] for r in CONFORMANCE_FIXTURE}


@functools.cache
def _conformance_source(engine: str) -> MongoSource:
    return MongoSource.from_records(new_collection(engine), CONFORMANCE_FIXTURE, model=Contact)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("text", "expected"), CONFORMANCE, ids=[c[0] for c in CONFORMANCE])
def test_conformance_cases_and_their_negations(engine: str, text: str, expected: set[str]) -> None:
    source = _conformance_source(engine)
    assert set(matching(source, check(text))) == expected
    # `not` is plain negation: the complement, missing and null included.
    assert set(matching(source, check(f"(not {text})"))) == CONFORMANCE_IDS - expected


SPEC_EXAMPLES = [
    '(and (= organization_id "org-1") (in info.partner ("AWS" "GCP")) (>= info.cosellPartnerMetrics.accountCount 10)'
    ' (ilike name "%an%") (not (has tags "churned")))',
    '(any info.cosellPartnerMetrics.accounts (and (= industry "Software") (= type "Customer")))',
    '(= info.cosellPartnerMetrics.accounts.*.industry "Software")',
    '(!= info.partner "AWS")',
    '(= "info.companyName" "Acme")',
    *(op.example for op in crudql.operators.OPERATORS if op.name not in ("and", "or")),  # those name fields a, b
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("text", SPEC_EXAMPLES)
def test_spec_examples_answer_as_python(engine: str, text: str) -> None:
    where = check(text)
    for records, source in ((RECORDS, _fixture_source(engine, "date")), (CONFORMANCE_FIXTURE, _conformance_source(engine))):
        expected = sorted(r["id"] for r in records if python_filter(where)(Contact.model_validate(r)))
        assert matching(source, where) == expected


# ---------------------------------------------------------------------------- sort and pages

SORTS: list[tuple[str, str]] = [
    ("", ALL),
    ("name", "a2 a3 é8 a1 b7 a4 a5 B6"),  # null = missing, lowest; then code points
    ("-name", "B6 a5 a4 b7 a1 é8 a2 a3"),  # nulls last, the id tiebreak still ascending
    (f"{M}.accountCount", "a3 a4 a5 é8 b7 a2 a1 B6"),
    ("-creation_time", "a5 a1 a2 a4 b7 B6 a3 é8"),  # a2 and a4 are one instant
    ("info.partner", "a2 a3 a4 b7 é8 a5 a1 B6"),  # enums by value, "" first
    ("-info.enrichedContactInfo.info.isPrimary", "é8 b7 B6 a1 a2 a3 a4 a5"),
    (f"{M}.pipeline.USD,-id", "é8 a5 a4 a3 a2 B6 b7 a1"),
    ("-id", "é8 b7 a5 a4 a3 a2 a1 B6"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("sort", "expected"), SORTS)
def test_sort(engine: str, sort: str, expected: str) -> None:
    source = _fixture_source(engine, "date")
    order = effective_sort(crudql.parse_sort(sort, schema=SCHEMA), SCHEMA)
    items, _ = source.page(None, order, 0, 100)
    assert [i.id for i in items] == expected.split()
    # ... and the Python backend sorts the same records the same way.
    python = sort_records([Contact.model_validate(r) for r in RECORDS], order)
    assert [r.id for r in python] == expected.split()


@pytest.mark.parametrize("engine", ENGINES)
def test_pages_and_total_count(engine: str) -> None:
    source = _fixture_source(engine, "date")
    order = "B6 a5 a4 b7 a1 é8 a2 a3".split()
    for number in (1, 2, 3):
        page = run_query(PageRequest(page_size=3, page_number=number, s="-name"), source)
        assert [c.id for c in page.data] == order[(number - 1) * 3 : number * 3]
        assert page.total_count == 8
    past = run_query(PageRequest(page_size=3, page_number=4, s="-name"), source)
    assert past.data == [] and past.total_count == 8
    filtered = run_query(PageRequest(page_size=1, q="(exists tags)", s="name"), source)
    assert [c.id for c in filtered.data] == ["a2"] and filtered.total_count == 4
    nothing = run_query(PageRequest(q="(in name ())"), source)
    assert nothing.data == [] and nothing.total_count == 0


def test_a_page_far_past_the_end_is_empty() -> None:
    source = _fixture_source("mongomock", "date")
    page = run_query(PageRequest(page_size=1000, page_number=10**15), source)
    assert page.data == [] and page.total_count == 8


def test_string_order_is_code_point_order() -> None:
    # BSON compares strings by UTF-8 bytes, which is code-point order, including for
    # characters beyond the BMP (where UTF-16 order would differ).
    names = ["C05", "c01", "c10", "c9", "Z", "a", "é", "\uffff", "\U0001f600", "ﬀ", "", "A"]
    records = [{"id": f"r{i:02d}", "name": n} for i, n in enumerate(names)]
    source = MongoSource.from_records(new_collection("mongomock"), records, model=Contact)
    items, _ = source.page(None, effective_sort(crudql.parse_sort("name", schema=SCHEMA), SCHEMA), 0, 100)
    assert [i.name for i in items] == sorted(names)
    assert sorted(names, key=lambda s: s.encode("utf-8")) == sorted(names)


# ---------------------------------------------------------------------------- storage


def test_from_records_keeps_absent_absent_and_null_null() -> None:
    collection = new_collection("mongomock")
    MongoSource.from_records(collection, RECORDS, model=Contact)
    stored = {d["id"]: d for d in collection.find({}, {"_id": False})}
    assert stored["a3"] == {"id": "a3"}
    assert stored["a4"]["info"] is None and stored["a4"]["tags"] is None
    assert stored["a2"]["tags"] == [] and "emailAddress" not in stored["a2"]
    assert stored["a5"]["info"]["partner"] == ""  # the enum's value, not its name
    assert stored["a4"]["creationTime"] == dt.datetime(2024, 1, 31, 12, 0)  # a BSON date, UTC
    assert stored["B6"]["info"]["cosellPartnerMetrics"]["accountCount"] == 2**53 + 1


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("instants", ["date", "string"])
def test_round_trip_through_run_query(engine: str, instants: str) -> None:
    page = run_query(PageRequest(page_size=100), _fixture_source(engine, instants))
    reference = run_query(PageRequest(page_size=100), InMemory(RECORDS, model=Contact))
    assert page.to_json_dict() == reference.to_json_dict()


def test_model_instances_and_the_lazy_source_name() -> None:
    records = [Contact.model_validate(r) for r in RECORDS]
    source = crudql.sources.Mongo.from_records(new_collection("mongomock"), records, model=Contact)
    assert isinstance(source, MongoSource)
    assert matching(source, check('(has tags "vip")')) == ["a1"]


def test_invalid_records_are_request_errors() -> None:
    with pytest.raises(crudql.QueryError, match="item 1 is not a valid Contact"):
        MongoSource.from_records(new_collection("mongomock"), [{"id": "x"}, {"name": "no id"}], model=Contact)


@pytest.mark.parametrize("key", ["$gt", "$where", "a\x00b", "a.b", ""])
def test_unqueryable_map_keys_are_refused(key: str) -> None:
    record = {"id": "x", "info": {"cosellPartnerMetrics": {"pipeline": {key: 1.0}}}}
    with pytest.raises(ValueError, match="cannot be stored"):
        MongoSource.from_records(new_collection("mongomock"), [record], model=Contact)


def test_date_instants_are_milliseconds_and_literals_round_exactly() -> None:
    # BSON dates hold milliseconds: 12:00:00.000999 is stored as 12:00:00.000. A literal
    # between two milliseconds is compared as the Python backend compares it with what is stored.
    records = [{"id": "x", "creationTime": "2024-01-31T12:00:00.000999Z"}, {"id": "y", "creationTime": "2024-01-31T12:00:00.001Z"}]
    source = MongoSource.from_records(new_collection("mongomock"), records, model=Contact)
    stored = {c.id: c.creation_time for c in source.page(None, [], 0, 10)[0]}
    assert stored["x"] == dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.timezone.utc)
    assert matching(source, check('(< creation_time "2024-01-31T12:00:00.0005Z")')) == ["x"]
    assert matching(source, check('(>= creation_time "2024-01-31T12:00:00.0005Z")')) == ["y"]
    assert matching(source, check('(= creation_time "2024-01-31T12:00:00.000999Z")')) == []


def test_string_instants_keep_microseconds() -> None:
    records = [{"id": "x", "creationTime": "2024-01-31T12:00:00.000999Z"}, {"id": "y", "creationTime": "2024-01-31T14:00:00.001+02:00"}]
    collection = new_collection("mongomock")
    source = MongoSource.from_records(collection, records, instants="string", model=Contact)
    assert collection.find_one({"id": "y"})["creationTime"] == "2024-01-31T12:00:00.001000Z"
    assert matching(source, check('(= creation_time "2024-01-31T12:00:00.000999Z")')) == ["x"]
    assert matching(source, check('(> creation_time "2024-01-31T12:00:00.000998Z")')) == ["x", "y"]
    items, _ = source.page(None, effective_sort(crudql.parse_sort("-creation_time", schema=SCHEMA), SCHEMA), 0, 10)
    assert [i.id for i in items] == ["y", "x"]
    assert items[1].creation_time == dt.datetime(2024, 1, 31, 12, 0, 0, 999, tzinfo=dt.timezone.utc)


def test_unknown_instant_style() -> None:
    with pytest.raises(ValueError, match="instants must be one of date, string"):
        MongoSource(new_collection("mongomock"), instants="epoch", model=Contact)


# ---------------------------------------------------------------------------- explain and shape


def test_explain_shows_filter_and_sort() -> None:
    where = check('(and (= organization_id "org-1") (>= creation_time "2024-01-01") (not (has tags "churned")))')
    order = effective_sort(crudql.parse_sort("-creation_time", schema=SCHEMA), SCHEMA)
    assert explain(where, order) == {
        "filter": {
            "$and": [
                {"organizationID": {"$eq": "org-1"}},
                {"creationTime": {"$gte": dt.datetime(2024, 1, 1)}},
                {"tags": {"$ne": "churned"}},
            ]
        },
        "sort": [["creationTime", -1], ["id", 1]],
    }
    text = json.loads(explain_json(where, order))
    assert text["filter"]["$and"][1] == {"creationTime": {"$gte": {"$date": "2024-01-01T00:00:00.000Z"}}}
    assert explain(None) == {"filter": {}, "sort": []}
    assert explain(check("(in name ())"))["filter"] == mongo.MATCH_NONE


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # != and nin are negations: MongoDB's $ne/$nin match missing fields, like $nor does.
        ('(!= name "x")', {"name": {"$ne": "x"}}),
        ('(nin name ("x"))', {"name": {"$nin": ["x"]}}),
        # present and not null, in the form mongomock also gets right through null parents
        ("(exists name)", {"name": {"$exists": True, "$ne": None}}),
        ("(exists tags)", {"tags": {"$type": "array"}}),
        # all is not-any-not: true for missing and empty arrays
        (f'(all {ACC} (= type "x"))', {"$nor": [{f"{ACC}": {"$elemMatch": {"type": {"$ne": "x"}}}}]}),
        (f"(any {ACC} (exists type))", {ACC: {"$elemMatch": {"type": {"$exists": True, "$ne": None}}}}),
        # an element condition that always holds: a non-empty array ($elemMatch: {} is not portable)
        (f"(any {ACC} (nin industry ()))", {f"{ACC}.0": {"$exists": True}}),
        (f"(any {ACC} (in industry ()))", mongo.MATCH_NONE),
        ('(like name "Jo%")', {"name": {"$regex": "^Jo"}}),
        ('(like name "Jo")', {"name": {"$eq": "Jo"}}),
        ('(ilike name "%jo%")', {"name": {"$regex": "jo", "$options": "i"}}),
        ("(has-all tags ())", {}),
        ('(= "info.cosellPartnerMetrics.pipeline.$gt" 1)', mongo.MATCH_NONE),
        ("(has-any tags ())", mongo.MATCH_NONE),
        ('(between name "a" "b")', {"name": {"$gte": "a", "$lte": "b"}}),
    ],
)
def test_compiled_forms(query: str, expected: dict[str, Any]) -> None:
    assert compile_filter(check(query)) == expected


def test_deep_filters_stay_shallow() -> None:
    # MongoDB refuses documents nested past 100 levels. Double negations fold and nested
    # and/or flatten, so the depth limit of the spec stays far below it.
    text = "(not " * 30 + '(= name "ann")' + ")" * 30
    assert compile_filter(check(text)) == {"name": {"$eq": "ann"}}
    text = "(and " * 15 + '(or (= name "ann") (or (= name "b") ' + '(= name "c")))' + ")" * 15
    compiled = compile_filter(check(text))
    assert compiled == {"$or": [{"name": {"$eq": "ann"}}, {"name": {"$eq": "b"}}, {"name": {"$eq": "c"}}]}


def _depth(value: Any) -> int:
    """BSON nesting levels (documents and arrays)."""
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def test_deepest_accepted_filter_fits_mongodb_nesting() -> None:
    # and/or/not alternate, so nothing flattens: the worst case for the depth limit.
    depth = crudql.DEFAULT_LIMITS.max_depth - 1
    forms = itertools.cycle(["and", "or", "not"])
    text = '(= name "ann")'
    for _, form in zip(range(depth - 1), forms):
        text = f"(not {text})" if form == "not" else f'({form} (= name "x{form}") {text})'
    where = check(text)
    compiled = compile_filter(where)
    assert _depth(compiled) < 100
    assert matching(_fixture_source("mongomock", "date"), where) == [
        r["id"] for r in sorted(RECORDS, key=lambda r: r["id"]) if python_filter(where)(Contact.model_validate(r))
    ]


def test_sort_skips_keys_mongodb_cannot_address() -> None:
    keys = crudql.parse_sort(f'["-{M}.pipeline.$x", "name"]', "json", schema=SCHEMA)
    assert compile_sort(keys) == [("name", 1)]


# ---------------------------------------------------------------------------- differential


def _reference(source: MongoSource, records: list[dict[str, Any]]) -> InMemory:
    """What the Python backend is compared on. String instants store the records as they are;
    BSON dates keep milliseconds, so the Python backend gets the records as MongoDB holds them
    (test_round_trip_* shows nothing else changes)."""
    if source.instants == "string":
        return InMemory(records, model=Contact)
    stored, _ = source.page(None, effective_sort([], SCHEMA), 0, 10**6)
    return InMemory(stored, model=Contact)


def _same_pages(source: MongoSource, records: list[dict[str, Any]], q: str, sort: tuple[str, str], size: int, number: int) -> None:
    reference = _reference(source, records)
    s, ss = sort
    for request in (
        PageRequest(page_size=1000, q=q, s=s, ss=ss),  # every match: membership and order
        PageRequest(page_size=size, page_number=number, q=q, s=s, ss=ss),  # one page of them
    ):
        got = run_query(request, source).to_json_dict()
        want = run_query(request, reference).to_json_dict()
        assert got == want, compile_filter(crudql.parse_filter(q, schema=SCHEMA), instants=source.instants)


PAGES = st.tuples(st.integers(1, 5), st.integers(1, 4))


def _differential(engine: str, instants: str, records: list[dict[str, Any]], q: str, sort: tuple[str, str], page: tuple[int, int]) -> None:
    collection = new_collection(engine)
    try:
        source = MongoSource.from_records(collection, records, instants=instants, model=Contact)
        _same_pages(source, records, q, sort, *page)
    finally:
        collection.drop()


# (engine, instants, most sort keys, examples under the ci profile); instants None: each example
# draws "date" or "string".
DIFFERENTIAL = [
    pytest.param("mongomock", "date", 3, 1000, id="mongomock"),
    # Microsecond instants stored exactly: the Python backend runs on the very same records.
    pytest.param("mongomock", "string", 3, 500, id="mongomock-string_instants"),
    # One sort key (plus the id tiebreak): montydb 2.5 mis-orders three or more keys when a
    # middle key ties across groups of the first one (docs/mongo.md).
    pytest.param(
        "montydb", None, 1, 500, id="montydb", marks=pytest.mark.skipif(not HAS_MONTYDB, reason="montydb is not installed")
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("engine", "instants", "max_sort_keys", "ci_examples"), DIFFERENTIAL)
def test_same_pages_as_python(engine: str, instants: str | None, max_sort_keys: int, ci_examples: int) -> None:
    # Hypothesis runs inside the test so that each engine keeps its own example budget
    # (settings cannot differ between the parameters of one decorated test).
    @settings(max_examples=examples(ci_examples), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(
        records=contacts(),
        q=filter_texts(),
        sort=sort_texts(max_size=max_sort_keys),
        page=PAGES,
        instants=st.sampled_from(["date", "string"]) if instants is None else st.just(instants),
    )
    def same_pages(records: list[dict[str, Any]], q: str, sort: tuple[str, str], page: tuple[int, int], instants: str) -> None:
        _differential(engine, instants, records, q, sort, page)

    same_pages()


def test_montydb_multi_key_sort_bug_is_still_there() -> None:
    # Guard for the restriction above: when montydb fixes its sort, widen the test.
    if not HAS_MONTYDB:
        pytest.skip("montydb is not installed")
    collection = new_collection("montydb")
    collection.insert_many([{"id": "C05"}, {"id": "c10"}, {"id": "c01", "name": None, "o": "org-1"}])
    got = [d["id"] for d in collection.find({}).sort([("o", 1), ("name", 1), ("id", 1)])]
    assert got == ["C05", "c01", "c10"]  # MongoDB (and mongomock): C05, c10, c01


class _CollatedCollection:
    """A mongomock collection that reports a case-insensitive default collation, as a real
    MongoDB collection created with one does, and records the options of each query."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.sent: list[dict[str, Any]] = []
        outer = self

        class _Database:
            def list_collections(self, filter: dict[str, Any]) -> list[dict[str, Any]]:
                assert filter == {"name": outer.name}
                return [{"name": outer.name, "options": {"collation": {"locale": "en", "strength": 2}}}]

        self.database = _Database()

    def count_documents(self, query: dict[str, Any], **options: Any) -> int:
        self.sent.append(options)
        return int(self.inner.count_documents(query))

    def find(self, query: dict[str, Any], projection: Any, **options: Any) -> Any:
        self.sent.append(options)
        return self.inner.find(query, projection)


def test_a_default_collation_is_overridden_with_simple_collation() -> None:
    collection = _CollatedCollection(new_collection("mongomock"))
    MongoSource.from_records(collection.inner, RECORDS, model=Contact)
    source = MongoSource(collection, model=Contact)
    assert matching(source, check('(= name "ann")')) == ["b7"]
    assert [options["collation"] for options in collection.sent] == [mongo.SIMPLE_COLLATION] * 2
    # The count and the find both carry the time left of the source's timeout.
    assert [sorted(options) for options in collection.sent] == [["collation", "maxTimeMS"], ["collation", "max_time_ms"]]
    # Engines without collations (mongomock, montydb) are asked once and get no option.
    plain = _fixture_source("mongomock", "date")
    assert matching(plain, check('(= name "ann")')) == ["b7"] and plain.simple_collation is False


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("sort", ["creation_time", "-creation_time", "-name", "id", "-id"])
def test_walk_by_cursor(engine: str, sort: str) -> None:
    """Keyset pages (one key and the id tiebreak: montydb mis-sorts three keys)."""
    source = MongoSource.from_records(new_collection(engine), RECORDS, model=Contact)
    memory = crudql.sources.InMemory(RECORDS, model=Contact)
    ids, cursor = [], None
    while True:
        page = crudql.run_query(crudql.PageRequest(page_size=2, s=sort, cursor=cursor), source)
        ids += [c.id for c in page.data]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert ids == [c.id for c in crudql.run_query(crudql.PageRequest(page_size=100, s=sort), memory).data]
