from crmcore.testing import PluginConformance


class TestConformance(PluginConformance):
    plugin_name = "analytics"

    def test_hookimpls_match_specs(self, crm):
        """As the base check, except that hooks other plugins declare
        (implemented with optionalhook=True) have no spec while that plugin
        is not loaded."""
        info = crm.plugins.infos[self.plugin_name]
        for caller in crm.plugins.pm.get_hookcallers(info.plugin) or []:
            impls = [impl for impl in caller.get_hookimpls() if impl.plugin is info.plugin]
            if caller.spec is None:
                assert all(impl.optionalhook for impl in impls), f"{caller.name} has no hookspec"
                continue
            for impl in impls:
                unknown = set(impl.argnames) - set(caller.spec.argnames)
                assert not unknown, f"{caller.name} takes unknown arguments {unknown}"
