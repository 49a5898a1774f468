"""Query a CRM schema that was not designed for crudql, with crudql.

    python examples/existing_schema/main.py                         # a SQLite file in a temp dir
    python examples/existing_schema/main.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Creates the example's tables (its own migration, not crudql's), fills them with sample contacts,
then answers a few requests of the reference endpoint through `crudql.run_query`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import crudql  # noqa: E402
import schema  # noqa: E402

REQUESTS = [
    # (filter, sort): the reference's own example, a to-many filter, an array column, a negation
    ('(and (= info.partner "AWS") (>= info.cosellPartnerMetrics.accountCount 2))', "-creation_time"),
    ('(any info.cosellPartnerMetrics.accounts (and (= industry "Software") (= type "Customer")))', "name"),
    ('(has info.cosellPartnerMetrics.industries "Retail")', "-info.cosellPartnerMetrics.accountCount"),
    ('(and (has tags "partner") (!= info.partner "AWS"))', None),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a SQLAlchemy URL (default: a SQLite file in a temporary directory)")
    parser.add_argument("--contacts", type=int, default=500)
    args = parser.parse_args(argv)
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/crm.db"
    engine = sa.create_engine(url)
    schema.seed(engine, crudql.sample.contacts(args.contacts, seed=1))
    source = schema.source(engine)
    for q, s in REQUESTS:
        page = crudql.run_query(crudql.PageRequest(q=q, s=s, page_size=3), source)
        body = page.to_json_dict()
        names = [item.get("name") for item in body["data"]]
        print(f"{q}  s={s}\n  total_count={page.total_count}  first names={json.dumps(names, ensure_ascii=False)}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
