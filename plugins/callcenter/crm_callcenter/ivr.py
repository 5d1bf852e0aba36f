"""IVR menus as data: a tree of prompts and key presses.

A menu is a node::

    prompt = "您好，投诉请按1，咨询请按2，账单查询请按3"
    default = { queue = "咨询" }          # no key pressed (timeout)
    max_invalid = 2                        # wrong keys before the default applies

    [options.1]
    label = "投诉"
    queue = "投诉"

    [options.2]
    label = "咨询"
    [options.2.menu]                       # a sub-menu
    prompt = "普通话请按1，English press 2"
    options.1 = { label = "普通话", queue = "咨询" }
    options.2 = { label = "English", queue = "English" }

    [options.3]
    label = "账单查询"
    self_service = "账单查询"               # answered by the machine, no agent

Each action (an option, ``default`` or ``invalid``) does exactly one of:
``queue`` (route to a queue), ``menu`` (a sub-menu), ``self_service`` (end in
self service). Keys are ``0``-``9``, ``*`` and ``#``. Pure Python: the service
checks that queues exist.
"""

from __future__ import annotations

import json
from typing import Any

from crmcore import ValidationError

KEYS = set("0123456789*#")
ACTIONS = ("queue", "menu", "self_service")
MAX_DEPTH = 8


def parse_menu_text(text: str, filename: str = "") -> dict[str, Any]:
    """A menu from TOML or JSON text (JSON when the file ends in .json or
    the text starts with ``{``)."""
    stripped = text.lstrip("\ufeff").strip()
    try:
        if filename.lower().endswith(".json") or stripped.startswith("{"):
            data = json.loads(stripped)
        else:
            import tomllib

            data = tomllib.loads(stripped)
    except (ValueError, TypeError) as error:
        raise ValidationError.field("menu", f"cannot read {filename or 'the menu'}: {error}") from None
    if not isinstance(data, dict):
        raise ValidationError.field("menu", "a menu is a table with a prompt and options")
    return data


def validate(menu: dict[str, Any], known_queues: set[str] | None = None) -> list[str]:
    """Every problem of the menu as "path: problem"; empty when valid."""
    problems: list[str] = []
    _check_node(menu, "menu", 1, problems, known_queues)
    return problems


def _check_node(node: Any, path: str, depth: int, problems: list[str], queues: set[str] | None) -> None:
    if not isinstance(node, dict):
        problems.append(f"{path}: a menu must be a table")
        return
    if depth > MAX_DEPTH:
        problems.append(f"{path}: menus nest deeper than {MAX_DEPTH} levels")
        return
    unknown = set(node) - {"prompt", "options", "default", "invalid", "max_invalid", "name", "description"}
    if unknown:
        problems.append(f"{path}: unknown entries {', '.join(sorted(unknown))}")
    if not str(node.get("prompt") or "").strip():
        problems.append(f"{path}.prompt: every menu needs a prompt")
    options = node.get("options")
    if not isinstance(options, dict) or not options:
        problems.append(f"{path}.options: every menu needs at least one key option")
        options = {}
    for key, action in options.items():
        if str(key) not in KEYS:
            problems.append(f"{path}.options.{key}: keys are 0-9, * and #")
        _check_action(action, f"{path}.options.{key}", depth, problems, queues)
    for name in ("default", "invalid"):
        if name in node:
            _check_action(node[name], f"{path}.{name}", depth, problems, queues)
    if "max_invalid" in node and (not isinstance(node["max_invalid"], int) or not 0 <= node["max_invalid"] <= 5):
        problems.append(f"{path}.max_invalid: a whole number from 0 to 5")


def _check_action(action: Any, path: str, depth: int, problems: list[str], queues: set[str] | None) -> None:
    if not isinstance(action, dict):
        problems.append(f"{path}: an action is a table with one of {', '.join(ACTIONS)}")
        return
    chosen = [name for name in ACTIONS if name in action]
    if len(chosen) != 1:
        problems.append(f"{path}: needs exactly one of {', '.join(ACTIONS)}")
        return
    unknown = set(action) - {*ACTIONS, "label", "prompt"}
    if unknown:
        problems.append(f"{path}: unknown entries {', '.join(sorted(unknown))}")
    kind = chosen[0]
    if kind == "menu":
        _check_node(action["menu"], f"{path}.menu", depth + 1, problems, queues)
    elif not str(action[kind] or "").strip():
        problems.append(f"{path}.{kind}: must not be empty")
    elif kind == "queue" and queues is not None and action["queue"] not in queues:
        problems.append(f"{path}.queue: no queue {action['queue']!r} (add it with `crm service queue add`)")


def queues_of(menu: dict[str, Any]) -> set[str]:
    """Every queue the menu can route to."""
    found: set[str] = set()

    def visit(node: dict[str, Any]) -> None:
        actions = list((node.get("options") or {}).values()) + [node[n] for n in ("default", "invalid") if n in node]
        for action in actions:
            if isinstance(action, dict):
                if "queue" in action:
                    found.add(action["queue"])
                elif isinstance(action.get("menu"), dict):
                    visit(action["menu"])

    visit(menu)
    return found


def walk(menu: dict[str, Any], keys: str) -> dict[str, Any]:
    """Follow ``keys`` through the menu. Returns the steps taken and where the
    call ends: ``{"queue": ...}``, ``{"self_service": ...}``, or
    ``{"outcome": "no_route"}`` when keys ran out at a menu with no default.
    Spaces, commas and dashes between keys are ignored."""
    pressed = [k for k in str(keys or "") if k not in " ,-"]
    for key in pressed:
        if key not in KEYS:
            raise ValidationError.field("keys", f"{key!r} is not a telephone key (0-9, * or #)")
    steps: list[dict[str, Any]] = []
    node, path, invalid = menu, [], 0
    position = 0
    while True:
        options = node.get("options") or {}
        if position >= len(pressed):
            steps.append({"menu": "/".join(path) or "main", "prompt": node.get("prompt"), "key": None, "label": "timeout"})
            action = node.get("default")
            if action is None:
                return {"steps": steps, "outcome": "no_route", "unused_keys": ""}
        else:
            key = pressed[position]
            position += 1
            action = options.get(key)
            if action is None:
                invalid += 1
                steps.append({"menu": "/".join(path) or "main", "prompt": node.get("prompt"), "key": key, "label": "invalid"})
                if invalid <= int(node.get("max_invalid", 2)):
                    continue
                action = node.get("invalid") or node.get("default")
                if action is None:
                    return {"steps": steps, "outcome": "no_route", "unused_keys": "".join(pressed[position:])}
            else:
                steps.append({"menu": "/".join(path) or "main", "prompt": node.get("prompt"), "key": key,
                              "label": action.get("label")})
        if "menu" in action:
            node, invalid = action["menu"], 0
            path.append(str(action.get("label") or "menu"))
            continue
        rest = "".join(pressed[position:])
        if "queue" in action:
            return {"steps": steps, "outcome": "queue", "queue": action["queue"], "unused_keys": rest}
        return {"steps": steps, "outcome": "self_service", "self_service": action["self_service"], "unused_keys": rest}


SAMPLE = """# IVR menu: crm service ivr load menu.toml
prompt = "您好，欢迎致电客服中心。投诉请按1，咨询请按2，账单查询请按3，人工服务请按0"
default = { queue = "咨询" }

[options.1]
label = "投诉"
queue = "投诉"

[options.2]
label = "咨询"
queue = "咨询"

[options.3]
label = "账单查询"
self_service = "账单查询"

[options.0]
label = "人工服务"
queue = "咨询"
"""
