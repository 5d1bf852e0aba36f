"""Knowledge-base search (解决方案), a solution's page, and writing
solutions for holders of ``callcenter.kb_edit``."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.params import FromPath, FromQuery

from crmcore import web

from crm_callcenter.web.common import context, service

FIELDS = ("title", "body", "category", "tags")


@web.get("/kb", name="callcenter_kb")
def kb_search(request: Request, q: FromQuery[str] = "", tag: FromQuery[str] = "") -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("callcenter.view")
        q, tag = q.strip()[:200], tag.strip()[:60]
        results = service(uow).search_articles(q, tag=tag or None, limit=30)
        return web.page(request, uow, "callcenter/web/kb.html", q=q, tag=tag, results=results, **context(request, uow))


@web.get("/kb/{article_id:int}", name="callcenter_article")
def kb_article(request: Request, article_id: FromPath[int]) -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("callcenter.view")
        return web.page(request, uow, "callcenter/web/article.html", article=service(uow).article(article_id),
                        **context(request, uow))


def _form_page(request: Request, uow: Any, article: dict[str, Any] | None, form: dict[str, Any], errors: dict[str, str],
               status: int = 200) -> Response[str]:
    if "tag" in errors:  # the service names one tag; the form has one field for all of them
        errors = {**errors, "tags": errors["tag"]}
    return web.page(request, uow, "callcenter/web/article_form.html", status=status, article=article, form=form, errors=errors,
                    **context(request, uow))


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {name: web.form_value(data, name) for name in FIELDS}
    fields["tags"] = [fields["tags"]] if fields["tags"] else []
    return fields


@web.get("/kb/new", name="callcenter_article_new")
def kb_new(request: Request) -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("callcenter.kb_edit")
        return _form_page(request, uow, None, {}, {})


@web.post("/kb/new")
def kb_create(request: Request, data: web.Form) -> Response[str]:
    with web.web_uow(request, data) as uow:
        _ = web.translator(request)
        created, errors = web.attempt(uow, service(uow).add_article, not_found="form", **_fields(data))
        if errors:
            return _form_page(request, uow, None, dict(data), errors, status=422)
    return web.redirect(request, f"/callcenter/kb/{created['id']}", _("Solution saved."))


@web.get("/kb/{article_id:int}/edit", name="callcenter_article_edit")
def kb_edit(request: Request, article_id: FromPath[int]) -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("callcenter.kb_edit")
        article = service(uow).article(article_id)
        form = {name: article[name] or "" for name in ("title", "body", "category")}
        form["tags"] = ", ".join(article["tags"])
        return _form_page(request, uow, article, form, {})


@web.post("/kb/{article_id:int}/edit")
def kb_update(request: Request, article_id: FromPath[int], data: web.Form) -> Response[str]:
    with web.web_uow(request, data) as uow:
        _ = web.translator(request)
        svc = service(uow)
        article = svc.article(article_id)
        _updated, errors = web.attempt(uow, svc.update_article, article_id, not_found="form", **_fields(data))
        if errors:
            return _form_page(request, uow, article, dict(data), errors, status=422)
    return web.redirect(request, f"/callcenter/kb/{article_id}", _("Solution saved."))


HANDLERS: list[Any] = [kb_search, kb_new, kb_create, kb_article, kb_edit, kb_update]
