"""Storage: tables, the unit of work, engines and migrations."""
