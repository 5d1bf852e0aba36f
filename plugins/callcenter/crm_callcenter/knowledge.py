"""Knowledge base (解决方案): solutions with title, body, category and tags,
searched by substring (Chinese included) and tag, ranked by where the words
occur and how often a solution was used."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import delete, insert, or_, select, update

from crmcore import NotFound, ValidationError

from crm_callcenter.tables import article_tags, articles, ticket_solutions

if TYPE_CHECKING:
    from crmcore import UnitOfWork


def _tags(values: Iterable[str] | None) -> list[str]:
    found: list[str] = []
    for value in values or ():
        for part in re.split(r"[,，、\s]+", str(value)):
            part = part.strip().lstrip("#")
            if part and part not in found:
                if len(part) > 60:
                    raise ValidationError.field("tag", f"{part[:20]}… is longer than 60 characters")
                found.append(part)
    return found


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class KnowledgeMixin:
    uow: "UnitOfWork"

    def add_article(self, *, title: str, body: str, category: str | None = None, tags: Iterable[str] = ()) -> dict[str, Any]:
        self.uow.require("callcenter.kb_edit")
        title, body = (title or "").strip(), (body or "").strip()
        if not title:
            raise ValidationError.field("title", "must not be empty")
        if len(title) > 200:
            raise ValidationError.field("title", "longer than 200 characters")
        if not body:
            raise ValidationError.field("body", "must not be empty")
        tag_list = _tags(tags)
        values = {"title": title, "body": body, "category": (category or "").strip() or None, "tags": tag_list, "usage_count": 0,
                  "author_id": self.uow.actor.id, "active": True, "created_at": self.uow.now, "updated_at": self.uow.now}
        article_id = self.uow.execute(insert(articles).values(values)).inserted_primary_key[0]
        if tag_list:
            self.uow.execute(insert(article_tags), [{"tag": t, "article_id": article_id} for t in tag_list])
        self.uow.audit.record("callcenter_kb", article_id, "create", {"title": (None, title), "tags": (None, tag_list)})
        return self.article(article_id)

    def update_article(self, article_id: int, *, title: str | None = None, body: str | None = None, category: str | None = None,
                       tags: Iterable[str] | None = None, active: bool | None = None) -> dict[str, Any]:
        self.uow.require("callcenter.kb_edit")
        current = self.article(article_id)
        values: dict[str, Any] = {}
        if title is not None:
            if not title.strip():
                raise ValidationError.field("title", "must not be empty")
            values["title"] = title.strip()
        if body is not None:
            if not body.strip():
                raise ValidationError.field("body", "must not be empty")
            values["body"] = body.strip()
        if category is not None:
            values["category"] = category.strip() or None
        if tags is not None:
            values["tags"] = _tags(tags)
        if active is not None:
            values["active"] = active
        changes = {k: (current[k], v) for k, v in values.items() if current[k] != v}
        if not changes:
            return current
        values["updated_at"] = self.uow.now
        self.uow.execute(update(articles).where(articles.c.id == article_id).values(values))
        if "tags" in changes:
            self.uow.execute(delete(article_tags).where(article_tags.c.article_id == article_id))
            if values["tags"]:
                self.uow.execute(insert(article_tags), [{"tag": t, "article_id": article_id} for t in values["tags"]])
        self.uow.audit.record("callcenter_kb", article_id, "update", changes)
        return self.article(article_id)

    def article(self, article_id: int) -> dict[str, Any]:
        row = self.uow.execute(select(articles).where(articles.c.id == article_id)).mappings().first()
        if row is None:
            raise NotFound(f"solution {article_id} not found")
        view = dict(row)
        view["author"] = self._username(row["author_id"])
        view["tickets"] = list(self.uow.execute(select(ticket_solutions.c.ticket_id).where(
            ticket_solutions.c.article_id == article_id).order_by(ticket_solutions.c.ticket_id)).scalars())
        return view

    def search_articles(self, text: str = "", *, tag: str | None = None, category: str | None = None, limit: int = 20,
                        include_inactive: bool = False) -> list[dict[str, Any]]:
        """Every word must occur in the title, body, category or tags; Chinese
        words of any length match as substrings (no tokenizer needed)."""
        words = [w for w in re.split(r"[\s,，、]+", (text or "").strip()) if w]
        query = select(articles)
        if not include_inactive:
            query = query.where(articles.c.active.is_(True))
        if tag:
            query = query.where(articles.c.id.in_(select(article_tags.c.article_id).where(article_tags.c.tag == tag.strip().lstrip("#"))))
        if category:
            query = query.where(articles.c.category == category.strip())
        for word in words:
            pattern = f"%{_escape_like(word)}%"
            tagged = select(article_tags.c.article_id).where(article_tags.c.tag.ilike(pattern, escape="\\"))
            query = query.where(or_(articles.c.title.ilike(pattern, escape="\\"), articles.c.body.ilike(pattern, escape="\\"),
                                    articles.c.category.ilike(pattern, escape="\\"), articles.c.id.in_(tagged)))
        rows = [dict(r) for r in self.uow.execute(query.limit(500)).mappings()]

        def score(row: dict[str, Any]) -> tuple[float, int, int]:
            points = 0.0
            for word in words:
                low = word.lower()
                points += 3 * (low in row["title"].lower()) + 2 * any(low in t.lower() for t in row["tags"]) \
                    + 1 * (low in (row["category"] or "").lower()) + min(row["body"].lower().count(low), 5) * 0.5
            return (-points, -row["usage_count"], row["id"])

        rows.sort(key=score)
        return [{"id": r["id"], "title": r["title"], "category": r["category"], "tags": r["tags"], "usage_count": r["usage_count"],
                 "snippet": _snippet(r["body"], words)} for r in rows[:limit]]


def _snippet(body: str, words: list[str], width: int = 60) -> str:
    text = " ".join(body.split())
    low = text.lower()
    hits = [low.find(w.lower()) for w in words if low.find(w.lower()) >= 0]
    start = max(0, min(hits) - 15) if hits else 0
    piece = text[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")
