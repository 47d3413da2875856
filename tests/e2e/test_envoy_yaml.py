"""The committed envoy.yaml passes Envoy's own validation (with the descriptor path pointed at the package's file)."""

from __future__ import annotations

import subprocess

import pytest

from gateway_grpc import envoy_config
from gateway_grpc.cli import envoy_binary

pytestmark = pytest.mark.e2e


def test_envoy_yaml_committed_config_validates(tmp_path):
    config = envoy_config.load_template()
    envoy_config.set_descriptor(config, envoy_config.descriptor_path())
    path = envoy_config.write(config, tmp_path)
    result = subprocess.run([envoy_binary(), "--mode", "validate", "-c", str(path), "-l", "warning"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"configuration '{path}' OK" in result.stdout + result.stderr
    assert "Deprecated" not in result.stdout + result.stderr


def test_envoy_yaml_rendered_config_validates(tmp_path):
    layout = envoy_config.Layout("127.0.0.1", 18787, 19901, 18000, (15001, 15002, 15003))
    path = envoy_config.write(envoy_config.render(envoy_config.load_template(), layout), tmp_path)
    result = subprocess.run([envoy_binary(), "--mode", "validate", "-c", str(path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
