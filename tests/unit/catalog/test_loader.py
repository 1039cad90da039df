"""The operator catalog (``PASSWAY_CATALOG_FILE``): adds and overrides providers; a bad file stops
start-up with the provider and field named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from passway.bootstrap import create_app
from passway.catalog import load_catalog
from passway.errors import ConfigurationError
from passway.settings import Settings, load_settings

BUILT_IN = load_catalog()


def _write(tmp_path: Path, *providers: dict[str, Any]) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"providers": list(providers)}), encoding="utf-8")
    return path


PRIVATE = {
    "name": "acmeInternal",
    "displayName": "Acme internal API",
    "authType": "apiKey",
    "baseURL": "https://api.acme.example/v2",
    "apiKeyAttachment": "header",
    "apiKeyHeaderName": "X-Acme-Key",
    "support": {"proxy": True},
}


def test_an_operator_provider_is_added_to_the_built_in_ones(tmp_path: Path) -> None:
    catalog = load_catalog(_write(tmp_path, PRIVATE))
    added = catalog.get("acmeInternal")
    assert added is not None and added.base_url == "https://api.acme.example/v2"
    assert added.api_key_header_name == "X-Acme-Key"
    assert added.template_vars == ()
    assert len(catalog) == len(BUILT_IN) + 1
    assert added.to_json()["support"]["proxy"] is True


def test_an_operator_provider_overrides_a_built_in_one_by_name(tmp_path: Path) -> None:
    staging = {
        **PRIVATE,
        "name": "salesforce",
        "baseURL": "https://{{.workspace}}.staging.example/sf",
        "metadataInputs": [{"name": "workspace"}],
    }
    catalog = load_catalog(_write(tmp_path, staging))
    salesforce = catalog.get("salesforce")
    assert salesforce is not None
    assert salesforce.base_url == "https://{{.workspace}}.staging.example/sf"
    assert salesforce.auth_type == "apiKey"
    assert salesforce.template_vars == ("workspace",)  # computed when the file omits it
    assert len(catalog) == len(BUILT_IN)
    assert BUILT_IN.get("salesforce") != salesforce


def test_an_invalid_operator_file_stops_start_up_naming_provider_and_field(
    tmp_path: Path,
) -> None:
    broken = {**PRIVATE, "apiKeyHeaderName": None, "authType": "apiKey"}
    del broken["apiKeyHeaderName"]
    path = _write(tmp_path, broken, {**PRIVATE, "name": "other", "baseURL": ""})
    settings = Settings(data_dir=tmp_path, catalog_file=path)
    with pytest.raises(ConfigurationError) as caught:
        create_app(settings)
    message = str(caught.value)
    assert "provider 'acmeInternal': apiKeyHeaderName" in message
    assert "provider 'other': baseURL: is required" in message
    assert str(path) in message


def test_the_file_named_by_the_environment_is_the_one_loaded(tmp_path: Path) -> None:
    path = _write(tmp_path, PRIVATE)
    settings = load_settings({"PASSWAY_CATALOG_FILE": str(path), "PASSWAY_DATA_DIR": str(tmp_path)})
    app = create_app(settings)
    assert app.catalog.get("acmeInternal") is not None


def test_a_missing_operator_file_stops_start_up(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, catalog_file=tmp_path / "absent.json")
    with pytest.raises(ConfigurationError, match=r"absent\.json"):
        create_app(settings)
