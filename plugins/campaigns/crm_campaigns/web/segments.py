"""The segment builder: criteria as rows of field · operator · value
(· window), a live count of the customers they select (crm.js re-fetches
the page with ``X-CRM-Fragment: count`` as the user edits), a sample, and
saving. Nested groups (any/all/not) are written as JSON or TOML in the
advanced box, as ``crm campaigns segment add --criteria`` takes them."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from litestar import Request, Response
from litestar.params import FromPath

from crmcore import ValidationError, web
from crmcore.web.pages.labels import activity_type_label, choice_labels

from crm_campaigns.criteria import GROUP_KEYS, parse_document
from crm_campaigns.web.common import service
from crm_campaigns.web.labels import L, field_options

ROW_KEYS = ("field", "op", "value", "window")
ROWS = 8
MAX_ROWS = 30
SAMPLE = 10
#: ``criteria[2].value: …`` → row 2's value
CRITERION = re.compile(r"^criteria\[(\d+)\]\.?(\w*)")
LIST_SPLIT = re.compile(r"\s*[,，、;；]\s*")
FALSE = ("false", "no", "0", "否")


def _values(source: Mapping[str, Any]) -> dict[str, str]:
    return {key: web.form_value(source, key) for key in source.keys()}


def _rows(values: Mapping[str, str]) -> list[dict[str, Any]]:
    """The builder's rows from ``field-1``, ``op-1``, ``value-1``,
    ``window-1`` …: always ``ROWS`` of them (more when more are filled in),
    each ``open`` when it or a later one is filled in."""
    filled = [int(m.group(1)) for key, value in values.items() if value
              for m in [re.fullmatch(r"(?:field|op|value|window)-(\d+)", key)] if m and key.startswith(("field", "value"))]
    last = max(filled, default=0)
    rows: list[dict[str, Any]] = [{key: values.get(f"{key}-{number}", "") for key in ROW_KEYS}
                                  for number in range(1, min(max(ROWS, last), MAX_ROWS) + 1)]
    for number, row in enumerate(rows, 1):
        row["open"] = number <= last
    return rows


def _leaf(row: dict[str, str]) -> dict[str, Any]:
    """One row as a criterion: lists split on commas for in/not_in/between,
    ``exists`` true unless the value says no."""
    op = row["op"] or "eq"
    text = row["value"].strip()
    node: dict[str, Any] = {"field": row["field"], "op": op}
    if op in ("in", "not_in", "between"):
        node["value"] = [part for part in LIST_SPLIT.split(text) if part]
    elif op == "exists":
        node["value"] = text.lower() not in FALSE
    else:
        node["value"] = text
    if row["window"].strip():
        node["window"] = row["window"].strip()
    return node


def _document(values: Mapping[str, str], rows: list[dict[str, str]]) -> tuple[dict[str, Any] | None, list[int], dict[str, str]]:
    """The criteria document the form describes, the row number of each
    criterion, and problems found before the compiler sees it."""
    advanced = values.get("document", "").strip()
    if advanced:
        try:
            return parse_document(advanced, json_format=advanced.startswith("{")), [], {}
        except ValidationError as error:
            return None, [], {"document": "; ".join(error.errors)}
    numbers = [number for number, row in enumerate(rows, 1) if row["field"]]
    if not numbers:
        return None, [], {}
    match = values.get("match") if values.get("match") in ("all", "any") else "all"
    return {"match": match, "criteria": [_leaf(rows[n - 1]) for n in numbers]}, numbers, {}


def _row_errors(errors: dict[str, str], numbers: list[int]) -> tuple[dict[int, dict[str, str]], dict[str, str]]:
    """Compiler errors (``criteria[2].value: …``) moved to the builder's
    rows; the others stay for the form (``document`` for the advanced box)."""
    by_row: dict[int, dict[str, str]] = {}
    rest: dict[str, str] = {}
    for key, message in errors.items():
        found = CRITERION.match(key)
        if found and numbers and int(found.group(1)) <= len(numbers):
            column = found.group(2) if found.group(2) in ROW_KEYS else "field"
            by_row.setdefault(numbers[int(found.group(1)) - 1], {})[column] = message
        elif found or key in ("criteria", "match"):
            rest["document"] = f"{key}: {message}"
        else:
            rest[key] = message
    return by_row, rest


def _form_of(segment: Any) -> dict[str, str]:
    """A saved segment as the builder's fields: rows when its criteria are
    flat, else the advanced box as JSON."""
    values = {"name": segment.name, "description": segment.description or "", "match": segment.criteria["match"]}
    nodes = segment.criteria["criteria"]
    if any(key in node for node in nodes for key in GROUP_KEYS):
        values["document"] = json.dumps(segment.criteria, ensure_ascii=False, indent=2)
        return values
    for number, node in enumerate(nodes, 1):
        value = node.get("value", "")
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        values.update({f"field-{number}": node["field"], f"op-{number}": node.get("op", "eq"),
                       f"value-{number}": str(value), f"window-{number}": node.get("window") or ""})
    return values


def _builder(request: Request, uow: Any, values: dict[str, str], *, segment: Any = None, errors: dict[str, str] | None = None,
             status: int = 200) -> Response[str]:
    """The builder page (or only its ``count`` block) for ``values``: the
    rows, the count and the sample, each error at its row."""
    locale = web.request_locale(request)
    _ = web.translator(request)
    campaigns = service(uow)
    rows = _rows(values)
    document, numbers, found = _document(values, rows)
    result = None
    if document is not None and not found:
        result, found = web.attempt(uow, campaigns.preview, document, limit=SAMPLE, not_found="form")
    found = {**found, **(errors or {})}
    row_errors, errors_left = _row_errors(found, numbers)
    type_label = activity_type_label(uow, locale)
    return web.page(request, uow, "campaigns/web/segment.html", status=status, segment=segment, values=values,
                    rows=rows, result=result, row_errors=row_errors, errors=errors_left,
                    fields=field_options(campaigns.fields(), uow.crm.activity_types, type_label, _),
                    label=choice_labels(uow, locale), L=L,
                    action=f"/campaigns/segments/{segment.id}" if segment else "/campaigns/segments/new")


@web.get("/segments")
def segment_list(request: Request) -> Response[str]:
    with web.web_uow(request) as uow:
        campaigns = service(uow)
        segments = campaigns.segments()
        used: dict[int, list[str]] = {}
        for campaign in campaigns.list():
            if campaign.segment_id:
                used.setdefault(campaign.segment_id, []).append(campaign.name)
        return web.page(request, uow, "campaigns/web/segments.html", segments=segments, used=used)


@web.get("/segments/new")
def segment_new(request: Request) -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("campaigns.view")
        return _builder(request, uow, _values(request.query_params))


@web.post("/segments/new")
def segment_create(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)
    values = _values(data)
    with web.web_uow(request, data) as uow:
        document, _numbers, errors = _document(values, _rows(values))
        created = None
        if document is None and not errors:
            errors = {"document": _("Add at least one criterion.")}
        if not errors:
            created, errors = web.attempt(uow, service(uow).add_segment, values.get("name", ""), document,
                                          values.get("description") or None, not_found="form")
        if errors:
            return _builder(request, uow, values, errors=errors, status=422)
    return web.redirect(request, f"/campaigns/segments/{created.id}", _("Segment %(name)s saved.", name=created.name))


@web.get("/segments/{segment_id:int}")
def segment_detail(request: Request, segment_id: FromPath[int]) -> Response[str]:
    with web.web_uow(request) as uow:
        segment = service(uow).segment(segment_id)
        # the saved criteria, unless the user is editing them (live count, more rows)
        values = _values(request.query_params) or _form_of(segment)
        return _builder(request, uow, values, segment=segment)


@web.post("/segments/{segment_id:int}")
def segment_update(request: Request, segment_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    values = _values(data)
    with web.web_uow(request, data) as uow:
        campaigns = service(uow)
        segment = campaigns.segment(segment_id)
        document, _numbers, errors = _document(values, _rows(values))
        if document is None and not errors:
            errors = {"document": _("Add at least one criterion.")}
        if not errors:
            _saved, errors = web.attempt(uow, campaigns.edit_segment, segment.name, document, values.get("description", ""),
                                         values.get("name") or None, not_found="form")
        if errors:
            return _builder(request, uow, values, segment=segment, errors=errors, status=422)
    return web.redirect(request, f"/campaigns/segments/{segment_id}", _("Segment saved."))


HANDLERS = [segment_list, segment_new, segment_create, segment_detail, segment_update]
