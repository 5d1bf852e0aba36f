"""Finding customers by name: Chinese substrings of any length, pinyin and
its initials, Latin words.

Each customer carries ``search_text``: its name as tokens, one per Chinese
character, each Latin word, and the pinyin of the Chinese part — whole,
syllable by syllable and as initials. ``张伟`` becomes
``张 伟 zhangwei zw zhang wei``. SQLite indexes the tokens with FTS5
(``unicode61``), PostgreSQL with a GIN index on ``to_tsvector('simple', …)``.
A Chinese query becomes a phrase of its characters, so ``张伟`` and ``伟``
match inside longer names at any length: this avoids FTS5's trigram
tokenizer, which matches nothing under three characters. A Latin query
matches tokens by prefix (``zw``, ``zhang``, ``john``).

``name_key`` is the name normalised for duplicate detection: lower case, no
spaces or punctuation, organisations without legal suffixes.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, column, func, literal_column, select, table, text

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+", re.UNICODE)
LEGAL_SUFFIXES = (
    "股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "集团公司", "分公司", "公司", "集团",
    "co., ltd.", "co.,ltd.", "co. ltd.", "co ltd", "co., ltd", "company limited", "corporation", "limited",
    "ltd.", "ltd", "inc.", "inc", "llc", "gmbh", "corp.", "corp", "co.",
)


@lru_cache(maxsize=20000)
def _syllable(char: str) -> str:
    from pypinyin import Style, lazy_pinyin  # loaded on first use: large tables

    return lazy_pinyin(char, style=Style.NORMAL)[0]


def _fold(value: str) -> str:
    return unicodedata.normalize("NFKC", value).lower()


def search_tokens(name: str) -> str:
    """The tokens a name is found by (see the module docstring)."""
    tokens = _TOKEN.findall(_fold(name))
    syllables = [_syllable(t) for t in tokens if _CJK.fullmatch(t)]
    if syllables:
        tokens += ["".join(syllables), "".join(s[0] for s in syllables), *dict.fromkeys(syllables)]
    return " ".join(tokens)


def name_key(name: str, kind: str = "person") -> str:
    """The name as compared for duplicates; organisations lose legal suffixes."""
    key = _fold(name).strip()
    if kind == "organization":
        changed = True
        while changed:
            changed = False
            for suffix in LEGAL_SUFFIXES:
                if key.endswith(suffix) and len(key) > len(suffix):
                    key = key[: -len(suffix)].rstrip(" ,.")
                    changed = True
    return "".join(ch for ch in key if ch.isalnum())


def _query_tokens(query: str) -> list[str]:
    return _TOKEN.findall(_fold(query))


def _fts_phrase(tokens: list[str]) -> str:
    phrase = '"' + " ".join(t.replace('"', '""') for t in tokens) + '"'
    return phrase + "*" if not _CJK.fullmatch(tokens[-1]) else phrase


FTS = table("customers_fts", column("rowid"))


def name_page(query: Any, text_query: str, size: int) -> Any:
    """SQLite: ``query`` (a select over customers) joined to the FTS index and
    ordered by its rowid, so the first ``size`` matches come without sorting
    every match; None when the text holds nothing to search by."""
    from crmcore.storage.tables import customers

    tokens = _query_tokens(text_query)
    if not tokens:
        return None
    return (
        query.join(FTS, FTS.c.rowid == customers.c.id)
        .where(text("customers_fts MATCH :fts_query").bindparams(fts_query=_fts_phrase(tokens)))
        .order_by(FTS.c.rowid)
        .limit(size)
    )


def name_matches(dialect: str, query: str, id_column: Any) -> ColumnElement[bool] | None:
    """A condition on ``id_column`` (customers.id) matching names for ``query``,
    or None when the query holds nothing to search by."""
    tokens = _query_tokens(query)
    if not tokens:
        return None
    prefix = not _CJK.fullmatch(tokens[-1])  # the last Latin word may be unfinished
    if dialect == "postgresql":
        quoted = [f"'{t}'" for t in tokens]
        if prefix:
            quoted[-1] += ":*"
        expression = " <-> ".join(quoted)
        from crmcore.storage.tables import customers

        vector = func.to_tsvector(literal_column("'simple'"), func.coalesce(customers.c.search_text, literal_column("''")))
        return vector.op("@@")(func.to_tsquery(literal_column("'simple'"), expression))
    matching = select(literal_column("rowid")).select_from(text("customers_fts")).where(text("customers_fts MATCH :fts_query"))
    return id_column.in_(matching.params(fts_query=_fts_phrase(tokens)))


def index_names(connection: Any, changes: list[tuple[int, str | None, str | None]]) -> None:
    """Keep SQLite's FTS5 index in step: ``(customer id, old search_text or
    None, new search_text or None)`` per changed customer. PostgreSQL's GIN
    index follows the column by itself."""
    if connection.dialect.name != "sqlite" or not changes:
        return
    removed = [(i, old) for i, old, _ in changes if old is not None]
    added = [(i, new) for i, _, new in changes if new is not None]
    if removed:
        connection.exec_driver_sql("INSERT INTO customers_fts(customers_fts, rowid, search_text) VALUES ('delete', ?, ?)", removed)
    if added:
        connection.exec_driver_sql("INSERT INTO customers_fts(rowid, search_text) VALUES (?, ?)", added)


def rebuild_index(connection: Any) -> None:
    """Rebuild SQLite's FTS5 index from the customers table."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("INSERT INTO customers_fts(customers_fts) VALUES ('rebuild')"))
