from crmcore.testing import PluginConformance


class TestConformance(PluginConformance):
    plugin_name = "analytics"
