"""Settings: packaged defaults, then a YAML file, then PYDRANT__SECTION__KEY, then flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydrant.settings import SettingsError, load_settings


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.storage.storage_path == Path("./storage")
    assert settings.service.http_port == 6333
    assert settings.service.host == "127.0.0.1"
    assert settings.service.api_key is None
    assert settings.service.enable_cors is True
    assert settings.service.grpc_port == 6334  # Qdrant's gRPC port


@pytest.mark.parametrize("raw", ["0", "null", ""])
def test_grpc_port_zero_or_null_disables_grpc(raw: str) -> None:
    assert load_settings(environ={"PYDRANT__SERVICE__GRPC_PORT": raw}).service.grpc_port is None
    assert load_settings(environ={"PYDRANT__SERVICE__GRPC_PORT": "7334"}).service.grpc_port == 7334


def test_file_then_env_then_overrides(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("service:\n  http_port: 7000\n  api_key: secret\nstorage:\n  flush_interval_sec: 2\n")
    settings = load_settings(config, environ={"PYDRANT__SERVICE__HTTP_PORT": "7100"},
                             overrides={"storage": {"storage_path": tmp_path / "s"}})
    assert settings.service.http_port == 7100  # env beats the file
    assert settings.service.api_key == "secret"
    assert settings.storage.flush_interval_sec == 2.0
    assert settings.storage.storage_path == tmp_path / "s"


@pytest.mark.parametrize("environ, message", [
    ({"PYDRANT__SERVICE__NOPE": "1"}, "service.nope"),
    ({"PYDRANT__NOPE__PORT": "1"}, "nope"),
    ({"PYDRANT__SERVICE": "1"}, "PYDRANT__SECTION__KEY"),
    ({"PYDRANT__SERVICE__HTTP_PORT": "many"}, "service.http_port"),
    ({"PYDRANT__SERVICE__ENABLE_CORS": "maybe"}, "service.enable_cors"),
    ({"PYDRANT__SERVICE__GRPC_PORT": "many"}, "service.grpc_port"),
])
def test_bad_settings_name_the_key(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace(".", r"\.")):
        load_settings(environ=environ)


def test_bad_config_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("- a list\n")
    with pytest.raises(SettingsError, match="mapping"):
        load_settings(config, environ={})


def test_readme_documents_every_setting() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    settings = load_settings(environ={})
    for section in ("storage", "service", "log"):
        for key in getattr(settings, section).__dataclass_fields__:
            assert f"`{section}.{key}`" in readme, f"README does not document {section}.{key}"
