"""Errors the core raises. Each names the field and the problem, so the CLI
and API can show them as they are."""

from __future__ import annotations


class CRMError(Exception):
    """Base of every error the core raises on purpose."""


class ValidationError(CRMError, ValueError):
    """Bad input. ``errors`` is a list of "field: problem" messages."""

    def __init__(self, errors: list[str] | str):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("; ".join(self.errors))

    @classmethod
    def field(cls, name: str, problem: str) -> "ValidationError":
        return cls(f"{name}: {problem}")


class NotFound(CRMError, LookupError):
    """The entity asked for does not exist (or is outside the actor's scope)."""


class PermissionDenied(CRMError):
    """The actor lacks a permission; ``permission`` names it."""

    def __init__(self, permission: str, detail: str = ""):
        self.permission = permission
        message = f"permission denied: requires {permission}"
        super().__init__(f"{message} ({detail})" if detail else message)


class Conflict(CRMError):
    """The operation clashes with the current state (duplicate code, a
    concurrent change)."""


class PluginError(CRMError):
    """A plugin failed to load or register."""


class HookFailed(CRMError):
    """A plugin's hook raised something other than a CRMError; the operation
    was rolled back. ``plugin`` names the plugin when it can be told."""

    def __init__(self, hook: str, plugin: str | None, error: BaseException):
        self.hook, self.plugin, self.error = hook, plugin, error
        who = f"plugin {plugin!r}" if plugin else "a plugin"
        super().__init__(f"{who} failed in {hook}: {type(error).__name__}: {error} (nothing was saved)")
