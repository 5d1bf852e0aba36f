"""Segment criteria: a small language of data (TOML or JSON) compiled to
one SQL boolean expression over ``crmcore.tables.customers``.

A document is ``{"match": "all" | "any", "criteria": [node, ...]}``; a node
is either a leaf ``{field, op, value, window?}`` or a group ``{any: [...]}``,
``{all: [...]}``, ``{not: node | [...]}``; groups nest. Every error names the
node it is about (``criteria[2].any[1].value: ...``).

Fields:

* core columns: region, province, city, industry, position, source, kind,
  gender, name, code, level, status, stage (also ``lifecycle``), tags, age
  (years, from birthday), birthday, created (date or ``30d`` ago), owner
  (username), department (name; includes its sub-departments),
  do_not_contact;
* custom fields: ``custom.<name>`` (or the bare name of a declared field);
* activity facts: ``purchases.count``, ``purchases.sum``,
  ``activity.<type>.count`` with an optional ``window = "365d"``;
* RFM: ``rfm.r``, ``rfm.f``, ``rfm.m`` (quintiles 1..5 among customers with
  purchases, computed with ``ntile(5)``), ``rfm.score`` (e.g. 545),
  ``rfm.segment`` (champions, loyal, potential, new, needs_attention,
  at_risk, hibernating, lost); optional window;
* whatever other plugins register through ``crm_campaigns_segment_criteria``.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Integer,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from crmcore import ValidationError
from crmcore.tables import activities, customer_tags, customers

if TYPE_CHECKING:
    from crmcore import UnitOfWork

OPS = ("eq", "ne", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "between", "exists")
VALUE_TYPES = ("text", "number", "date", "bool")
LEAF_KEYS = {"field", "op", "value", "window"}
GROUP_KEYS = ("any", "all", "not")

TEXT_COLUMNS = {
    "region": "地区", "province": "省份", "city": "城市", "industry": "行业", "position": "职位",
    "source": "来源", "kind": "类型 (person/organization)", "gender": "性别 (male/female)", "name": "名称", "code": "编号",
}
CHOICE_COLUMNS = {"level": "level", "status": "status", "stage": "stage", "lifecycle": "stage", "lifecycle_stage": "stage"}
RFM_SEGMENTS = ("champions", "loyal", "potential", "new", "needs_attention", "at_risk", "hibernating", "lost")


@dataclass
class Field:
    name: str
    label: str
    value_type: str
    source: str
    build: Callable[[str, Any, "Leaf"], Any] | None = None


@dataclass
class Leaf:
    path: str
    field: str
    op: str
    value: Any
    window: str | None

    def error(self, problem: str, key: str | None = None) -> ValidationError:
        return ValidationError(f"{self.path}{'.' + key if key else ''}: {problem}")


# ---------------------------------------------------------------------------
# Reading documents
# ---------------------------------------------------------------------------


def load_document(path: str | Path) -> dict[str, Any]:
    """Read criteria from a .toml or .json file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValidationError.field("criteria", f"cannot read {path}: {error.strerror or error}") from None
    return parse_document(text, json_format=path.suffix.lower() == ".json")


def parse_document(text: str, *, json_format: bool = False) -> dict[str, Any]:
    try:
        document = json.loads(text) if json_format else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValidationError.field("criteria", f"not valid {'JSON' if json_format else 'TOML'}: {error}") from None
    if not isinstance(document, dict):
        raise ValidationError.field("criteria", "the document must be a table/object with a `criteria` list")
    return document


def normalise_document(document: Any) -> dict[str, Any]:
    """Check the document's shape (not its fields) and return it as stored."""
    if not isinstance(document, dict):
        raise ValidationError.field("criteria", "the document must be a table/object with a `criteria` list")
    unknown = sorted(set(document) - {"match", "criteria", "description"})
    if unknown:
        raise ValidationError.field("criteria", f"unknown key(s) {', '.join(unknown)} (use match and criteria)")
    match = document.get("match", "all")
    if match not in ("all", "any"):
        raise ValidationError.field("match", f"{match!r} is not 'all' or 'any'")
    nodes = document.get("criteria")
    if not isinstance(nodes, list) or not nodes:
        raise ValidationError.field("criteria", "give at least one criterion ([[criteria]] in TOML)")
    return {"match": match, "criteria": nodes}


# ---------------------------------------------------------------------------
# Compiling
# ---------------------------------------------------------------------------


class Compiler:
    """Compiles criteria for one unit of work (the actor's plugins, the
    CRM's time zone, today's date)."""

    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self.zone = ZoneInfo(uow.crm.config.timezone)
        self.now = uow.now
        self.today = self.now.astimezone(self.zone).date()
        self._plugin_fields: dict[str, Field] | None = None

    # -- the field catalogue ---------------------------------------------------

    def plugin_fields(self) -> dict[str, Field]:
        if self._plugin_fields is None:
            from crm_campaigns.hookspecs import crm_campaigns_segment_criteria  # noqa: F401  (documents the hook)

            found: dict[str, Field] = {}
            ensure_hookspecs(self.uow.crm.plugins.pm)
            caller = getattr(self.uow.hook, "crm_campaigns_segment_criteria")
            for impl in caller.get_hookimpls():
                plugin = impl.plugin_name

                def register(name: str, label: str, build: Callable[[str, Any], Any], value_type: str = "text",
                             _plugin: str = plugin) -> None:
                    if value_type not in VALUE_TYPES:
                        raise ValidationError.field("criteria", f"plugin {_plugin!r} registered {name!r} with value_type "
                                                    f"{value_type!r}, not one of {', '.join(VALUE_TYPES)}")
                    found[name] = Field(name, label, value_type, _plugin, lambda op, value, leaf, _b=build: _b(op, value))

                impl.function(**{arg: register for arg in impl.argnames})
            self._plugin_fields = found
        return self._plugin_fields

    def catalogue(self) -> list[dict[str, str]]:
        """Every field a segment may use, for ``segment fields``."""
        rows = [{"field": n, "label": label, "type": "text", "source": "core"} for n, label in TEXT_COLUMNS.items()]
        rows += [{"field": n, "label": f"{kind} (code or label)", "type": "text", "source": "core"} for n, kind in CHOICE_COLUMNS.items()]
        rows += [
            {"field": "tags", "label": "标签 (contains/in/not_in/exists)", "type": "text", "source": "core"},
            {"field": "age", "label": "年龄 (years, from birthday)", "type": "number", "source": "core"},
            {"field": "birthday", "label": "生日", "type": "date", "source": "core"},
            {"field": "created", "label": "建档日期 (date or '30d' ago)", "type": "date", "source": "core"},
            {"field": "owner", "label": "负责人 (username)", "type": "text", "source": "core"},
            {"field": "department", "label": "部门 (includes sub-departments)", "type": "text", "source": "core"},
            {"field": "do_not_contact", "label": "全局免打扰", "type": "bool", "source": "core"},
            {"field": "purchases.count", "label": "购买次数 (window)", "type": "number", "source": "activities"},
            {"field": "purchases.sum", "label": "购买金额 (window)", "type": "number", "source": "activities"},
            {"field": "activity.<type>.count", "label": "活动次数 of a type (window)", "type": "number", "source": "activities"},
            {"field": "rfm.r", "label": "RFM recency quintile 1-5", "type": "number", "source": "rfm"},
            {"field": "rfm.f", "label": "RFM frequency quintile 1-5", "type": "number", "source": "rfm"},
            {"field": "rfm.m", "label": "RFM monetary quintile 1-5", "type": "number", "source": "rfm"},
            {"field": "rfm.score", "label": "RFM score, e.g. 545", "type": "number", "source": "rfm"},
            {"field": "rfm.segment", "label": f"RFM segment: {', '.join(RFM_SEGMENTS)}", "type": "text", "source": "rfm"},
        ]
        for name, definition in sorted(self.uow.custom_fields.definitions().items()):
            rows.append({"field": f"custom.{name}", "label": definition["label"], "type": _custom_value_type(definition["type"]),
                         "source": "custom field"})
        for name, definition in sorted(self.plugin_fields().items()):
            rows.append({"field": name, "label": definition.label, "type": definition.value_type, "source": definition.source})
        return rows

    # -- documents and nodes ------------------------------------------------------

    def compile(self, document: Any) -> Any:
        """The segment's condition: a boolean SQL expression over customers."""
        document = normalise_document(document)
        parts = [self._node(node, f"criteria[{index}]") for index, node in enumerate(document["criteria"], 1)]
        return and_(*parts) if document["match"] == "all" else or_(*parts)

    def query(self, document: Any, *columns: Any) -> Any:
        """``select(columns or customers.c.id)`` of the segment's active
        customers the actor may see: one SQL statement."""
        condition = self.compile(document)
        statement = select(*(columns or (customers.c.id,))).where(customers.c.active.is_(True), condition)
        return self.uow.customers.scope(statement)

    def _node(self, node: Any, path: str) -> Any:
        if not isinstance(node, dict):
            raise ValidationError(f"{path}: a criterion is a table with field/op/value, or any/all/not")
        groups = [key for key in GROUP_KEYS if key in node]
        if groups:
            if len(groups) > 1 or len(node) > 1:
                raise ValidationError(f"{path}: a group has exactly one of any/all/not and nothing else, got {', '.join(sorted(node))}")
            key = groups[0]
            children = node[key]
            if key == "not" and isinstance(children, dict):
                children = [children]
            if not isinstance(children, list) or not children:
                raise ValidationError(f"{path}.{key}: give a non-empty list of criteria")
            parts = [self._node(child, f"{path}.{key}[{index}]") for index, child in enumerate(children, 1)]
            if key == "any":
                return or_(*parts)
            if key == "all":
                return and_(*parts)
            return not_(and_(*parts))
        unknown = sorted(set(node) - LEAF_KEYS)
        if unknown:
            raise ValidationError(f"{path}: unknown key(s) {', '.join(unknown)} (a criterion has field, op, value, window)")
        if "field" not in node or not isinstance(node["field"], str) or not node["field"].strip():
            raise ValidationError(f"{path}.field: required (a core field, custom field, or a name a plugin registered)")
        op = node.get("op", "eq")
        if op not in OPS:
            raise ValidationError(f"{path}.op: {op!r} is not one of {' '.join(OPS)}")
        if op != "exists" and "value" not in node:
            raise ValidationError(f"{path}.value: required for op {op}")
        window = node.get("window")
        if window is not None and not isinstance(window, str):
            raise ValidationError(f"{path}.window: use text like \"365d\", \"12w\", \"6m\" or \"1y\"")
        leaf = Leaf(path, node["field"].strip(), op, node.get("value", True), window)
        return self._leaf(leaf)

    def _leaf(self, leaf: Leaf) -> Any:
        name = leaf.field
        if leaf.window is not None and not (name.startswith(("purchases.", "activity.", "rfm."))):
            raise leaf.error(f"only activity facts and RFM take a window, not {name!r}", "window")
        if name in TEXT_COLUMNS:
            return self._compare(customers.c[name], leaf, "text")
        if name in CHOICE_COLUMNS:
            return self._choice(CHOICE_COLUMNS[name], leaf)
        if name == "tags":
            return self._tags(leaf)
        if name == "age":
            return self._age(leaf)
        if name == "birthday":
            return self._compare(customers.c.birthday, leaf, "date")
        if name in ("created", "created_at"):
            return self._created(leaf)
        if name in ("owner", "owner_id"):
            return self._owner(leaf)
        if name in ("department", "department_id"):
            return self._department(leaf)
        if name == "do_not_contact":
            return self._compare(customers.c.do_not_contact, leaf, "bool")
        if name.startswith("purchases.") or name.startswith("activity."):
            return self._activity_fact(leaf)
        if name.startswith("rfm."):
            return self._rfm(leaf)
        plugin_field = self.plugin_fields().get(name)
        if plugin_field is not None:
            return self._plugin(plugin_field, leaf)
        custom_name = name.removeprefix("custom.")
        definition = self.uow.custom_fields.definitions().get(custom_name)
        if definition is not None:
            return self._custom(custom_name, definition, leaf)
        known = [*TEXT_COLUMNS, *CHOICE_COLUMNS, "tags", "age", "birthday", "created", "owner", "department",
                 "do_not_contact", "purchases.count", "purchases.sum", "activity.<type>.count", "rfm.r", "rfm.f", "rfm.m",
                 "rfm.score", "rfm.segment", *(f"custom.{n}" for n in self.uow.custom_fields.definitions()),
                 *sorted(self.plugin_fields())]
        raise leaf.error(f"unknown field {name!r} (known: {', '.join(known)}); is the plugin that provides it installed "
                         "and enabled for your department?", "field")

    # -- values ----------------------------------------------------------------------

    def _values(self, leaf: Leaf, value_type: str, convert: Callable[[Any], Any] | None = None) -> Any:
        """The leaf's value checked against its op and type: a scalar, a list
        (in, not_in), a pair (between) or a bool (exists)."""
        op, value = leaf.op, leaf.value
        one = convert or (lambda v: _typed(leaf, value_type, v))
        if op == "exists":
            if not isinstance(value, bool):
                raise leaf.error("exists takes true or false (or no value)", "value")
            return value
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise leaf.error(f"{op} takes a non-empty list", "value")
            return [one(v) for v in value]
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise leaf.error("between takes a list of two values [low, high]", "value")
            low, high = one(value[0]), one(value[1])
            if low > high:
                raise leaf.error(f"between: low {value[0]!r} is above high {value[1]!r}", "value")
            return [low, high]
        if isinstance(value, (list, dict)):
            raise leaf.error(f"{op} takes a single value, not a list", "value")
        if op in ("gt", "gte", "lt", "lte") and value_type in ("text", "bool"):
            raise leaf.error(f"{op} compares numbers or dates; {leaf.field!r} is {value_type}", "op")
        if op == "contains" and value_type != "text":
            raise leaf.error(f"contains works on text; {leaf.field!r} is {value_type}", "op")
        return one(value)

    def _compare(self, column: Any, leaf: Leaf, value_type: str, convert: Callable[[Any], Any] | None = None) -> Any:
        """A comparison that is never NULL, so ``not`` means what it says:
        a customer with no city is "not in 上海"."""
        value = self._values(leaf, value_type, convert)
        op = leaf.op
        present = column.isnot(None)
        if value_type == "text" and op != "exists":
            present = and_(present, column != "")
        if op == "exists":
            return present if value else not_(present)
        if op == "eq":
            return and_(present, column == value)
        if op == "ne":
            return or_(not_(present), column != value)
        if op == "in":
            return and_(present, column.in_(value))
        if op == "not_in":
            return or_(not_(present), column.not_in(value))
        if op == "contains":
            return and_(present, column.like(f"%{_escape_like(str(value))}%", escape="\\"))
        if op == "between":
            return and_(present, column.between(value[0], value[1]))
        return and_(present, _COMPARE[op](column, value))

    # -- core fields ---------------------------------------------------------------------

    def _choice(self, kind: str, leaf: Leaf) -> Any:
        def resolve(value: Any) -> str:
            try:
                return self.uow.choices.resolve(kind, str(value))
            except ValidationError as error:
                raise leaf.error(error.errors[0].split(": ", 1)[-1], "value") from None

        if leaf.op in ("gt", "gte", "lt", "lte", "between", "contains"):
            raise leaf.error(f"{leaf.field} supports eq ne in not_in exists, not {leaf.op}", "op")
        return self._compare(customers.c[kind], leaf, "text", resolve)

    def _tags(self, leaf: Leaf) -> Any:
        op = leaf.op

        def having(tags: list[str]) -> Any:
            return exists().where(customer_tags.c.customer_id == customers.c.id, customer_tags.c.tag.in_(tags))

        if op == "exists":
            value = self._values(leaf, "bool")
            anything = exists().where(customer_tags.c.customer_id == customers.c.id)
            return anything if value else not_(anything)
        if op in ("eq", "contains") and isinstance(leaf.value, list):
            tags = [_typed(leaf, "text", v) for v in leaf.value]
            if not tags:
                raise leaf.error("give at least one tag", "value")
            return and_(*(having([tag]) for tag in tags))  # has every tag
        if op in ("eq", "contains", "ne"):
            tag = _typed(leaf, "text", leaf.value)
            return having([tag]) if op != "ne" else not_(having([tag]))
        if op in ("in", "not_in"):
            tags = self._values(leaf, "text")
            return having(tags) if op == "in" else not_(having(tags))
        raise leaf.error(f"tags supports contains eq ne in not_in exists, not {op}", "op")

    def _age(self, leaf: Leaf) -> Any:
        """Age in whole years, turned into birthday ranges (index friendly,
        the same on every database)."""
        born = customers.c.birthday
        value = self._values(leaf, "number", lambda v: _whole_number(leaf, v))

        def at_least(years: int) -> Any:  # age >= years
            return born <= _years_before(self.today, years)

        def at_most(years: int) -> Any:  # age <= years
            return born > _years_before(self.today, years + 1)

        present = born.isnot(None)
        op = leaf.op
        if op == "exists":
            return present if value else not_(present)
        if op == "eq":
            return and_(present, at_least(value), at_most(value))
        if op == "ne":
            return or_(not_(present), not_(and_(at_least(value), at_most(value))))
        if op == "in":
            return and_(present, or_(*(and_(at_least(v), at_most(v)) for v in value)))
        if op == "not_in":
            return or_(not_(present), not_(or_(*(and_(at_least(v), at_most(v)) for v in value))))
        if op == "between":
            return and_(present, at_least(value[0]), at_most(value[1]))
        if op == "gte":
            return and_(present, at_least(value))
        if op == "gt":
            return and_(present, at_least(value + 1))
        if op == "lte":
            return and_(present, at_most(value))
        if op == "lt":
            return and_(present, at_most(value - 1))
        raise leaf.error(f"age supports numeric ops, not {op}", "op")

    def _created(self, leaf: Leaf) -> Any:
        """Creation date: a date (local calendar day) or ``"30d"`` meaning
        that many days ago."""
        column = customers.c.created_at
        op = leaf.op
        if op in ("contains", "in", "not_in"):
            raise leaf.error(f"created supports eq gt gte lt lte between exists, not {op}", "op")
        if op == "exists":
            return true() if self._values(leaf, "bool") else false()
        value = self._values(leaf, "date", lambda v: self._moment(leaf, v))
        day = timedelta(days=1)
        if op == "eq":
            return and_(column >= value, column < value + day)
        if op == "ne":
            return or_(column < value, column >= value + day)
        if op == "between":
            return and_(column >= value[0], column < value[1] + day)
        if op == "gte":
            return column >= value
        if op == "gt":
            return column >= value + day
        if op == "lt":
            return column < value
        return column < value + day  # lte

    def _moment(self, leaf: Leaf, value: Any) -> datetime:
        """Start of a local day, in UTC."""
        if isinstance(value, str) and re.fullmatch(r"\d+\s*[dwmy]", value.strip()):
            start = self.today - _window_delta(leaf, value.strip(), "value")
        else:
            start = _typed(leaf, "date", value)
        return datetime(start.year, start.month, start.day, tzinfo=self.zone).astimezone(timezone.utc)

    def _owner(self, leaf: Leaf) -> Any:
        def user_id(value: Any) -> int:
            user = self.uow.users.find(value)
            if user is None:
                raise leaf.error(f"no user {value!r}", "value")
            return user.id

        if leaf.op not in ("eq", "ne", "in", "not_in", "exists"):
            raise leaf.error(f"owner supports eq ne in not_in exists, not {leaf.op}", "op")
        return self._compare(customers.c.owner_id, leaf, "number", user_id)

    def _department(self, leaf: Leaf) -> Any:
        def subtree(value: Any) -> set[int]:
            department = self.uow.departments.find(value)
            if department is None:
                raise leaf.error(f"no department {value!r}", "value")
            return self.uow.departments.subtree(department.id)

        column, op = customers.c.department_id, leaf.op
        if op == "exists":
            value = self._values(leaf, "bool")
            return column.isnot(None) if value else column.is_(None)
        if op not in ("eq", "ne", "in", "not_in"):
            raise leaf.error(f"department supports eq ne in not_in exists, not {op}", "op")
        values = self._values(leaf, "text", subtree)
        ids = set().union(*values) if isinstance(values, list) else values
        inside = and_(column.isnot(None), column.in_(sorted(ids)))
        return inside if op in ("eq", "in") else not_(inside)

    def _custom(self, name: str, definition: dict[str, Any], leaf: Leaf) -> Any:
        value_type = _custom_value_type(definition["type"])
        element = customers.c.custom[name]
        if value_type == "number":
            column = element.as_float()
        elif value_type == "bool":
            column = element.as_boolean()
        else:
            column = element.as_string()
        return self._compare(column, leaf, value_type)

    # -- activity facts --------------------------------------------------------------------

    def _since(self, leaf: Leaf) -> datetime | None:
        if leaf.window is None:
            return None
        return self.now - _window_delta(leaf, leaf.window, "window")

    def _activity_fact(self, leaf: Leaf) -> Any:
        name = leaf.field
        if name in ("purchases.count", "purchases.sum"):
            activity_type, measure = "purchase", name.split(".")[1]
        else:
            match = re.fullmatch(r"activity\.([A-Za-z0-9_]+)\.count", name)
            if not match:
                raise leaf.error(f"unknown activity fact {name!r} (use purchases.count, purchases.sum or activity.<type>.count)",
                                 "field")
            activity_type, measure = match.group(1), "count"
            if activity_type not in self.uow.crm.activity_types:
                known = ", ".join(sorted(self.uow.crm.activity_types))
                raise leaf.error(f"{activity_type!r} is not an activity type ({known})", "field")
        conditions = [activities.c.type == activity_type, activities.c.cancelled.is_(False)]
        since = self._since(leaf)
        if since is not None:
            conditions.append(activities.c.occurred_at >= since)
        op = leaf.op
        if op == "exists":
            value = self._values(leaf, "bool")
            has = exists().where(activities.c.customer_id == customers.c.id, *conditions)
            return has if value else not_(has)
        if op == "contains":
            raise leaf.error(f"{name} is a number; use eq ne in not_in gt gte lt lte between exists", "op")
        value = self._values(leaf, "number")
        # A correlated aggregate: evaluated per candidate customer through the
        # (customer_id, occurred_at) index, after the cheaper criteria have
        # narrowed the candidates; a customer without activities counts as 0.
        measure_of = func.count() if measure == "count" else func.coalesce(func.sum(activities.c.amount), 0)
        aggregate = (select(measure_of).where(activities.c.customer_id == customers.c.id, *conditions)
                     .correlate(customers).scalar_subquery())
        predicate, _holds_for_zero = _number_predicate(op, value)
        return predicate(aggregate)

    def _rfm(self, leaf: Leaf) -> Any:
        part = leaf.field.split(".", 1)[1]
        aliases = {"recency": "r", "frequency": "f", "monetary": "m"}
        part = aliases.get(part, part)
        if part not in ("r", "f", "m", "score", "segment"):
            raise leaf.error(f"unknown RFM field {leaf.field!r} (rfm.r, rfm.f, rfm.m, rfm.score, rfm.segment)", "field")
        scored = rfm_scores(self._since(leaf))
        if part == "segment":
            column = scored.c.segment

            def segment(value: Any) -> str:
                text = str(value).strip().lower()
                if text not in RFM_SEGMENTS:
                    raise leaf.error(f"{value!r} is not an RFM segment ({', '.join(RFM_SEGMENTS)})", "value")
                return text

            if leaf.op not in ("eq", "ne", "in", "not_in"):
                raise leaf.error(f"rfm.segment supports eq ne in not_in, not {leaf.op}", "op")
            inner = _compare_plain(column, leaf.op, self._values(leaf, "text", segment), positive=True)
        else:
            column = {"r": scored.c.r, "f": scored.c.f, "m": scored.c.m, "score": scored.c.r * 100 + scored.c.f * 10 + scored.c.m}[part]
            if leaf.op == "exists":
                has = customers.c.id.in_(select(scored.c.customer_id))
                return has if self._values(leaf, "bool") else not_(has)
            if leaf.op == "contains":
                raise leaf.error(f"{leaf.field} is a number", "op")
            value = self._values(leaf, "number", lambda v: _whole_number(leaf, v))
            inner = _compare_plain(column, leaf.op, value, positive=True)
        if leaf.op in ("ne", "not_in"):
            # customers without purchases have no RFM score: they are "not" any value
            opposite = {"ne": "eq", "not_in": "in"}[leaf.op]
            values = self._values(leaf, "text" if part == "segment" else "number",
                                  (lambda v: str(v).strip().lower()) if part == "segment" else (lambda v: _whole_number(leaf, v)))
            return customers.c.id.not_in(select(scored.c.customer_id).where(_compare_plain(column, opposite, values, positive=True)))
        return customers.c.id.in_(select(scored.c.customer_id).where(inner))

    # -- plugins' fields -----------------------------------------------------------------------

    def _plugin(self, field: Field, leaf: Leaf) -> Any:
        if field.value_type == "bool":
            value = self._values(leaf, "bool") if leaf.op == "exists" else self._values(leaf, "bool")
        elif leaf.op == "exists" and not isinstance(leaf.value, bool):
            raise leaf.error("exists takes true or false (or no value)", "value")
        else:
            value = self._values(leaf, field.value_type)
        try:
            expression = field.build(leaf.op, value, leaf)
        except ValidationError as error:
            problems = [message.removeprefix("criteria: ") for message in error.errors]
            raise ValidationError([f"{leaf.path}: {problem}" for problem in problems]) from None
        except Exception as error:  # a plugin's bug, reported with its name
            raise ValidationError(f"{leaf.path}: plugin {field.source!r} failed to build {field.name!r}: "
                                  f"{type(error).__name__}: {error}") from error
        if expression is None:
            raise ValidationError(f"{leaf.path}: plugin {field.source!r} built nothing for {field.name!r} {leaf.op}")
        return expression


# ---------------------------------------------------------------------------
# RFM
# ---------------------------------------------------------------------------


def rfm_scores(since: datetime | None = None) -> Any:
    """A subquery of (customer_id, r, f, m, segment) for customers with
    purchases (not cancelled) since ``since``: quintiles 1..5 by ``ntile(5)``
    over last purchase time, purchase count and purchase sum, ties broken by
    customer id so the scores are stable."""
    conditions = [activities.c.type == "purchase", activities.c.cancelled.is_(False)]
    if since is not None:
        conditions.append(activities.c.occurred_at >= since)
    totals = (
        select(
            activities.c.customer_id,
            func.max(activities.c.occurred_at).label("last"),
            func.count().label("n"),
            func.coalesce(func.sum(activities.c.amount), 0).label("total"),
        )
        .where(*conditions)
        .group_by(activities.c.customer_id)
        .subquery("rfm_totals")
    )
    quintiles = select(
        totals.c.customer_id,
        func.ntile(5).over(order_by=(totals.c.last, totals.c.customer_id)).label("r"),
        func.ntile(5).over(order_by=(totals.c.n, totals.c.customer_id)).label("f"),
        func.ntile(5).over(order_by=(totals.c.total, totals.c.customer_id)).label("m"),
    ).subquery("rfm_quintiles")
    r, f, m = quintiles.c.r, quintiles.c.f, quintiles.c.m
    segment = case(
        (and_(r >= 4, f >= 4, m >= 4), literal("champions")),
        (and_(r >= 3, f >= 4), literal("loyal")),
        (and_(r >= 4, f >= 2), literal("potential")),
        (r >= 4, literal("new")),
        (and_(r == 3), literal("needs_attention")),
        (and_(r <= 2, f >= 4), literal("at_risk")),
        (r == 2, literal("hibernating")),
        else_=literal("lost"),
    )
    return select(quintiles.c.customer_id, cast(r, Integer).label("r"), cast(f, Integer).label("f"),
                  cast(m, Integer).label("m"), segment.label("segment")).subquery("rfm")


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

_COMPARE = {
    "gt": lambda c, v: c > v,
    "gte": lambda c, v: c >= v,
    "lt": lambda c, v: c < v,
    "lte": lambda c, v: c <= v,
}


def _compare_plain(column: Any, op: str, value: Any, *, positive: bool) -> Any:
    """Comparison over a column that is never NULL (aggregates, scores)."""
    if op in ("eq", "ne"):
        return column == value
    if op in ("in", "not_in"):
        return column.in_(value)
    if op == "between":
        return column.between(value[0], value[1])
    return _COMPARE[op](column, value)


def _number_predicate(op: str, value: Any) -> tuple[Callable[[Any], Any], bool]:
    """(SQL predicate over an aggregate, whether 0 satisfies it)."""
    python = {
        "eq": lambda x: x == value, "ne": lambda x: x != value,
        "in": lambda x: x in value, "not_in": lambda x: x not in value,
        "gt": lambda x: x > value, "gte": lambda x: x >= value,
        "lt": lambda x: x < value, "lte": lambda x: x <= value,
        "between": lambda x: value[0] <= x <= value[1],
    }[op]
    sql = {
        "eq": lambda a: a == value, "ne": lambda a: a != value,
        "in": lambda a: a.in_(value), "not_in": lambda a: a.not_in(value),
        "gt": lambda a: a > value, "gte": lambda a: a >= value,
        "lt": lambda a: a < value, "lte": lambda a: a <= value,
        "between": lambda a: a.between(value[0], value[1]),
    }[op]
    return sql, bool(python(0))


def _typed(leaf: Leaf, value_type: str, value: Any) -> Any:
    if value_type == "number":
        if isinstance(value, bool):
            raise leaf.error(f"expected a number, got {value!r}", "value")
        if isinstance(value, (int, float, Decimal)):
            return value
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise leaf.error(f"expected a number, got {value!r}", "value") from None
        return int(number) if number == number.to_integral_value() else number
    if value_type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "是"):
            return True
        if text in ("false", "no", "0", "否"):
            return False
        raise leaf.error(f"expected true or false, got {value!r}", "value")
    if value_type == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise leaf.error(f"expected a date like 2025-01-31, got {value!r}", "value") from None
    if isinstance(value, (dict, list)) or value is None:
        raise leaf.error(f"expected text, got {value!r}", "value")
    return str(value).strip()


def _whole_number(leaf: Leaf, value: Any) -> int:
    number = _typed(leaf, "number", value)
    if number != int(number):
        raise leaf.error(f"expected a whole number, got {value!r}", "value")
    return int(number)


def _window_delta(leaf: Leaf, text: str, key: str) -> timedelta:
    match = re.fullmatch(r"(\d+)\s*([dwmy])", text.strip().lower())
    if not match:
        raise leaf.error(f"{text!r} is not a period; use e.g. \"90d\", \"12w\", \"6m\" (30 days) or \"1y\" (365 days)", key)
    amount, unit = int(match.group(1)), match.group(2)
    if amount <= 0:
        raise leaf.error(f"{text!r} must be a positive period", key)
    return timedelta(days=amount * {"d": 1, "w": 7, "m": 30, "y": 365}[unit])


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without it
        return day.replace(year=day.year - years, day=28)


def _custom_value_type(kind: str) -> str:
    return {"int": "number", "decimal": "number", "bool": "bool", "date": "date"}.get(kind, "text")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def ensure_hookspecs(pm: Any) -> None:
    """Add this plugin's hookspecs to ``pm`` once (see :mod:`crm_campaigns.hookspecs`)."""
    from crm_campaigns.hookspecs import ensure_hookspecs as ensure

    ensure(pm)
