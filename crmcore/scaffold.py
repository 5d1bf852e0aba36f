"""``crm plugin new NAME``: a plugin distribution that installs, migrates and
passes its test from the first minute."""

from __future__ import annotations

import re
from pathlib import Path

from crmcore.errors import ValidationError

FILES = {
    "pyproject.toml": "pyproject.toml.j2",
    "README.md": "README.md.j2",
    "crm_{name}/__init__.py": "init.py.j2",
    "crm_{name}/plugin.py": "plugin.py.j2",
    "crm_{name}/migrations/{name}_0001.py": "migration.py.j2",
    "tests/test_{name}.py": "test_plugin.py.j2",
}


def scaffold_plugin(name: str, directory: Path) -> Path:
    """Write the plugin's files into ``directory/crm-NAME``; returns that folder."""
    import jinja2

    if not re.fullmatch(r"[a-z][a-z0-9_]{1,30}", name):
        raise ValidationError.field("name", "use lower-case letters, digits and underscores, starting with a letter")
    target = Path(directory) / f"crm-{name}"
    if target.exists():
        raise ValidationError.field("name", f"{target} exists already")
    environment = jinja2.Environment(loader=jinja2.PackageLoader("crmcore", "templates/scaffold"), keep_trailing_newline=True)
    for path, template in FILES.items():
        destination = target / path.format(name=name)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(environment.get_template(template).render(name=name), encoding="utf-8")
    return target
