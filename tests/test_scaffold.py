"""`crm plugin new NAME` scaffolds a plugin that installs and passes its test."""

import os
import subprocess
import sys


def test_a_scaffolded_plugin_passes_its_own_test_and_conformance(cli, install, tmp_path):
    result = cli("plugin", "new", "loyalty", "--directory", str(tmp_path))
    assert result.exit_code == 0, result
    plugin_dir = tmp_path / "crm-loyalty"
    assert {p.name for p in plugin_dir.iterdir()} >= {"pyproject.toml", "crm_loyalty", "tests", "README.md"}
    install("crm-loyalty", "0.1.0", {"loyalty": "crm_loyalty.plugin"}, summary="The loyalty plugin for crmcore")
    site = next(p for p in sys.path if p.endswith("site") and str(tmp_path) in p)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([site, str(plugin_dir), os.environ.get("PYTHONPATH", "")])}
    env.pop("CRM_TEST_DATABASE_URL", None)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(plugin_dir / "tests")],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "passed" in run.stdout


def test_a_bad_plugin_name_is_refused(cli, tmp_path):
    result = cli("plugin", "new", "Bad-Name", "--directory", str(tmp_path))
    assert result.exit_code == 1 and "name: use lower-case letters" in result.stderr
