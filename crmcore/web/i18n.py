"""The web interface's languages: gettext catalogues (Babel ``.po`` files:
the core's in ``crmcore/locale``, each plugin's from
``crm_register_translations``), the choice of language per user and
browser, and formatting of dates, numbers and money per locale.

Message ids are English; ``en`` needs no catalogue. Catalogues are read from
the ``.po`` sources when the server starts, so there is no compile step to
forget.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable
from zoneinfo import ZoneInfo

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_NAMES = {"zh_CN": "中文", "en": "English"}
CURRENCY = "CNY"
CORE_CATALOGUES = Path(__file__).resolve().parent.parent / "locale"


def negotiate(accept_language: str | None) -> str:
    """The first of our locales the browser asks for (``Accept-Language``),
    else the default."""
    preferred: list[tuple[float, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        if parameters.strip().startswith("q="):
            try:
                quality = float(parameters.strip()[2:])
            except ValueError:
                continue
        if tag:
            preferred.append((-quality + index * 1e-6, tag.strip().replace("-", "_").lower()))
    for _, tag in sorted(preferred):
        for locale in LOCALES:
            if tag == locale.lower() or tag == locale.split("_")[0].lower() or tag.split("_")[0] == locale.split("_")[0].lower():
                return locale
    return DEFAULT_LOCALE


class Catalogues:
    """Every installed catalogue, merged per locale."""

    def __init__(self, directories: Iterable[Path]):
        # the core's catalogue last: where a plugin translates one of the
        # core's message ids differently, the core's pages keep their words
        self.directories = [*directories, CORE_CATALOGUES]
        self._translations: dict[str, Any] = {}

    def translations(self, locale: str) -> Any:
        """A ``gettext``-style object for ``locale``."""
        found = self._translations.get(locale)
        if found is None:
            found = self._translations[locale] = self._load(locale)
        return found

    def _load(self, locale: str) -> Any:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
        from babel.support import NullTranslations, Translations

        merged: Any = NullTranslations()
        for directory in self.directories:
            for source in sorted((Path(directory) / locale / "LC_MESSAGES").glob("*.po")):
                with source.open("rb") as handle:
                    catalogue = read_po(handle, locale=locale)
                compiled = io.BytesIO()
                write_mo(compiled, catalogue)
                compiled.seek(0)
                translations = Translations(compiled)
                if isinstance(merged, Translations):
                    merged.merge(translations)
                else:
                    merged = translations
        return merged


def lazy(message: str) -> str:
    """Marks a message for extraction where it is defined (navigation
    labels, say); it is translated where it is shown."""
    return message


class Formats:
    """Dates, numbers and money for one locale and time zone: the templates'
    ``|datetime``, ``|date``, ``|number`` and ``|money`` filters."""

    def __init__(self, locale: str, timezone: str):
        self.locale = locale
        self.zone = ZoneInfo(timezone)

    def datetime(self, value: datetime | None) -> str:
        """A moment in the CRM's time zone, to the minute
        (``Nov 25, 2026 21:50`` / ``2026年11月25日 21:50``)."""
        from babel.dates import format_date, format_time

        if value is None:
            return ""
        if value.tzinfo is not None:
            value = value.astimezone(self.zone)
        return f"{format_date(value, 'medium', locale=self.locale)} {format_time(value, 'HH:mm', locale=self.locale)}"

    def date(self, value: date | datetime | None, format: str = "medium") -> str:
        from babel.dates import format_date

        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date() if value.tzinfo else value.date()
        return format_date(value, format=format, locale=self.locale)

    def number(self, value: float | int | Decimal | None, digits: int | None = None) -> str:
        from babel.numbers import format_decimal

        if value is None:
            return ""
        if digits is not None:
            return format_decimal(value, format=f"#,##0.{'0' * digits}" if digits else "#,##0", locale=self.locale)
        return format_decimal(value, locale=self.locale)

    def money(self, value: float | int | Decimal | None, currency: str = CURRENCY) -> str:
        from babel.numbers import format_currency

        if value is None:
            return ""
        return format_currency(value, currency, locale=self.locale)

    def percent(self, value: float | None, digits: int = 0) -> str:
        from babel.numbers import format_percent

        if value is None:
            return ""
        return format_percent(value, format=f"#,##0.{'0' * digits}%" if digits else "#,##0%", locale=self.locale)


#: How messages are found in a package's web code: Python modules (``_``,
#: ``gettext``, ``lazy``) and jinja2 templates (``_``, ``gettext``, ``{% trans %}``).
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy": None}


def extract_messages(package_dir: Path, python: Iterable[str] = ("web/**.py",),
                     templates: Iterable[str] = ("templates/web/**.html",)) -> dict[str, list[str]]:
    """Every message id used in a package's web code, with where it is used:
    for ``pybabel``-free catalogue upkeep and the completeness tests."""
    from babel.messages.extract import extract_from_dir

    method_map = [*((pattern, "python") for pattern in python),
                  *((pattern, "jinja2.ext.babel_extract") for pattern in templates)]
    options = {pattern: {"extensions": "jinja2.ext.i18n"} for pattern in templates}
    found: dict[str | tuple[str, str], list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(package_dir), method_map=method_map, options_map=options, keywords=KEYWORDS):
        if message and (not isinstance(message, tuple) or message[0]):
            # a plural stays one message: (singular, plural)
            key = tuple(message[:2]) if isinstance(message, tuple) else message
            found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found  # type: ignore[return-value]


def untranslated(package_dir: Path, locale_dir: Path, locale: str = "zh_CN", **patterns: Any) -> dict[str, list[str]]:
    """Message ids of a package's web code that its ``locale`` catalogue
    does not translate (a test asserts this is empty)."""
    from babel.messages.pofile import read_po

    translated: set[Any] = set()
    for source in (Path(locale_dir) / locale / "LC_MESSAGES").glob("*.po"):
        with source.open("rb") as handle:
            for message in read_po(handle, locale=locale):
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                if message.id and all(strings):
                    translated.add(tuple(message.id) if isinstance(message.id, (tuple, list)) else message.id)
    return {_shown(text): where for text, where in extract_messages(package_dir, **patterns).items() if text not in translated}


def _shown(message: Any) -> str:
    return " | ".join(message) if isinstance(message, tuple) else message


def update_catalogue(package_dir: Path, locale_dir: Path, locale: str = "zh_CN", domain: str = "messages",
                     **patterns: Any) -> Path:
    """Add the package's new message ids to its ``.po`` file (untranslated),
    keeping the translations it has: ``python -m crmcore.web.i18n PACKAGE_DIR LOCALE_DIR``."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    target = Path(locale_dir) / locale / "LC_MESSAGES" / f"{domain}.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        with target.open("rb") as handle:
            catalogue = read_po(handle, locale=locale)
    else:
        catalogue = Catalog(locale=locale, domain=domain, project=Path(package_dir).resolve().name, fuzzy=False,
                            copyright_holder="", msgid_bugs_address="")
    for text, where in sorted(extract_messages(package_dir, **patterns).items(), key=lambda item: _shown(item[0])):
        if (text[0] if isinstance(text, tuple) else text) not in catalogue:
            catalogue.add(text, ("", "") if isinstance(text, tuple) else "",
                          locations=[(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in where])
    with target.open("wb") as handle:
        write_po(handle, catalogue, width=120, omit_header=False, sort_output=True, include_lineno=False)
    return target


if __name__ == "__main__":
    import sys

    print(update_catalogue(Path(sys.argv[1]), Path(sys.argv[2]), *(sys.argv[3:4] or ["zh_CN"])))
