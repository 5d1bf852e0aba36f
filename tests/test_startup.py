"""`crm --help` stays fast with every plugin installed: it imports no
database or heavy library (a check on what is imported, not a timing)."""

import json
import os
import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "numpy", "scipy", "openpyxl", "pypinyin", "phonenumbers", "jinja2", "psycopg", "litestar", "matplotlib")

PROBE = """
import json, sys
sys.argv = ["crm", "--help"]
from crmcore.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


def test_crm_help_with_every_installed_plugin_imports_nothing_heavy():
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=environment, check=True)
    imported = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert imported & set(HEAVY) == set(), "crm --help imported heavy modules; import them inside the commands"
    assert "Usage: crm" in result.stdout
