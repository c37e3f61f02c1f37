"""Every problem in a JSON body, not just the first: run only after msgspec rejected the body.

msgspec's decoder stops at the first invalid value, which keeps valid bodies fast. When it fails,
:func:`body_errors` decodes the body again without a type and checks it piece by piece against the
body type (each field of a model, each item of a list, each value of a dict), so the 422 lists
every bad field at once, as the docs promise. Valid requests never come here.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import msgspec

from .params import validation_error

__all__ = ["body_errors", "MAX_BODY_ERRORS"]

#: At most this many problems are listed for one body, so a huge bad body gets a bounded answer.
MAX_BODY_ERRORS = 100
#: Deeper than this the remaining value is checked as a whole (one problem at most).
_MAX_DEPTH = 32
#: Items of a list or dict checked together before looking at them one by one.
_CHUNK = 64


def body_errors(annotation: Any, body: bytes, first: msgspec.ValidationError, loc: list[Any]) -> list[dict[str, Any]]:
    """The ``{"loc", "msg", "type"}`` entries for ``body`` against ``annotation``.

    ``first`` is the error msgspec raised; it is always listed (first, when the walk does not find
    it at the same place), and alone when the walk finds nothing more precise (a check in
    ``__post_init__``, a constraint on a whole list).
    """
    entry = validation_error(first, loc)
    try:
        data = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # pragma: no cover - decoded once already
        return [entry]
    found: list[dict[str, Any]] = []
    _check(annotation, data, list(loc), found, 0)
    if not found:
        return [entry]
    # msgspec's own error names no dict key ("$[...]"), so the walk's entry for it is the better one.
    if "[...]" not in str(first) and all(other["loc"] != entry["loc"] for other in found):
        found.insert(0, entry)
    return found[:MAX_BODY_ERRORS]


def _check(annotation: Any, value: Any, loc: list[Any], found: list[dict[str, Any]], depth: int) -> None:
    if len(found) >= MAX_BODY_ERRORS:
        return
    try:
        msgspec.convert(value, annotation, strict=False)
        return
    except msgspec.ValidationError as exc:
        before = len(found)
        if depth < _MAX_DEPTH:
            _check_parts(annotation, value, loc, found, depth + 1)
        if len(found) == before:
            found.append(validation_error(exc, loc))
        else:
            _check_own_constraints(annotation, value, loc, found, before)


def _check_own_constraints(
    annotation: Any, value: Any, loc: list[Any], found: list[dict[str, Any]], at: int
) -> None:
    """A collection's own constraints (``max_length``...), which msgspec checks after its items."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return
    base, *metas = typing.get_args(annotation)
    origin = typing.get_origin(base)
    if origin in (list, set, frozenset, tuple):
        loose: Any = list[Any]
    elif origin is dict:
        loose = dict[Any, Any]
    else:
        return
    try:
        msgspec.convert(value, typing.Annotated.__class_getitem__((loose, *metas)), strict=False)
    except msgspec.ValidationError as exc:
        found.insert(at, validation_error(exc, loc))
    except TypeError:  # pragma: no cover - a constraint that needs the item type
        pass


def _check_parts(annotation: Any, value: Any, loc: list[Any], found: list[dict[str, Any]], depth: int) -> None:
    """Check the parts of ``value`` one by one, when the type says what the parts are."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(members) == 1 and value is not None:
            _check_parts(members[0], value, loc, found, depth)
        return
    if isinstance(value, dict) and isinstance(annotation, type):
        fields = _fields(annotation)
        if fields is not None:
            known: set[str] = set()
            for key, field_type, required in fields:
                known.add(key)
                if key in value:
                    _check(field_type, value[key], [*loc, key], found, depth)
                elif required:
                    found.append({"loc": [*loc, key], "msg": "Field required", "type": "missing"})
            config = getattr(annotation, "__struct_config__", None)
            if config is not None and config.forbid_unknown_fields:
                if isinstance(config.tag_field, str):
                    known.add(config.tag_field)
                for key in value:
                    if key not in known:
                        message = f"Object contains unknown field `{key}`"
                        found.append({"loc": [*loc, key], "msg": message, "type": "value_error"})
            return
    args = typing.get_args(annotation)
    if origin in (list, set, frozenset) and isinstance(value, list) and len(args) == 1:
        _check_items(args[0], list(enumerate(value)), loc, found, depth)
    elif origin is tuple and isinstance(value, list) and args:
        if len(args) == 2 and args[1] is ...:
            _check_items(args[0], list(enumerate(value)), loc, found, depth)
        elif len(args) == len(value):
            for index, (item_type, item) in enumerate(zip(args, value)):
                _check(item_type, item, [*loc, index], found, depth)
    elif origin is dict and isinstance(value, dict) and len(args) == 2:
        _check_items(args[1], list(value.items()), loc, found, depth)


def _check_items(item_type: Any, items: list[tuple[Any, Any]], loc: list[Any], found: list[dict[str, Any]], depth: int) -> None:
    """Check a collection's items, a chunk at a time: only a chunk that fails is checked item by
    item, so a long list with one bad item near the end costs a few conversions in C, not one
    Python call per item (a hostile body gets no more than a bounded amount of extra work)."""
    chunk_type = list[item_type]
    for start in range(0, len(items), _CHUNK):
        if len(found) >= MAX_BODY_ERRORS:
            return
        chunk = items[start : start + _CHUNK]
        try:
            msgspec.convert([item for _, item in chunk], chunk_type, strict=False)
            continue
        except msgspec.ValidationError:
            pass
        for key, item in chunk:
            _check(item_type, item, [*loc, key], found, depth)


def _fields(cls: type) -> list[tuple[str, Any, bool]] | None:
    """``(JSON key, type, required)`` per field of a Struct, dataclass or TypedDict, else None."""
    if issubclass(cls, msgspec.Struct):
        if cls.__struct_config__.array_like:
            return None
        return [(f.encode_name, f.type, f.required) for f in msgspec.structs.fields(cls)]
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls, include_extras=True)
        return [
            (
                f.name,
                hints.get(f.name, Any),
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            )
            for f in dataclasses.fields(cls)
            if f.init
        ]
    if typing.is_typeddict(cls):
        hints = typing.get_type_hints(cls, include_extras=True)
        required = getattr(cls, "__required_keys__", frozenset(hints))
        return [(name, hint, name in required) for name, hint in hints.items()]
    return None
