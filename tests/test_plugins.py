"""Plugins: found through entry points, ordered by requirements, isolated
when broken, enabled per department."""

import sys

import pytest

from crmcore import PluginError
from crmcore.plugins import PluginRegistry

GOOD = '''
from crmcore import hookimpl
CRM_REQUIRES = {requires!r}
ORDER = []

@hookimpl
def crm_register_permissions(register):
    ORDER.append({name!r})
    register("{name}.use", "use {name}")
'''


def plugin_source(name, requires=()):
    return GOOD.format(name=name, requires=tuple(requires))


def test_plugins_are_found_through_the_entry_point_group(install):
    install("crm-alpha", "1.2.0", {"alpha": "crm_alpha"}, {"crm_alpha": plugin_source("alpha")}, "Alpha plugin")
    registry = PluginRegistry()
    registry.load_entry_points(allow=["alpha"])
    info = registry.infos["alpha"]
    assert (info.version, info.description, info.error) == ("1.2.0", "Alpha plugin", None)
    assert "alpha.use" in registry.registrations.permissions


def test_a_plugin_that_fails_to_import_is_reported_by_name_and_the_rest_still_load(install):
    install("crm-broken", "0.1", {"broken": "crm_broken"}, {"crm_broken": "raise ImportError('no module named numpyy')"})
    install("crm-alpha", "1.0", {"alpha": "crm_alpha"}, {"crm_alpha": plugin_source("alpha")})
    registry = PluginRegistry()
    registry.load_entry_points(allow=["broken", "alpha"])
    assert "no module named numpyy" in registry.infos["broken"].error
    assert registry.infos["alpha"].loaded


def test_strict_mode_makes_a_broken_plugin_fatal(install):
    install("crm-broken", "0.1", {"broken": "crm_broken"}, {"crm_broken": "raise ImportError('nope')"})
    with pytest.raises(PluginError, match='plugin "broken"'):
        PluginRegistry(strict=True).load_entry_points(allow=["broken"])


def test_a_plugin_whose_requirement_is_missing_is_reported_and_not_registered(install):
    install("crm-needy", "0.1", {"needy": "crm_needy"}, {"crm_needy": plugin_source("needy", ["absent"])})
    registry = PluginRegistry()
    registry.load_entry_points(allow=["needy"])
    assert "requires plugin absent" in registry.infos["needy"].error
    assert "needy.use" not in registry.registrations.permissions


def test_plugins_register_in_dependency_order_not_name_order(install):
    install("crm-aa", "0.1", {"aa": "crm_aa"}, {"crm_aa": plugin_source("aa", ["zz"])})
    install("crm-zz", "0.1", {"zz": "crm_zz"}, {"crm_zz": plugin_source("zz")})
    registry = PluginRegistry()
    registry.load_entry_points(allow=["aa", "zz"])
    assert list(registry.infos) == ["zz", "aa"]


def test_a_blocked_plugin_is_never_imported(install):
    install("crm-blocked", "0.1", {"blocked": "crm_blocked"}, {"crm_blocked": "raise SystemExit('imported!')"})
    registry = PluginRegistry()
    registry.load_entry_points(block=["blocked"])
    assert "blocked" not in registry.infos and "crm_blocked" not in sys.modules


def test_the_allowlist_imports_only_the_named_plugins(install):
    install("crm-other", "0.1", {"other": "crm_other"}, {"crm_other": "raise SystemExit('imported!')"})
    install("crm-alpha", "0.1", {"alpha": "crm_alpha"}, {"crm_alpha": plugin_source("alpha")})
    registry = PluginRegistry()
    registry.load_entry_points(allow=["alpha"])
    assert list(registry.infos) == ["alpha"] and "crm_other" not in sys.modules


def test_an_implementation_of_an_unknown_hook_marks_the_plugin_broken(install):
    source = "from crmcore import hookimpl\n@hookimpl\ndef crm_customer_exploded(customer):\n    pass\n"
    install("crm-typo", "0.1", {"typo": "crm_typo"}, {"crm_typo": source})
    registry = PluginRegistry()
    registry.load_entry_points(allow=["typo"])
    assert "crm_customer_exploded" in registry.infos["typo"].error


def test_hooks_fired_for_an_actor_reach_only_plugins_enabled_for_their_department(crm, register_plugin, as_user, make):
    seen = []

    class Watcher:
        @staticmethod
        def crm_customer_created(customer):
            seen.append(customer.name)

    from crmcore import hookimpl

    Watcher.crm_customer_created = hookimpl(Watcher.crm_customer_created)
    register_plugin(Watcher, "watcher")
    with crm.unit_of_work() as uow:
        uow.departments.add("华东区")
        uow.departments.add("上海分公司", parent="华东区")
        uow.departments.add("北京分公司")
        uow.plugin_settings.set("watcher", False, uow.departments.get("华东区").id)
    as_user("alice", department="上海分公司")
    as_user("bob", department="北京分公司")
    make.customer(name="上海客户", actor="alice")
    make.customer(name="北京客户", actor="bob")
    assert seen == ["北京客户"]


def test_a_department_below_can_enable_what_its_parent_disabled(crm, register_plugin):
    from crmcore import hookimpl

    class Plugin:
        crm_register_permissions = staticmethod(hookimpl(lambda register: None))

    register_plugin(Plugin, "toggle")
    with crm.unit_of_work() as uow:
        top = uow.departments.add("华东区")
        below = uow.departments.add("上海分公司", parent="华东区")
        uow.plugin_settings.set("toggle", False)
        uow.plugin_settings.set("toggle", True, below.id)
        assert "toggle" in uow.plugin_settings.disabled_for(top.id)
        assert "toggle" not in uow.plugin_settings.disabled_for(below.id)


def test_a_plugin_is_off_where_its_requirement_is_off(crm, register_plugin):
    from crmcore import hookimpl

    class Base:
        crm_register_permissions = staticmethod(hookimpl(lambda register: None))

    class Dependent:
        CRM_REQUIRES = ("base",)
        crm_register_permissions = staticmethod(hookimpl(lambda register: None))

    register_plugin(Base, "base")
    register_plugin(Dependent, "dependent")
    with crm.unit_of_work() as uow:
        uow.plugin_settings.set("base", False)
        assert uow.plugin_settings.disabled_for(None) == {"base", "dependent"}


def test_tracing_logs_every_hook_call(crm, capsys):
    registry = PluginRegistry(trace=True)
    registry.pm.hook.crm_validate_customer(uow=None, customer=None, changes=None)
    assert "[crm hook] crm_validate_customer" in capsys.readouterr().err


def test_plugins_list_reports_a_broken_plugin_by_name_with_its_error(install, crm):
    from crmcore.testing import run_cli

    install("crm-broken", "0.3", {"broken": "crm_broken"}, {"crm_broken": "import numpyy"})
    crm.plugins.load_entry_points(allow=["broken"])
    (listed,) = run_cli(crm, "plugins", "list", json=True).json
    assert (listed["name"], listed["version"], listed["enabled"]) == ("broken", "0.3", False)
    assert "No module named 'numpyy'" in listed["error"]
    assert "BROKEN" in run_cli(crm, "plugins", "list").stdout
    assert run_cli(crm, "customer", "list").exit_code == 0


def test_a_plugin_can_declare_hooks_that_other_plugins_implement(crm, register_plugin):
    import types

    import pluggy

    from crmcore import hookimpl

    spec = pluggy.HookspecMarker("crm")
    specs = types.SimpleNamespace(crm_loyalty_bonus=spec(lambda customer: None))

    class Declaring:
        @hookimpl
        def crm_add_hookspecs(self, plugin_manager):
            plugin_manager.add_hookspecs(specs)

    class Implementing:
        @hookimpl(optionalhook=True)
        def crm_loyalty_bonus(self, customer):
            return 10

    register_plugin(Implementing(), "implementing")  # registered first: its hook waits for the spec
    register_plugin(Declaring(), "declaring")
    assert crm.plugins.pm.hook.crm_loyalty_bonus(customer=None) == [10]
