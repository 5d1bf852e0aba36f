"""Importing a file in a browser: progress until done, the summary, and the
reject file to download."""

import re

from crmcore.testing import screenshot

ROWS = "客户名称,手机,城市\n张伟,13800138000,上海\n李娜,12345,北京\n王芳,13900139000,杭州\n"


def test_a_clerk_imports_a_gbk_file_watches_it_finish_and_downloads_the_rejected_row(web, browser_page, crm, tmp_path):
    upload = tmp_path / "客户名单.csv"
    upload.write_bytes(ROWS.encode("gbk"))  # as Chinese Excel saves a CSV
    web.user("clerk", permissions=("customers.view_all", "customers.edit", "customers.import"))
    page = browser_page
    web.login(page, "clerk")
    page.get_by_role("link", name=re.compile("^(导入|Import)$")).click()
    page.wait_for_url(re.compile("/imports$"))
    page.get_by_label(re.compile(r"^(文件（|File \()")).set_input_files(str(upload))
    page.get_by_label(re.compile("客户已存在时|When a customer exists")).select_option("skip")
    screenshot(page, "import-form-zh")
    page.get_by_role("button", name=re.compile("开始导入|Start the import")).click()
    page.wait_for_url(re.compile(r"/imports/runs/"))
    page.locator("#progress [data-done]").wait_for()
    progress = page.locator("#progress")
    assert re.search(r"(未导入|Not imported)\s*1", progress.inner_text())
    assert re.search(r"(新增|Added)\s*2", progress.inner_text())
    screenshot(page, "import-done-zh")
    with page.expect_download() as waiting:
        page.get_by_role("link", name=re.compile("下载未导入的行|Download the rows not imported")).click()
    saved = tmp_path / "rejects.csv"
    waiting.value.save_as(saved)
    rejects = saved.read_text(encoding="utf-8-sig")
    assert "李娜" in rejects and "张伟" not in rejects
    with crm.unit_of_work() as uow:
        assert {c.name for c in uow.customers.search("")} >= {"张伟", "王芳"}
        assert not uow.customers.search("李娜")


def test_a_dry_run_of_a_utf8_file_imports_nothing_and_says_so(web, browser_page, crm, tmp_path):
    upload = tmp_path / "customers.csv"
    upload.write_text(ROWS, encoding="utf-8")
    web.user("clerk", permissions=("customers.view_all", "customers.edit", "customers.import"))
    page = browser_page
    web.login(page, "clerk")
    page.goto("/imports")
    page.get_by_label(re.compile(r"^(文件（|File \()")).set_input_files(str(upload))
    page.get_by_label(re.compile("试运行|Dry run")).check()
    page.get_by_role("button", name=re.compile("开始导入|Start the import")).click()
    page.locator("#progress [data-done]").wait_for()
    assert re.search("试运行|Dry run", page.locator("#progress").inner_text())
    with crm.unit_of_work() as uow:
        assert not uow.customers.search("张伟")
    page.goto("/imports")
    assert page.get_by_role("cell", name="customers.csv").count() == 1
