"""Every label of the core's pages is translated, and the language follows
the user, then the browser."""

from pathlib import Path

import crmcore
from crmcore.web.i18n import Catalogues, Formats, negotiate, untranslated

PACKAGE = Path(crmcore.__file__).parent


def test_every_message_of_the_core_pages_has_a_chinese_translation():
    assert untranslated(PACKAGE, PACKAGE / "locale") == {}


def test_the_browser_language_is_chosen_by_preference_and_quality():
    assert negotiate("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh_CN"
    assert negotiate("zh-TW") == "zh_CN"
    assert negotiate("fr-FR, en;q=0.5") == "en"


def test_a_browser_asking_for_a_language_we_lack_gets_chinese():
    assert negotiate("fr-FR") == "zh_CN"
    assert negotiate(None) == "zh_CN"


def test_money_is_yuan_in_both_languages():
    assert Formats("zh_CN", "Asia/Shanghai").money(1234.5) == "¥1,234.50"
    assert Formats("en", "Asia/Shanghai").money(1234.5) == "CN¥1,234.50"


def test_moments_are_shown_in_the_crm_time_zone_per_locale():
    from datetime import datetime, timezone

    moment = datetime(2026, 11, 25, 16, 30, tzinfo=timezone.utc)
    assert Formats("zh_CN", "Asia/Shanghai").datetime(moment) == "2026年11月26日 00:30"
    assert Formats("en", "Asia/Shanghai").datetime(moment) == "Nov 26, 2026 00:30"


def test_a_plural_message_is_one_catalogue_entry_and_translates_by_count(tmp_path):
    from babel.messages.pofile import read_po, write_po

    from crmcore.web.i18n import update_catalogue

    (tmp_path / "templates" / "web").mkdir(parents=True)
    (tmp_path / "templates" / "web" / "page.html").write_text('{{ ngettext("%(num)s row", "%(num)s rows", n) }}')
    po = update_catalogue(tmp_path, tmp_path / "locale")
    assert list(untranslated(tmp_path, tmp_path / "locale")) == ["%(num)s row | %(num)s rows"]
    with po.open("rb") as handle:
        catalogue = read_po(handle, locale="zh_CN")
    catalogue["%(num)s row"].string = ("%(num)s 行",)
    with po.open("wb") as handle:
        write_po(handle, catalogue)
    assert untranslated(tmp_path, tmp_path / "locale") == {}
    translations = Catalogues([tmp_path / "locale"]).translations("zh_CN")
    assert translations.ngettext("%(num)s row", "%(num)s rows", 3) == "%(num)s 行"
