"""The unit of work: one transaction per operation, hooks included.

Any exception inside ``with crm.unit_of_work(...) as uow:``, raised by the
core or by any hook, rolls back everything. Callbacks registered with
``uow.after_commit`` run only once the transaction has committed.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Iterator

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from crmcore.clock import utcnow
from crmcore.domain.organisation import SYSTEM, User
from crmcore.errors import CRMError, HookFailed, PermissionDenied, ValidationError

if TYPE_CHECKING:
    from crmcore.app import CRM
    from crmcore.plugins import HookRelay


class UnitOfWork:
    """Everything one operation needs: the transaction, the actor, the core's
    services (``uow.customers``, ``uow.contacts``, ``uow.activities`` …),
    plugins' services (``uow.service("membership")``) and the hooks enabled
    for the actor's department (``uow.hook``)."""

    def __init__(self, crm: "CRM", actor: User | str | int | None, *, isolation_level: str | None = None):
        self.crm = crm
        #: e.g. ``"REPEATABLE READ"`` for one snapshot on PostgreSQL (privacy export, backup)
        self._isolation_level = isolation_level
        self._actor_ref = actor
        self._transaction: Any = None
        self._after_commit: list[Callable[[], None]] = []
        self._services: dict[str, Any] = {}
        self._firing: set[tuple[str, Any]] = set()

    # -- transaction ------------------------------------------------------------

    def __enter__(self) -> "UnitOfWork":
        #: The transaction's connection, for SQLAlchemy Core statements.
        self.connection: Connection = self.crm.engine.connect()
        if self._isolation_level and self.connection.dialect.name == "postgresql":
            self.connection = self.connection.execution_options(isolation_level=self._isolation_level)
        elif self._isolation_level:
            # a snapshot read on SQLite: a deferred BEGIN, not the write lock (see engine.py)
            self.connection = self.connection.execution_options(crm_snapshot_read=True)
        self._transaction = self.connection.begin()
        try:
            self.actor = self._resolve_actor(self._actor_ref)
        except BaseException:
            self._close(commit=False)
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._close(commit=exc_type is None)
        if exc_type is None:
            callbacks, self._after_commit = self._after_commit, []
            for callback in callbacks:
                callback()

    def _close(self, *, commit: bool) -> None:
        try:
            session = self.__dict__.get("session")
            if session is not None:
                if commit:
                    session.flush()
                session.close()
            if commit:
                self._transaction.commit()
            else:
                self._transaction.rollback()
        finally:
            self.connection.close()

    @cached_property
    def session(self) -> Session:
        """An ORM session inside this unit of work's transaction, for plugins
        that map their own tables; it is flushed when the unit of work
        commits, and never commits on its own."""
        return Session(bind=self.connection, expire_on_commit=False)

    def savepoint(self) -> Any:
        """``with uow.savepoint():`` — a nested transaction; an exception
        inside undoes only what was done inside."""
        return self.connection.begin_nested()

    def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self.connection.execute(statement, parameters)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    def publish(self, name: str, payload: dict[str, Any]) -> int:
        """Publish an event declared with ``crm_register_events`` to the
        webhook subscriptions that want it: queued in the outbox in this
        transaction, delivered after commit. Put ``customer_id`` in the
        payload when the event is about a customer (department-scoped
        subscriptions only get events about customers they may see).
        Returns how many deliveries were queued."""
        from crmcore.webhooks import publish

        return publish(self, name, payload)

    def act_as(self, actor: User | str | int | None) -> User:
        """Switch to acting as ``actor`` before any work is done (the API
        finds the user from the request's token in this same transaction)."""
        self.actor = self._resolve_actor(actor)
        for name in ("disabled_plugins", "hook"):
            self.__dict__.pop(name, None)
        self._services.clear()
        return self.actor

    @cached_property
    def now(self):
        """One timestamp for the whole operation."""
        return utcnow()

    # -- actor and permissions ------------------------------------------------------

    def _resolve_actor(self, ref: User | str | int | None) -> User:
        if ref is None:
            return SYSTEM
        if isinstance(ref, User) and ref.id is None:
            return ref
        key = ref.id if isinstance(ref, User) else ref
        user = self.users.find(key)
        if user is None:
            raise CRMError(f"--as: no user {key!r}")
        if not user.active:
            raise CRMError(f"--as: user {user.username!r} is deactivated")
        return user

    def require(self, permission: str) -> None:
        """Raise PermissionDenied unless the actor holds ``permission``."""
        if not self.actor.can(permission):
            raise PermissionDenied(permission)

    # -- hooks ------------------------------------------------------------------------

    @cached_property
    def disabled_plugins(self) -> frozenset[str]:
        """Plugins switched off for the actor's department."""
        return self.plugin_settings.disabled_for(self.actor.department_id)

    @cached_property
    def hook(self) -> "HookRelay":
        """The hooks of the plugins enabled for the actor's department."""
        return self.crm.plugins.relay(self.disabled_plugins)

    def fire(self, hook_name: str, entity: tuple[str, Any], **kwargs: Any) -> list[Any]:
        """Call a lifecycle hook once. While hooks run for ``entity``, changes
        they make to that same entity are saved and audited but fire no hook
        again: hooks cannot loop or run twice."""
        if entity in self._firing:
            return []
        self._firing.add(entity)
        try:
            return getattr(self.hook, hook_name)(uow=self, **kwargs)
        except CRMError:
            raise
        except Exception as error:
            from crmcore.metrics import record_hook_error

            plugin = self.crm.plugins.plugin_of_traceback(error.__traceback__)
            record_hook_error(hook_name, plugin)
            raise HookFailed(hook_name, plugin, error) from error
        finally:
            self._firing.discard(entity)

    def validate(self, hook_name: str, **kwargs: Any) -> None:
        """Call a validation hook; any message it returns vetoes the change."""
        errors = [message for result in getattr(self.hook, hook_name)(uow=self, **kwargs) if result for message in result]
        if errors:
            raise ValidationError(errors)

    @contextmanager
    def quiet(self, entity: tuple[str, Any]) -> Iterator[None]:
        """Make changes to ``entity`` without firing its lifecycle hooks (used
        by the core when one operation changes an entity in several steps)."""
        added = entity not in self._firing
        self._firing.add(entity)
        try:
            yield
        finally:
            if added:
                self._firing.discard(entity)

    # -- services -----------------------------------------------------------------------

    def service(self, name: str) -> Any:
        """A plugin's service, if that plugin is enabled for the actor."""
        service = self._services.get(name)
        if service is None:
            registered = self.crm.plugins.registrations.services.get(name)
            if registered is None:
                raise CRMError(f"no service {name!r}: is its plugin installed?")
            plugin, factory = registered
            if plugin in self.disabled_plugins:
                raise CRMError(f"plugin {plugin!r} is disabled for this department")
            service = self._services[name] = factory(self)
        return service

    def has_service(self, name: str) -> bool:
        registered = self.crm.plugins.registrations.services.get(name)
        return registered is not None and registered[0] not in self.disabled_plugins

    @cached_property
    def customers(self):
        from crmcore.services.customers import CustomerService

        return CustomerService(self)

    @cached_property
    def contacts(self):
        from crmcore.services.contacts import ContactService

        return ContactService(self)

    @cached_property
    def activities(self):
        from crmcore.services.activities import ActivityService

        return ActivityService(self)

    @cached_property
    def departments(self):
        from crmcore.services.organisation import DepartmentService

        return DepartmentService(self)

    @cached_property
    def users(self):
        from crmcore.services.organisation import UserService

        return UserService(self)

    @cached_property
    def roles(self):
        from crmcore.services.organisation import RoleService

        return RoleService(self)

    @cached_property
    def choices(self):
        from crmcore.services.choices import ChoiceService

        return ChoiceService(self)

    @cached_property
    def custom_fields(self):
        from crmcore.services.custom_fields import CustomFieldService

        return CustomFieldService(self)

    @cached_property
    def plugin_settings(self):
        from crmcore.services.plugin_settings import PluginSettingsService

        return PluginSettingsService(self)

    @cached_property
    def outbox(self):
        from crmcore.services.outbox import OutboxService

        return OutboxService(self)

    @cached_property
    def consents(self):
        from crmcore.services.consents import ConsentService

        return ConsentService(self)

    @cached_property
    def audit(self):
        from crmcore.audit import AuditTrail

        return AuditTrail(self)
