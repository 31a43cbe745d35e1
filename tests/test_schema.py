"""schema.graphql is the printed contract; it must match the code."""

from pathlib import Path

from oms_project.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_file_matches_the_code():
    printed = str(schema).strip()
    assert SCHEMA_FILE.exists(), "run `make schema` to write schema.graphql"
    assert SCHEMA_FILE.read_text().strip() == printed, (
        "schema.graphql is out of date: run `make schema` and review the diff"
    )
