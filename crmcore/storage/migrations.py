"""Schema migrations: Alembic with a ``core`` branch and one branch per plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from attrs import frozen
from sqlalchemy import Engine

CORE_VERSIONS = Path(__file__).parent / "versions"
ENV_DIRECTORY = Path(__file__).parent / "alembic"


@frozen
class BranchStatus:
    branch: str
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _config(connection, version_locations: Iterable[Path]):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ENV_DIRECTORY))
    locations = [str(CORE_VERSIONS), *(str(path) for path in version_locations)]
    # os.pathsep keeps paths with spaces intact
    config.set_main_option("path_separator", "os")
    import os

    config.set_main_option("version_locations", os.pathsep.join(locations))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, version_locations: Iterable[Path], target: str = "heads") -> None:
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_config(connection, version_locations), target)


def downgrade(engine: Engine, version_locations: Iterable[Path], target: str) -> None:
    from alembic import command

    with engine.begin() as connection:
        command.downgrade(_config(connection, version_locations), target)


def status(engine: Engine, version_locations: Iterable[Path]) -> list[BranchStatus]:
    """Per branch: the revision the database is at and the newest one known."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.connect() as connection:
        script = ScriptDirectory.from_config(_config(connection, version_locations))
        current = set(MigrationContext.configure(connection).get_current_heads())
    # a head that depends on another branch implies that branch's revisions
    applied = {rev.revision for head in current for rev in script.iterate_revisions(head, "base")}
    result = []
    for head in sorted(script.get_heads()):
        lineage = [rev.revision for rev in script.iterate_revisions(head, "base")]
        at = next((rev for rev in lineage if rev in applied), None)
        result.append(BranchStatus(branch=_branch_of(script, head), current=at, head=head))
    return result


def _branch_of(script, head: str) -> str:
    for revision in script.iterate_revisions(head, "base"):
        if revision.branch_labels:
            return sorted(revision.branch_labels)[0]
    return "core"


def autogenerate(engine: Engine, version_locations: Iterable[Path], message: str, **kwargs) -> None:
    """Write a new revision from the difference between tables and database
    (a developer's tool, used for the core's own revisions)."""
    from alembic import command

    with engine.begin() as connection:
        command.revision(_config(connection, version_locations), message=message, autogenerate=True, **kwargs)
