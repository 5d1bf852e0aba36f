"""Sales force automation for crmcore: opportunities, pipeline, forecasts,
visit plans, key-person maps and quotes."""
