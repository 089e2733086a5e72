"""Typed, frozen settings: packaged defaults -> optional YAML file -> PYDRANT__SECTION__KEY env."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml

ENV_PREFIX = "PYDRANT__"


@dataclass(frozen=True)
class StorageSettings:
    storage_path: Path
    snapshots_path: Path | None  # None: `snapshots` inside storage_path
    flush_interval_sec: float
    wal_segment_mb: int


@dataclass(frozen=True)
class ServiceSettings:
    host: str
    http_port: int
    grpc_port: int | None  # None: no gRPC server (null or 0 in the config)
    max_request_size_mb: float
    api_key: str | None
    read_only_api_key: str | None
    enable_cors: bool


@dataclass(frozen=True)
class LogSettings:
    level: str


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings
    service: ServiceSettings
    log: LogSettings


class SettingsError(ValueError):
    """A setting is unknown or has a value of the wrong type; the message names the key."""


def _defaults() -> dict[str, Any]:
    text = resources.files("pydrant").joinpath("default_config.yaml").read_text()
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)  # packaged file, not user input
    return loaded


def _merge(base: dict[str, Any], override: Mapping[str, Any], origin: str) -> None:
    for section, values in override.items():
        if section not in base:
            raise SettingsError(f"{origin}: unknown section `{section}`")
        if not isinstance(values, Mapping):
            raise SettingsError(f"{origin}: section `{section}` must be a mapping")
        for key, value in values.items():
            if key not in base[section]:
                raise SettingsError(f"{origin}: unknown setting `{section}.{key}`")
            base[section][key] = value


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX):].lower().split("__")
        if len(parts) != 2:
            raise SettingsError(f"environment variable {name}: expected PYDRANT__SECTION__KEY")
        # YAML parsing gives env values the same typing as the config file (numbers, null, bools).
        out.setdefault(parts[0], {})[parts[1]] = yaml.safe_load(raw) if raw != "" else None
    return out


def _typed(raw: dict[str, Any]) -> Settings:
    def get(section: str, key: str, cast: Any) -> Any:
        value = raw[section][key]
        if value is None and cast is not Path:
            return None
        try:
            return cast(value)
        except (TypeError, ValueError):
            raise SettingsError(f"setting `{section}.{key}`: cannot use {value!r}") from None

    def optional_str(value: Any) -> str | None:
        return None if value is None else str(value)

    return Settings(
        storage=StorageSettings(
            storage_path=get("storage", "storage_path", Path),
            snapshots_path=None if raw["storage"]["snapshots_path"] is None else get("storage", "snapshots_path", Path),
            flush_interval_sec=get("storage", "flush_interval_sec", float),
            wal_segment_mb=get("storage", "wal_segment_mb", int),
        ),
        service=ServiceSettings(
            host=get("service", "host", str),
            http_port=get("service", "http_port", int),
            grpc_port=get("service", "grpc_port", int) or None,
            max_request_size_mb=get("service", "max_request_size_mb", float),
            api_key=optional_str(raw["service"]["api_key"]),
            read_only_api_key=optional_str(raw["service"]["read_only_api_key"]),
            enable_cors=get("service", "enable_cors", _as_bool),
        ),
        log=LogSettings(level=str(raw["log"]["level"]).upper()),
    )


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(value)


def load_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Build the settings; later sources win: defaults, file, environment, explicit overrides."""
    raw = _defaults()
    if config_file is not None:
        try:
            loaded = yaml.safe_load(config_file.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SettingsError(f"config file {config_file}: {exc}") from None
        if not isinstance(loaded, Mapping):
            raise SettingsError(f"config file {config_file}: top level must be a mapping")
        _merge(raw, loaded, str(config_file))
    _merge(raw, _env_overrides(os.environ if environ is None else environ), "environment")
    if overrides:
        _merge(raw, overrides, "command line")
    return _typed(raw)
