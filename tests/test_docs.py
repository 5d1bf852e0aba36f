"""The documentation keeps up with the code (as datasette's test_docs does)."""

import re
from pathlib import Path

from crmcore import hookspecs

DOCS = Path(__file__).parent.parent / "docs"


def hook_names():
    return sorted(name for name in dir(hookspecs) if name.startswith("crm_"))


def test_every_hookspec_has_a_section_in_docs_hooks_md():
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### (crm_\w+)$", text, flags=re.M))
    assert set(hook_names()) - documented == set(), "hooks without a section in docs/hooks.md"


def test_docs_hooks_md_documents_no_hook_that_does_not_exist():
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### (crm_\w+)$", text, flags=re.M))
    assert documented - set(hook_names()) == set()


def test_every_hookspec_docstring_says_when_it_is_called_and_gives_an_example():
    for name in hook_names():
        doc = getattr(hookspecs, name).__doc__ or ""
        assert "Called" in doc and "Example::" in doc, name
