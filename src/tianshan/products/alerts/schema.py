"""The JSON schema of alert messages (``alert.schema.json``) and its validation.

The schema file is package data, the single definition of the wire format. When the
``jsonschema`` package is installed it validates (Draft 2020-12); otherwise a small
validator here interprets the same file. It implements exactly the keywords the file
uses -- ``type``, ``const``, ``enum``, ``properties``, ``required``,
``additionalProperties`` (boolean), ``items``, ``prefixItems``, ``minItems``,
``maxItems``, ``minLength``, ``maxLength``, ``pattern``, ``minimum``, ``maximum``,
``format: date-time`` and local ``$ref`` (``#/$defs/...``) -- with the semantics of
JSON Schema 2020-12 (https://json-schema.org/draft/2020-12/json-schema-validation);
:func:`_check_keywords` refuses a schema that uses any other keyword, so the two
validators cannot silently disagree.

JSON text is parsed with NaN/Infinity refused (they are not JSON, RFC 8259 section 6).
"""

from __future__ import annotations

import functools
import json
import math
import re
from datetime import datetime
from importlib import resources

from tianshan.core.errors import InputError

SCHEMA_FILE = "alert.schema.json"

_SUPPORTED = {"$schema", "$id", "title", "description", "type", "const", "enum", "properties", "required",
              "additionalProperties", "items", "prefixItems", "minItems", "maxItems", "minLength", "maxLength",
              "pattern", "minimum", "maximum", "format", "$ref", "$defs"}


@functools.lru_cache(maxsize=1)
def load_schema() -> dict:
    """The alert message schema (a dict; do not modify it)."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema = json.loads(text)
    _check_keywords(schema)
    return schema


def _check_keywords(node, path: str = "#") -> None:
    if isinstance(node, dict):
        unknown = set(node) - _SUPPORTED
        if unknown and not path.endswith(("/properties", "/$defs")):
            raise ValueError(f"alert schema {path}: keywords not supported by the fallback validator: "
                             f"{sorted(unknown)}")
        for k, v in node.items():
            _check_keywords(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _check_keywords(v, f"{path}/{i}")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes | str, source: str = "alert message"):
    """Parse JSON text strictly (no NaN/Infinity); :class:`InputError` when it is not JSON."""
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise InputError(f"not JSON ({err})", source=source) from None


def validation_errors(doc, schema: dict | None = None) -> list[str]:
    """Messages (``path: problem``) for every way ``doc`` breaks the schema; empty when valid."""
    schema = load_schema() if schema is None else schema
    try:
        import jsonschema  # optional
    except ImportError:
        errors: list[str] = []
        _validate(doc, schema, schema, "$", errors)
        return errors
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"$/{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


def validate(doc, source: str = "alert message") -> None:
    """Raise :class:`InputError` (first few problems in the message) unless ``doc`` is valid."""
    errors = validation_errors(doc)
    if errors:
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        raise InputError("does not match the alert schema: " + "; ".join(errors[:3]) + more, source=source)


# --------------------------------------------------------------------------- fallback validator

def _is_type(value, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and math.isfinite(value) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    raise ValueError(f"unknown JSON type {name!r}")


def _resolve(root: dict, ref: str) -> dict:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $ref supported, got {ref!r}")
    node = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _date_time_ok(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
        return True
    except ValueError:
        # Python 3.11 fromisoformat accepts at most 6 fractional digits; the pattern allows 9.
        m = re.match(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d{7,9})(.*)$", text)
        if not m:
            return False
        try:
            datetime.fromisoformat(m.group(1) + m.group(2)[:7] + m.group(3).replace("Z", "+00:00"))
            return True
        except ValueError:
            return False


def _validate(value, schema: dict, root: dict, path: str, errors: list[str]) -> None:
    if "$ref" in schema:
        _validate(value, _resolve(root, schema["$ref"]), root, path, errors)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, t) for t in types):
            errors.append(f"{path}: expected {' or '.join(types)}, got {type(value).__name__}")
            return
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: must be {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            errors.append(f"{path}: not a finite number")
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} is less than the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} is greater than the maximum {schema['maximum']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{path}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: longer than {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value[:60]!r} does not match {schema['pattern']}")
        if schema.get("format") == "date-time" and not _date_time_ok(value):
            errors.append(f"{path}: {value[:60]!r} is not an RFC 3339 date-time")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                errors.append(f"{path}: missing required property {name!r}")
        for name, v in value.items():
            if name in props:
                _validate(v, props[name], root, f"{path}/{name}", errors)
            elif schema.get("additionalProperties", True) is False:
                errors.append(f"{path}: unexpected property {str(name)[:60]!r}")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: more than {schema['maxItems']} items")
            return
        prefix = schema.get("prefixItems", [])
        for i, v in enumerate(value):
            if i < len(prefix):
                _validate(v, prefix[i], root, f"{path}/{i}", errors)
            elif "items" in schema:
                _validate(v, schema["items"], root, f"{path}/{i}", errors)
