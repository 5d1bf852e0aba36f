"""Settings, from the environment and an optional ``crm.toml``.

Environment variables win over the file:

=====================  ===============================================
CRM_DATABASE_URL       database URL (default ``sqlite:///crm.db``)
CRM_CONFIG             path of the config file (default ``./crm.toml``)
CRM_LOAD_PLUGINS       comma-separated allowlist; empty loads none
CRM_BLOCK_PLUGINS      comma-separated blocklist
CRM_STRICT_PLUGINS     ``1``: a broken plugin stops the CRM
CRM_TRACE_HOOKS        ``1``: log every hook call to stderr
CRM_TIMEZONE           display zone (default Asia/Shanghai)
CRM_OUTBOX_DIR         where the development file channels write
CRM_SMTP_URL           ``smtp://user:pass@host:587``: real e-mail delivery
CRM_SMTP_SENDER        From address of e-mails (default crm@localhost)
CRM_SECURE_COOKIES     ``1``: session cookies only over HTTPS even when the
                       server sees plain HTTP (behind a TLS proxy that does
                       not send X-Forwarded-Proto)
=====================  ===============================================
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Mapping

from attrs import define, field

from crmcore.clock import DEFAULT_ZONE

DEFAULT_DATABASE_URL = "sqlite:///crm.db"


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@define
class Config:
    database_url: str = DEFAULT_DATABASE_URL
    load_plugins: tuple[str, ...] | None = None
    block_plugins: tuple[str, ...] = ()
    strict_plugins: bool = False
    trace_hooks: bool = False
    timezone: str = DEFAULT_ZONE
    outbox_dir: str = "outbox"
    smtp_url: str | None = None
    smtp_sender: str = "crm@localhost"
    secure_cookies: bool = False
    extra: dict = field(factory=dict)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if environ is None else environ
        path = Path(env.get("CRM_CONFIG", "crm.toml"))
        data: dict = {}
        if path.is_file():
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        plugins = data.get("plugins", {})
        config = cls(
            database_url=data.get("database_url", DEFAULT_DATABASE_URL),
            load_plugins=tuple(plugins["load"]) if "load" in plugins else None,
            block_plugins=tuple(plugins.get("block", ())),
            strict_plugins=bool(plugins.get("strict", False)),
            timezone=data.get("timezone", DEFAULT_ZONE),
            outbox_dir=data.get("outbox_dir", "outbox"),
            extra=data,
        )
        if "CRM_DATABASE_URL" in env:
            config.database_url = env["CRM_DATABASE_URL"]
        if "CRM_LOAD_PLUGINS" in env:
            config.load_plugins = _names(env["CRM_LOAD_PLUGINS"])
        if "CRM_BLOCK_PLUGINS" in env:
            config.block_plugins = _names(env["CRM_BLOCK_PLUGINS"])
        if env.get("CRM_STRICT_PLUGINS", "") not in ("", "0"):
            config.strict_plugins = True
        if env.get("CRM_TRACE_HOOKS", "") not in ("", "0"):
            config.trace_hooks = True
        config.timezone = env.get("CRM_TIMEZONE", config.timezone)
        config.outbox_dir = env.get("CRM_OUTBOX_DIR", config.outbox_dir)
        config.smtp_url = env.get("CRM_SMTP_URL", data.get("smtp_url"))
        config.smtp_sender = env.get("CRM_SMTP_SENDER", data.get("smtp_sender", config.smtp_sender))
        config.secure_cookies = env.get("CRM_SECURE_COOKIES", "") not in ("", "0") or bool(data.get("secure_cookies"))
        return config
