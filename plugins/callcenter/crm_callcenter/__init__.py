"""Service desk and call center (客户服务 / 呼叫中心) for crmcore."""
