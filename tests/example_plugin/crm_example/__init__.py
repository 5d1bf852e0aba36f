"""A stamp card: every visit earns the customer a stamp."""
