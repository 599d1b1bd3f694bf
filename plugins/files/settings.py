"""The files plugin's settings: their JSON Schema, how an object's setting is found (its own,
else the folder's), and the field catalogue the `fields` setting gives."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from integrate import FieldInfo

OBJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")

_OBJECT_SETTINGS = {
    "file": {
        "type": "string",
        "description": "File name inside the folder (default: <object>.<format>).",
    },
    "format": {"enum": ["jsonl", "csv"], "description": "jsonl (default) or csv."},
    "id_field": {"type": "string", "description": "Field holding each record's id (default: id)."},
    "cursor_field": {
        "type": "string",
        "description": "Field holding each record's last-change time; incremental reads use it, writes set it.",
    },
    "page_size": {
        "type": "integer",
        "minimum": 1,
        "description": "Records per read page (default 500).",
    },
    "batch_size": {
        "type": "integer",
        "minimum": 1,
        "description": "Most records per write call (default 1000).",
    },
    "fields": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "uniqueItems": True,
        "description": "The object's field catalogue: when given, specs may only write these fields.",
    },
}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A folder of JSON-lines or CSV files; each file is an object.",
    "required": ["path"],
    "additionalProperties": False,
    "properties": {
        "path": {
            "type": "string",
            "minLength": 1,
            "description": "The folder (relative paths start at the spec's folder).",
        },
        **_OBJECT_SETTINGS,
        "related": {
            "type": "object",
            "description": "Related lists: {object: {list: {object: other, field: path}}}: the records of `other` whose `field` holds the record's id.",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["object", "field"],
                    "additionalProperties": False,
                    "properties": {
                        "object": {"type": "string", "pattern": OBJECT_NAME.pattern},
                        "field": {"type": "string", "minLength": 1},
                    },
                },
            },
        },
        "actions": {
            "type": "object",
            "description": "Actions records accept: {action: list field}; doing the action appends its fields to that list (e.g. {comment: comments}).",
            "additionalProperties": {"type": "string", "minLength": 1},
        },
        "objects": {
            "type": "object",
            "description": "Settings for single objects, overriding the folder-wide ones.",
            "propertyNames": {"pattern": OBJECT_NAME.pattern},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": _OBJECT_SETTINGS,
            },
        },
    },
}


def setting(config: Mapping[str, Any], obj: str, key: str, default: Any) -> Any:
    objects = config.get("objects")
    per_object = objects.get(obj, {}) if isinstance(objects, Mapping) else {}
    return per_object.get(key, config.get(key, default))


def catalogue(
    names: list[str] | None, id_field: str, cursor_field: str | None = None
) -> dict[str, FieldInfo] | None:
    """The `fields` setting as a catalogue; the id (and the change time the connector sets,
    unless listed) are on every record and cannot be written."""
    if not isinstance(names, list):
        return None
    fields = {str(name): FieldInfo(str(name)) for name in names}
    fields[id_field] = FieldInfo(id_field, read_only=True)
    if isinstance(cursor_field, str) and cursor_field not in fields:
        fields[cursor_field] = FieldInfo(cursor_field, read_only=True)
    return fields
