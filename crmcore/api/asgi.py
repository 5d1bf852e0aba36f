"""``crmcore.api.asgi:app`` for ``crm serve --workers N`` (and any ASGI
server): each worker process opens the CRM from the configuration
(``CRM_DATABASE_URL``) and serves it."""

from crmcore.api.app import create_app
from crmcore.cli import open_crm

app = create_app(open_crm(None))
