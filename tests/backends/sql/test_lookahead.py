"""`run_query` asks a SQL source for one row more than the page (whether another page follows):
that row is counted, not built into a model (`page_lookahead`), and the pages are unchanged."""

from __future__ import annotations

from typing import Any

from crudql.models import Contact
from crudql.request import PageRequest, run_query
from crudql.sources import InMemory

RECORDS = [{"id": f"c{i:02d}", "name": f"n{i % 7}", "organizationID": "org"} for i in range(23)]


def test_lookahead_row_is_counted_not_built(make_source: Any) -> None:
    source = make_source(RECORDS)
    items, total = source.page(None, [], 0, 6, lookahead=True)
    assert total == 23 and len(items) == 6 and items[-1] is None and all(i is not None for i in items[:-1])
    items, total = source.page(None, [], 20, 6, lookahead=True)  # the last page: every row is one
    assert total == 23 and [i.id for i in items] == ["c20", "c21", "c22"]
    items, _ = source.page(None, [], 0, 6)
    assert all(i is not None for i in items)


def test_pages_and_cursors_are_those_of_the_python_backend(make_source: Any) -> None:
    source, reference = make_source(RECORDS), InMemory(RECORDS, model=Contact)
    for s in (None, "name", "-name"):
        for number in (1, 2, 4, 5):
            request = PageRequest(s=s, page_size=5, page_number=number)
            ours, theirs = run_query(request, source), run_query(request, reference)
            assert [c.id for c in ours.data] == [c.id for c in theirs.data]
            assert ours.total_count == theirs.total_count and (ours.next_cursor is None) == (theirs.next_cursor is None)
        cursor, seen = None, []
        while True:
            page = run_query(PageRequest(s=s, page_size=5, cursor=cursor), source)
            assert None not in page.data
            seen += [c.id for c in page.data]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [c.id for c in run_query(PageRequest(s=s, page_size=100), reference).data]


def test_an_offset_page_knows_from_the_count_whether_more_follow(make_source: Any) -> None:
    # An offset page reads no row past itself: the count says whether another page follows.
    source = make_source(RECORDS)
    items, total = source.page(None, [], 18, 6, lookahead=True)  # c18..c22: the last five
    assert total == 23 and [i.id for i in items] == [f"c{i}" for i in range(18, 23)]
    for size, number, more in ((23, 1, False), (1, 23, False), (1, 22, True), (22, 1, True), (24, 1, False)):
        page = run_query(PageRequest(page_size=size, page_number=number), source)
        assert (page.next_cursor is not None) is more, (size, number)
        assert page.total_count == 23 and None not in page.data
