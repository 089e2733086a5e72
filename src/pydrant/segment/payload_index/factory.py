"""Validate a PayloadFieldSchema (type name or params object) and build its field index."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydrant.errors import MalformedJson, Unsupported, ValidationFailed
from pydrant.segment.filtering.paths import checked_path
from pydrant.segment.filtering.text import Tokenizer
from pydrant.segment.payload_index.base import FieldIndex
from pydrant.segment.payload_index.geo import GeoIndex
from pydrant.segment.payload_index.map_index import BoolIndex, KeywordIndex, UuidIndex
from pydrant.segment.payload_index.numeric import (
    DatetimeIndex,
    FloatIndex,
    IntegerIndex,
)
from pydrant.segment.payload_index.stopwords import LANGUAGES
from pydrant.segment.payload_index.text import TextIndex

SCHEMA_TYPES = ("keyword", "integer", "float", "geo", "text", "bool", "datetime", "uuid")
_MEMORY = ("cold", "cached", "pinned")
_TOKENIZERS = ("prefix", "whitespace", "word", "multilingual")
_STOPWORD_LANGUAGES = (
    "arabic", "azerbaijani", "basque", "bengali", "catalan", "chinese", "danish", "dutch", "english",
    "finnish", "french", "german", "greek", "hebrew", "hinglish", "hungarian", "indonesian", "italian",
    "japanese", "kazakh", "nepali", "norwegian", "portuguese", "romanian", "russian", "slovene",
    "spanish", "swedish", "tajik", "turkish",
)
_SNOWBALL_LANGUAGES = (
    "arabic", "armenian", "danish", "dutch", "english", "finnish", "french", "german", "greek",
    "hungarian", "italian", "norwegian", "portuguese", "romanian", "russian", "spanish", "swedish",
    "tamil", "turkish",
)

_COMMON = {"on_disk": "bool", "memory": "memory", "enable_hnsw": "bool"}
_OPTIONS: dict[str, dict[str, str]] = {
    "keyword": {**_COMMON, "is_tenant": "bool", "prefix": "bool"},
    "integer": {**_COMMON, "lookup": "bool", "range": "bool", "is_principal": "bool"},
    "float": {**_COMMON, "is_principal": "bool"},
    "geo": dict(_COMMON),
    "bool": dict(_COMMON),
    "datetime": {**_COMMON, "is_principal": "bool"},
    "uuid": {**_COMMON, "is_tenant": "bool"},
    "text": {
        **_COMMON, "tokenizer": "tokenizer", "min_token_len": "uint", "max_token_len": "uint",
        "lowercase": "bool", "ascii_folding": "bool", "phrase_matching": "bool",
        "stopwords": "stopwords", "stemmer": "stemmer",
    },
}


def parse_field_schema(field_schema: object, where: str = "field_schema") -> tuple[str, dict[str, Any] | None]:
    """(data type, params to report back or None) for a PayloadFieldSchema; raises on bad input."""
    if isinstance(field_schema, str):
        if field_schema not in SCHEMA_TYPES:
            raise ValidationFailed(f"{where}: unknown payload schema type {field_schema!r}, expected one of {', '.join(SCHEMA_TYPES)}")
        return field_schema, None
    if not isinstance(field_schema, dict):
        raise MalformedJson(f"{where}: expected a payload schema type name or a params object")
    kind = field_schema.get("type")
    if kind not in SCHEMA_TYPES:
        raise ValidationFailed(f"{where}.type: unknown payload schema type {kind!r}, expected one of {', '.join(SCHEMA_TYPES)}")
    allowed = _OPTIONS[kind]
    params: dict[str, Any] = {"type": kind}
    for name, value in field_schema.items():
        if name == "type" or value is None:
            continue
        check = allowed.get(name)
        if check is None:
            raise MalformedJson(f"{where}: unknown field `{name}` for a {kind} index")
        _CHECKS[check](value, f"{where}.{name}")
        params[name] = value
    if kind == "text":
        lo, hi = params.get("min_token_len"), params.get("max_token_len")
        if lo is not None and hi is not None and lo > hi:
            raise ValidationFailed(f"{where}: min_token_len ({lo}) must not exceed max_token_len ({hi})")
    return kind, params


def make_field_index(key: str, field_schema: object) -> FieldIndex:
    """A new, empty field index for `key` as described by `field_schema`."""
    checked_path(key, "field_name")
    kind, params = parse_field_schema(field_schema)
    if kind == "text":
        return TextIndex(key, params, make_tokenizer(params or {}))
    classes: dict[str, type[FieldIndex]] = {
        "keyword": KeywordIndex, "integer": IntegerIndex, "float": FloatIndex, "geo": GeoIndex,
        "bool": BoolIndex, "datetime": DatetimeIndex, "uuid": UuidIndex,
    }
    return classes[kind](key, params)


def make_tokenizer(params: dict[str, Any]) -> Tokenizer:
    """The tokenizer a text index's params describe (multilingual splits like `word`)."""
    stemmer = params.get("stemmer")
    if stemmer is not None and stemmer.get("type") != "none":
        raise Unsupported("stemming in text indexes (stemmer `snowball`)")
    words: set[str] = set()
    stop = params.get("stopwords")
    if stop is not None:
        languages = [stop] if isinstance(stop, str) else list(stop.get("languages") or [])
        for lang in languages:
            if lang not in LANGUAGES:
                raise Unsupported(f"stopwords for language {lang!r} (available: {', '.join(LANGUAGES)})")
            words |= LANGUAGES[lang]
        if isinstance(stop, dict):
            words |= set(stop.get("custom") or [])
    lowercase = params.get("lowercase") is not False
    if lowercase:
        words = {w.lower() for w in words}
    return Tokenizer(
        kind=params.get("tokenizer") or "word",
        lowercase=lowercase,
        ascii_folding=bool(params.get("ascii_folding")),
        min_len=params.get("min_token_len"),
        max_len=params.get("max_token_len"),
        stopwords=frozenset(words),
    )


def _bool(value: Any, where: str) -> None:
    if not isinstance(value, bool):
        raise MalformedJson(f"{where}: expected a boolean")


def _uint(value: Any, where: str) -> None:
    if type(value) is not int or value < 0:
        raise MalformedJson(f"{where}: expected an unsigned integer")


def _enum(options: tuple[str, ...]) -> Callable[[Any, str], None]:
    def check(value: Any, where: str) -> None:
        if value not in options:
            raise MalformedJson(f"{where}: unknown variant {value!r}, expected one of {', '.join(options)}")

    return check


def _stopwords(value: Any, where: str) -> None:
    if isinstance(value, str):
        _enum(_STOPWORD_LANGUAGES)(value, where)
        return
    if not isinstance(value, dict) or set(value) - {"languages", "custom"}:
        raise MalformedJson(f"{where}: expected a language or {{languages, custom}}")
    for lang in value.get("languages") or []:
        _enum(_STOPWORD_LANGUAGES)(lang, f"{where}.languages")
    custom = value.get("custom") or []
    if not isinstance(custom, list) or not all(isinstance(w, str) for w in custom):
        raise MalformedJson(f"{where}.custom: expected an array of strings")


def _stemmer(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise MalformedJson(f"{where}: expected a stemmer object")
    if value.get("type") == "none" and set(value) == {"type"}:
        return
    if value.get("type") == "snowball" and set(value) == {"type", "language"}:
        _enum(_SNOWBALL_LANGUAGES)(value["language"], f"{where}.language")
        return
    raise MalformedJson(f"{where}: expected {{type: none}} or {{type: snowball, language}}")


_CHECKS: dict[str, Callable[[Any, str], None]] = {
    "bool": _bool,
    "uint": _uint,
    "memory": _enum(_MEMORY),
    "tokenizer": _enum(_TOKENIZERS),
    "stopwords": _stopwords,
    "stemmer": _stemmer,
}
