"""Partner relationship management (伙伴关系管理, PRM) for crmcore."""
