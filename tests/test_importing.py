"""Import and export: files as Chinese Excel writes them, every rejected row
explained, nothing lost."""

import csv

import pytest

from crmcore import hookimpl

GBK_ROWS = """客户名称,类型,手机,邮箱,城市,性别,标签,生日,备注
王芳,个人,139 0000 0001,wf@example.com,上海,女,vip、老客户,1990/05/06,老朋友
李雷,个人,12345,,北京,男,,,
,企业,021-5555 0000,,上海,,,,
上海明源地产有限公司,企业,021-5555 1234,,上海,,,,
韩梅梅,个人,+86 139-0000-0001,,广州,女,,1992年3月4日,
"""


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def read_rejects(path):
    with path.open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def test_a_gbk_file_with_chinese_headers_imports_good_rows_and_explains_the_rest(cli, tmp_path):
    source = write(tmp_path / "customers.csv", GBK_ROWS, "gb18030")
    result = cli("import", "customers", str(source), "--reject", str(tmp_path / "rejects.csv"), json=True)
    assert result.exit_code == 0, result
    assert (result.json["created"], result.json["rejected"]) == (2, 3)
    rejects = read_rejects(tmp_path / "rejects.csv")
    assert [(r["line"], r["column"], r["reason"]) for r in rejects] == [
        ("3", "手机", "'12345' is not a valid phone number"),
        ("4", "客户名称", "must not be empty"),
        ("6", "", "duplicate of line 2 in this file"),
    ]
    assert rejects[0]["客户名称"] == "李雷"
    wang = cli("customer", "search", "王芳", json=True).json[0]
    assert (wang["phones"], wang["tags"], wang["birthday"], wang["gender"], wang["notes"]) == (
        ["13900000001"], ["vip", "老客户"], "1990-05-06", "female", "老朋友")
    assert cli("customer", "search", "明源", json=True).json[0]["kind"] == "organization"


def test_utf8_with_a_bom_is_read(cli, tmp_path):
    source = write(tmp_path / "bom.csv", "\ufeff客户名称,手机\n张伟,13800138000\n")
    assert cli("import", "customers", str(source), json=True).json["created"] == 1


def test_an_explicit_mapping_names_unusual_columns(cli, tmp_path):
    source = write(tmp_path / "odd.csv", "全称,移动电话,乱七八糟\n张伟,13800138000,x\n")
    result = cli("import", "customers", str(source), "--map", "全称=name,移动电话=phones", json=True)
    assert result.json["created"] == 1 and result.json["unknown_columns"] == ["乱七八糟"]


def test_xlsx_with_phones_stored_as_numbers_imports(cli, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["客户名称", "手机", "生日"])
    workbook.active.append(["张伟", 13800138000, "1985-06-18"])
    workbook.save(tmp_path / "customers.xlsx")
    assert cli("import", "customers", str(tmp_path / "customers.xlsx"), json=True).json["created"] == 1
    assert cli("customer", "search", "13800138000", json=True).json[0]["name"] == "张伟"


def test_a_dry_run_reports_and_writes_nothing(cli, tmp_path):
    source = write(tmp_path / "customers.csv", GBK_ROWS, "gb18030")
    result = cli("import", "customers", str(source), "--dry-run", json=True)
    assert (result.json["created"], result.json["dry_run"]) == (2, True)
    assert cli("customer", "list", json=True).json == []


def test_duplicates_of_stored_customers_are_skipped_updated_or_merged(cli, make, tmp_path):
    stored = make.customer(name="张伟", phones=["13800138000"], tags=["vip"], city="北京")
    source = write(tmp_path / "again.csv", "客户名称,手机,城市,标签\n张伟,138-0013-8000,上海,老客户\n")
    assert cli("import", "customers", str(source), json=True).json["skipped"] == 1
    cli("import", "customers", str(source), "--on-duplicate", "merge")
    merged = cli("customer", "show", str(stored.id), json=True).json
    assert (merged["city"], merged["tags"]) == ("北京", ["vip", "老客户"])
    cli("import", "customers", str(source), "--on-duplicate", "update")
    assert cli("customer", "show", str(stored.id), json=True).json["city"] == "上海"
    assert len(cli("customer", "list", json=True).json) == 1


def test_reimporting_an_export_changes_nothing(cli, make, tmp_path):
    make.customer(name="张伟", phones=["13800138000"], emails=["zw@example.com"], tags=["vip"], birthday="1985-06-18", city="上海")
    make.customer(name="上海明源地产有限公司", kind="organization", phones=["021-55551234", "13900139000"],
                  emails=["info@mingyuan.example", "sales@mingyuan.example"], industry="房地产")
    cli("export", "customers", str(tmp_path / "export.csv"))
    before = cli("customer", "list", json=True).json
    for mode in ("skip", "update", "merge"):
        result = cli("import", "customers", str(tmp_path / "export.csv"), "--on-duplicate", mode, json=True)
        assert (result.json["created"], result.json["updated"], result.json["merged"]) == (0, 0, 0), mode
        assert result.json["rejected"] == (2 if mode == "skip" else 0), mode  # skipped duplicates are listed as such
    assert cli("customer", "list", json=True).json == before


def test_an_export_is_masked_for_those_without_contact_details_permission(cli, make, as_user, tmp_path):
    as_user("erin", permissions=["customers.view", "customers.view_all", "customers.export"])
    make.customer(name="张伟", phones=["13800138000"])
    cli("export", "customers", str(tmp_path / "masked.csv"), as_="erin")
    (row,) = read_rejects(tmp_path / "masked.csv")
    assert row["phones"] == "138****8000"


def test_exporting_to_xlsx_writes_every_customer(cli, make, tmp_path):
    from openpyxl import load_workbook

    make.customer(name="张伟")
    make.customer(name="李娜")
    assert cli("export", "customers", str(tmp_path / "c.xlsx"), json=True).json["customers"] == 2
    rows = list(load_workbook(tmp_path / "c.xlsx").active.values)
    assert [r[1] for r in rows[1:]] == ["张伟", "李娜"]


def test_activities_import_matches_customers_by_code_phone_or_email_in_one_hook_call(crm, cli, make, register_plugin, tmp_path):
    batches = []

    class Watcher:
        @hookimpl
        def crm_activities_imported(self, activity_ids):
            batches.append(activity_ids)

    register_plugin(Watcher(), "watcher")
    zhang = make.customer(name="张伟", phones=["13800138000"], emails=["zw@example.com"])
    source = write(tmp_path / "purchases.csv",
                   f"客户编号,手机,邮箱,类型,金额,日期,主题\n{zhang.code},,,购买,1200,2026-03-01,购房定金\n"
                   ",138 0013 8000,,purchase,99.50,2026-03-02,\n,,ZW@example.com,visit,,2026-03-03,拜访\n"
                   ",13999999999,,purchase,10,2026-03-04,\n,,,purchase,10,2026-03-04,\n")
    result = cli("import", "activities", str(source), "--reject", str(tmp_path / "r.csv"), json=True)
    assert (result.json["created"], result.json["rejected"]) == (3, 2)
    assert [len(b) for b in batches] == [3]
    with crm.unit_of_work() as uow:
        amounts = sorted(str(a.amount) for a in uow.activities.list(zhang.id, type="purchase"))
    assert amounts == ["1200.00", "99.50"]
    reasons = [r["reason"] for r in read_rejects(tmp_path / "r.csv")]
    assert reasons == ["no customer with phone '13999999999'", "each row needs customer_code (客户编号), customer_phone or customer_email"]


def test_activities_import_only_to_active_customers_the_importer_may_see(crm, make, as_user, tmp_path):
    from crmcore.importing import import_activities

    as_user("alice", permissions=["customers.view", "customers.edit", "customers.import"], department="上海分公司")
    as_user("bob", permissions=["customers.view", "customers.edit"], department="北京分公司")
    own = make.customer(name="张伟", phones=["13800138000"], actor="alice")
    other = make.customer(name="李雷", phones=["13900139000"], actor="bob")
    gone = make.customer(name="王芳", phones=["13700137000"], actor="alice")
    with crm.unit_of_work() as uow:
        uow.customers.cancel(gone.id)
    source = write(tmp_path / "purchases.csv", "手机,类型,金额\n13800138000,购买,10\n13900139000,购买,20\n13700137000,购买,30\n"
                   f"13800138000,购买,\n")
    with crm.unit_of_work(actor="alice") as uow:
        result = import_activities(uow, source)
    assert result.created == 1
    assert [(r.line, r.column, r.reason) for r in result.rejected] == [
        (3, "customer_phone", "no customer with phone '13900139000'"), (4, "customer_phone", "no customer with phone '13700137000'"),
        (5, "amount", "required for purchase")]
    with crm.unit_of_work() as uow:
        assert [str(a.amount) for a in uow.activities.list(own.id, type="purchase")] == ["10.00"]
        assert uow.activities.list(other.id, type="purchase") == []


def test_new_customers_reach_plugins_once_per_batch(cli, register_plugin, tmp_path):
    batches = []

    class Watcher:
        @hookimpl
        def crm_customers_imported(self, customer_ids):
            batches.append(len(customer_ids))

        @hookimpl
        def crm_customer_created(self, customer):
            raise AssertionError("the bulk path fires no per-row hook")

    register_plugin(Watcher(), "watcher")
    rows = "".join(f"客户{i},1390000{i:04d}\n" for i in range(30))
    cli("import", "customers", str(write(tmp_path / "many.csv", "客户名称,手机\n" + rows)))
    assert batches == [30]


def test_contacts_import_attaches_contacts_to_their_customers(cli, make, tmp_path):
    org = make.customer(name="明源地产", kind="organization")
    source = write(tmp_path / "contacts.csv", f"客户编号,联系人,职务,手机\n{org.code},李娜,采购经理,13900000000\n{org.code},,经理,\n")
    result = cli("import", "contacts", str(source), json=True)
    assert (result.json["created"], result.json["rejected"]) == (1, 1)
    assert cli("contact", "list", str(org.id), json=True).json[0]["name"] == "李娜"


def test_a_file_without_a_name_column_is_refused_with_exit_1(cli, tmp_path):
    result = cli("import", "customers", str(write(tmp_path / "x.csv", "手机\n13800138000\n")))
    assert result.exit_code == 1 and "columns: no name column" in result.stderr


@pytest.mark.parametrize("mode", ["overwrite"])
def test_an_unknown_duplicate_mode_is_a_usage_error(cli, tmp_path, mode):
    result = cli("import", "customers", str(write(tmp_path / "x.csv", "客户名称\n张伟\n")), "--on-duplicate", mode)
    assert result.exit_code == 2
