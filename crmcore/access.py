"""Permissions the core declares, and the rules of who sees what.

Plugins add theirs through ``crm_register_permissions``. The administrator
role holds ``*``, every permission.
"""

from __future__ import annotations

from crmcore.domain.organisation import Permission

CORE_PERMISSIONS = (
    Permission("customers.view", "See customers of one's department subtree"),
    Permission("customers.view_all", "See every customer, whatever the department"),
    Permission("customers.view_contact_details", "See phones, e-mails and birthdays unmasked"),
    Permission("customers.edit", "Create, change, cancel and restore customers, their contacts and activities"),
    Permission("customers.merge", "Merge duplicate customers"),
    Permission("customers.import", "Import customers, contacts and activities"),
    Permission("customers.export", "Export customers"),
    Permission("users.manage", "Add, change and deactivate users and departments"),
    Permission("roles.manage", "Add roles and grant or revoke permissions"),
    Permission("plugins.manage", "Enable and disable plugins"),
    Permission("settings.edit", "Change lists, custom fields and settings"),
    Permission("audit.view", "Read the audit trail"),
    Permission("privacy.export", "Export everything the CRM holds about one person"),
    Permission("privacy.erase", "Erase (anonymise) a person across the core and every plugin"),
    Permission("privacy.hold", "Set or lift a legal hold, which blocks erasure"),
    Permission("privacy.retain", "Apply the retention rules"),
    Permission("operations.backup", "Back up the database"),
)
ADMIN_ROLE = "admin"
ADMIN_USER = "admin"
