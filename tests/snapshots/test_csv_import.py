"""manage.py import_snapshots, run as an operator would, on real files."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from snapshots.application.csv_import import SPECS, header
from snapshots.infrastructure.models import ProductSnapshot
from snapshots.infrastructure.snapshot_writer import TABLES

TEMPLATES = Path(__file__).resolve().parents[2] / "docs" / "csv"
HEADER = ",".join(header("product"))


def product_row(n: int, price: str = "9.99", version: int = 1, currency: str = "USD") -> str:
    return f"p-{n},v-1,SKU-{n},Product {n},{price},{currency},true,,1,,,{version}"


def write(tmp_path, *rows: str) -> str:
    path = tmp_path / "products.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return str(path)


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("import_snapshots", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_every_documented_template_imports(tenant, kind):
    path = TEMPLATES / f"{kind}.csv"
    assert path.read_text().splitlines()[0] == ",".join(header(kind)), "template header drifted"
    out, _ = run(kind, str(path), "--tenant", tenant.id)
    assert "1 rows read, 0 bad, 1 written" in out
    model, _ = TABLES[kind]
    assert model.objects.filter(tenant=tenant).count() == 1


def test_one_bad_row_writes_nothing_and_is_reported(tenant, tmp_path):
    path = write(tmp_path, product_row(1), product_row(2, price="-5"), product_row(3, currency=""))
    with pytest.raises(CommandError, match="Nothing written: 3 rows read, 2 bad"):
        run("product", path, "--tenant", tenant.id)
    assert not ProductSnapshot.objects.exists()


def test_bad_rows_are_reported_with_line_and_column(tenant, tmp_path):
    path = write(tmp_path, product_row(1), product_row(2, price="-5"), "p-3,v-1,S,N,1,USD,maybe,,1,,,1")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_snapshots", "product", path, "--tenant", tenant.id, "--no-progress", stdout=StringIO(), stderr=err
        )
    assert "line 3, column price_amount: must not be negative" in err.getvalue()
    assert "line 4, column active: must be true or false" in err.getvalue()


def test_skip_invalid_writes_the_good_rows(tenant, tmp_path):
    path = write(tmp_path, product_row(1), product_row(2, price="abc"))
    out, err = run("product", path, "--tenant", tenant.id, "--skip-invalid")
    assert "1 written" in out and "line 3, column price_amount" in err
    assert list(ProductSnapshot.objects.values_list("product_id", flat=True)) == ["p-1"]


def test_dry_run_writes_nothing(tenant, tmp_path):
    out, _ = run("product", write(tmp_path, product_row(1)), "--tenant", tenant.id, "--dry-run")
    assert out.startswith("Dry run, nothing written: 1 rows read, 0 bad")
    assert not ProductSnapshot.objects.exists()


def test_re_runs_are_idempotent_and_stale_rows_are_skipped(tenant, tmp_path):
    path = write(tmp_path, product_row(1, version=2), product_row(2))
    run("product", path, "--tenant", tenant.id)
    out, _ = run("product", path, "--tenant", tenant.id)
    assert "2 written, 0 skipped" in out and ProductSnapshot.objects.count() == 2

    out, _ = run("product", write(tmp_path, product_row(1, price="1.00", version=1)), "--tenant", tenant.id)
    assert "0 written, 1 skipped as stale" in out
    assert str(ProductSnapshot.objects.get(product_id="p-1").price_amount).startswith("9.99")


def test_within_one_file_the_highest_version_wins(tenant, tmp_path):
    run("product", write(tmp_path, product_row(1, "3.00", 3), product_row(1, "1.00", 1)), "--tenant", tenant.id)
    assert str(ProductSnapshot.objects.get().price_amount).startswith("3")


def test_import_is_scoped_to_its_tenant(tenant, other_tenant, tmp_path):
    path = write(tmp_path, product_row(1))
    run("product", path, "--tenant", other_tenant.id)
    run("product", write(tmp_path, product_row(1, "5.00", 2)), "--tenant", tenant.id)
    assert str(ProductSnapshot.objects.get(tenant=other_tenant).price_amount).startswith("9.99")


def test_unknown_column_unknown_tenant_missing_file(tenant, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("product_id,colour\np,blue\n")
    with pytest.raises(CommandError, match="1 bad"):
        run("product", str(bad), "--tenant", tenant.id)
    with pytest.raises(CommandError, match="unknown tenant"):
        run("product", str(bad), "--tenant", "nobody")
    with pytest.raises(CommandError, match="cannot read"):
        run("product", str(tmp_path / "missing.csv"), "--tenant", tenant.id)
