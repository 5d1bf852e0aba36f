"""The operations. Each service works inside a unit of work and fires the
hooks of its changes; the CLI, the API and plugins all go through them."""
