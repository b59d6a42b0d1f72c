"""`homedesk import-deals FILE`: the contract's columns, a per-row report, reruns update by contract number, exit 1
when rows were rejected (the good ones kept), exit 2 for an unusable file."""

from __future__ import annotations

from homedesk.cli import main
from tests.homedesk.test_cli import query

DEALS = (
    "contract_no,project,building,unit_no,customer_name,customer_phone,signed_on,price,currency,payment_method,"
    "handover_date,staff_email\n"
    "HT-1,Sunny Garden,3,1201,Ann Li,+86 138 0013 8000,2026-01-10,3000000,CNY,mortgage,2026-06-30,\n"
    "HT-2,Sunny Garden,3,1202,Bo Wu,13900139000,2026-01-11,2500000,CNY,full,,\n"
    "HT-3,Sunny Garden,3,1203,Cy Xu,13700137000,2026-01-12,2600000,CNY,cash,,\n"
)


def test_import_deals_reports_rows_and_updates_on_rerun(cli_env, capsys) -> None:
    (cli_env / "deals.csv").write_text(DEALS, encoding="utf-8")
    assert main(["import-deals", "deals.csv"]) == 1  # one row rejected
    out, err = capsys.readouterr()
    assert "deals: 2 inserted, 0 updated, 0 unchanged, 1 rejected" in out
    assert ("deals.csv:4: rejected: payment_method is 'cash'; expected one of full, mortgage, provident_fund, "
            "combined") in err
    assert query(cli_env / "homedesk.db", "SELECT contract_no, customer_phone, payment_method FROM deals "
                                          "ORDER BY contract_no") == [
        ("HT-1", "13800138000", "mortgage"), ("HT-2", "13900139000", "full")]
    assert query(cli_env / "homedesk.db", "SELECT count(*) FROM milestones") == [(4 + 3,)]

    (cli_env / "deals.csv").write_text(DEALS.replace("2500000", "2550000").replace(
        "HT-3,Sunny Garden,3,1203,Cy Xu,13700137000,2026-01-12,2600000,CNY,cash", "HT-3,Sunny Garden,3,1203,Cy Xu,"
        "13700137000,2026-01-12,2600000,CNY,combined"), encoding="utf-8")
    assert main(["import-deals", "deals.csv"]) == 0
    assert "deals: 1 inserted, 1 updated, 1 unchanged, 0 rejected" in capsys.readouterr().out
    assert query(cli_env / "homedesk.db", "SELECT count(*) FROM deals") == [(3,)]


def test_import_deals_unusable_file(cli_env, capsys) -> None:
    (cli_env / "bad.csv").write_text("contract_no,project\nX,Y\n", encoding="utf-8")
    assert main(["import-deals", "bad.csv"]) == 2
    assert "header is missing column(s) building" in capsys.readouterr().err
