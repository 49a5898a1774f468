"""The `crudql` command, driven through `main([...])`."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from crudql import sample
from crudql.cli import main

SPEC_FILTER = (
    '(and (= organization_id "org_acme") (in info.partner ("AWS" "GCP")) '
    '(>= info.cosellPartnerMetrics.accountCount 1) (ilike name "%an%") (not (has tags "churned")))'
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def page_of(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "query", *argv)
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------- parse


def test_parse_prints_checked_ast_canonical_lisp_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "parse", "-q", '(AND (eq info.cosellPartnerMetrics.accountCount 3) (= info.cosellPartnerMetrics.accounts.*.industry "Software"))'
    )
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert "  And" in lines
    assert any("Predicate = info.cosell_partner_metrics.account_count : integer" in line and line.endswith(" 3") for line in lines)
    assert any("Quantified any info.cosell_partner_metrics.accounts" in line for line in lines)  # '*' rewritten
    lisp = next(line for line in lines if line.startswith("lisp: "))[6:]
    assert lisp == (
        "(and (= info.cosell_partner_metrics.account_count 3) "
        '(any info.cosell_partner_metrics.accounts (= industry "Software")))'
    )
    json_text = next(line for line in lines if line.startswith("json: "))[6:]
    assert json.loads(json_text)[0] == "and"
    assert "sort: id asc" in lines


def test_parse_json_style_and_positional_query_agree(capsys: pytest.CaptureFixture[str]) -> None:
    _, from_lisp, _ = run(capsys, "parse", '(in info.partner ("AWS" null))')
    code, from_json, _ = run(capsys, "parse", "--qs", "JSON", "-q", '{"in": ["info.partner", ["AWS", null]]}')
    assert code == 0
    assert from_lisp == from_json


def test_parse_without_a_filter_matches_everything(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "parse", "-s", "-creation_time,name")  # a sort starting with '-'
    assert code == 0
    assert "filter: none (matches every record)" in out
    assert "sort: creation_time desc, name asc, id asc" in out


def test_parse_reads_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('(exists tags)\n'))
    code, out, _ = run(capsys, "parse", "-q", "-")
    assert code == 0 and "lisp: (exists tags)" in out


@pytest.mark.parametrize(
    ("argv", "message", "caret_under"),
    [
        (["parse", "-q", '(= info.partnr "AWS")'], "did you mean 'info.partner'", "info.partnr"),
        (["parse", "-q", '(and (= name "x")'], "missing ')'", "("),
        (["parse", "-q", '(like tags "x%")'], "does not apply", "tags"),
        (["query", "-q", "(ilke name \"x\")", "--backend", "memory", "--sample-size", "5"], "did you mean 'ilike'", "ilke"),
        (["query", "-s", "creation_time,-creationTime", "--sample-size", "5"], "twice", "creationTime"),
        (["explain", "-q", '(= info.partner "aws")'], "allowed values", '"aws"'),
    ],
)
def test_a_bad_query_exits_2_with_message_and_caret(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str, caret_under: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err
    excerpt, carets = err.splitlines()[-2:]
    start = carets.index("^")
    assert excerpt[start:].startswith(caret_under)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["query", "--page-size", "0"], "page_size must be between 1 and 1000"),
        (["query", "--page-size", "1001"], "page_size"),
        (["query", "--page-number", "-1"], "page_number"),
        (["query", "--page-number", "two"], "page_number must be an integer"),
        (["query", "--qs", "yaml", "-q", "x"], "qs must be one of lisp, json"),
        (["parse", "--model", "NoSuchModel"], "no pydantic model named 'NoSuchModel'"),
        (["parse", "--model", "no_such_module:Model"], "cannot import no_such_module"),
    ],
)
def test_bad_parameters_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_usage_errors_and_help_use_argparse_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert main(["query", "--backend", "oracle"]) == 2
    assert main(["--help"]) == 0
    assert "parse" in capsys.readouterr().out


# ---------------------------------------------------------------------------- query


def test_query_default_runs_over_embedded_sqlite_sample(capsys: pytest.CaptureFixture[str]) -> None:
    page = page_of(capsys, "-q", '(= info.partner "AWS")', "-s", "-creation_time", "--page-size", "5")
    assert set(page) == {"data", "page_number", "page_size", "total_count"}
    assert page["page_size"] == 5 and page["page_number"] == 1 and len(page["data"]) == 5
    records = sample.contacts(1000)
    expected = [r for r in records if (r.get("info") or {}).get("partner") == "AWS"]
    assert page["total_count"] == len(expected)
    assert all(item["info"]["partner"] == "AWS" for item in page["data"])
    times = [item["creationTime"] for item in page["data"]]
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize("backend", ["memory", "sqlite", "mongo"])
def test_every_backend_returns_the_same_page(capsys: pytest.CaptureFixture[str], backend: str) -> None:
    argv = ["-q", SPEC_FILTER, "-s", "-info.cosellPartnerMetrics.accountCount,name", "--page-size", "7",
            "--page-number", "2", "--sample-size", "600", "--seed", "3", "--compact"]
    reference = page_of(capsys, *argv, "--backend", "memory")
    page = page_of(capsys, *argv, "--backend", backend)
    assert reference["total_count"] > 7  # the spec's filter hits the sample, so page 2 means something
    assert [i["id"] for i in page["data"]] == [i["id"] for i in reference["data"]]
    assert page["total_count"] == reference["total_count"]


def test_query_reads_json_array_and_jsonl_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    records = sample.contacts(40, seed=9)
    as_array = tmp_path / "contacts.json"
    as_array.write_text(json.dumps(records), encoding="utf-8")
    as_lines = tmp_path / "contacts.jsonl"
    as_lines.write_text("\n".join(json.dumps(r) for r in records) + "\n\n", encoding="utf-8")
    pages = [
        page_of(capsys, "--data", str(path), "--backend", backend, "--page-size", "1000", "-s", "name")
        for path in (as_array, as_lines)
        for backend in ("memory", "sqlite")
    ]
    assert all(p["total_count"] == 40 for p in pages)
    assert len({json.dumps([i["id"] for i in p["data"]]) for p in pages}) == 1


def test_query_reads_data_from_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"id": "b"}\n{"id": "a", "tags": ["vip"]}\n'))
    page = page_of(capsys, "--data", "-", "--backend", "memory", "-q", '(has tags "vip")')
    assert page["data"] == [{"id": "a", "tags": ["vip"]}] and page["total_count"] == 1


def test_a_page_past_the_end_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    page = page_of(capsys, "--sample-size", "30", "--page-size", "20", "--page-number", "9")
    assert page["data"] == [] and page["total_count"] == 30


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[{\"id\": 1,}]", "invalid JSON at line 1"),
        ('{"id": "a"}\nnot json\n', "line 2 is not JSON"),
        ("[1, 2]", "record 0 is not a JSON object"),
        ('[{"name": "no id"}]', "item 0 is not a valid Contact"),
    ],
)
def test_bad_data_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "data.json"
    path.write_text(content, encoding="utf-8")
    code, _, err = run(capsys, "query", "--data", str(path), "--backend", "memory")
    assert code == 2 and message in err and "Traceback" not in err


def test_missing_data_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "query", "--data", str(tmp_path / "nope.json"))
    assert code == 2 and "No such file" in err


def test_database_url_loads_then_queries_an_existing_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    first = page_of(capsys, "--database-url", url, "--sample-size", "50", "-q", "(exists info)")
    again = page_of(capsys, "--database-url", url, "--sample-size", "999", "-q", "(exists info)")
    assert first == again and 0 < first["total_count"] < 50  # the second run reads the stored 50
    data = tmp_path / "one.jsonl"
    data.write_text('{"id": "only"}\n', encoding="utf-8")
    code, _, err = run(capsys, "query", "--database-url", url, "--data", str(data))
    assert code == 2 and "--replace" in err
    replaced = page_of(capsys, "--database-url", url, "--data", str(data), "--replace")
    assert replaced["total_count"] == 1


def test_a_missing_optional_dependency_exits_2_with_install_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # `import sqlalchemy` now fails
    code, _, err = run(capsys, "query", "--sample-size", "3")
    assert code == 2 and "pip install 'crudql[sql]'" in err and "Traceback" not in err
    # The in-memory backend needs nothing optional.
    assert page_of(capsys, "--backend", "memory", "--sample-size", "3")["total_count"] == 3
    # explain skips what is not installed, unless asked for it by name.
    code, out, _ = run(capsys, "explain", "-q", "(exists tags)")
    assert code == 0 and "not available" in out and "== MongoDB" in out and "def _f" in out
    code, _, err = run(capsys, "explain", "-q", "(exists tags)", "--backend", "sqlite")
    assert code == 2 and "crudql[sql]" in err


# ---------------------------------------------------------------------------- explain


def test_explain_shows_every_backend_with_values_bound_separately(capsys: pytest.CaptureFixture[str]) -> None:
    value = "Robert'); DROP TABLE contacts;--"
    code, out, err = run(
        capsys, "explain", "-q", f'(and (= name {json.dumps(value)}) (= info.cosellPartnerMetrics.pipeline.USD 5))',
        "-s", "-creation_time", "--page-size", "10", "--page-number", "3",
    )
    assert code == 0, err
    sections = out.split("\n== ")
    titles = [s.splitlines()[0] for s in sections[1:]]
    assert [t.split()[0] for t in titles] == ["Python", "SQLite", "PostgreSQL", "MongoDB"]
    python, sqlite, postgres, mongo = sections[1:]
    generated = python.split("compiled predicate", 1)[1]
    assert "def _f" in generated and value not in generated  # the generated source holds no client text
    for sql in (sqlite, postgres):
        statement, parameters = sql.split("parameters:", 1)
        assert value not in statement and "USD" not in statement
        assert json.dumps(value) in parameters and '"USD"' in parameters
        assert "ORDER BY contact.creation_time DESC" in statement
        assert "crudql_offset = 20" in parameters and "crudql_limit = 10" in parameters
    assert "NULLS LAST" in postgres
    assert '"$eq": "Robert\'); DROP TABLE contacts;--"' in mongo
    assert "skip 20, limit 10" in mongo


def test_explain_one_backend(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "explain", "--backend", "mongo", "-q", "(is-null info.partner)")
    assert code == 0
    assert "== MongoDB" in out and "SQLite" not in out and "Python" not in out
