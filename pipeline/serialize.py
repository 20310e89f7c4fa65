"""JSON round trip for the record dataclasses, driven by their type hints.

Fields marked transient (audio arrays) are left out; they come back as their defaults.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.metadata.get("transient")
        }
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        items = sorted(value) if isinstance(value, (frozenset, set)) else value
        return [to_jsonable(v) for v in items]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def from_jsonable(cls: type[T], data: Any) -> T:
    return _decode(cls, data)


def dumps(record: Any) -> str:
    return json.dumps(to_jsonable(record), ensure_ascii=False, sort_keys=True)


def loads(cls: type[T], text: str) -> T:
    return from_jsonable(cls, json.loads(text))


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        return _decode(non_none[0], data) if len(non_none) == 1 else data
    if origin is typing.Literal or tp is Any:
        return data
    if origin is list:
        return [_decode(args[0], v) for v in data] if args else list(data)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in data)
        return (
            tuple(_decode(a, v) for a, v in zip(args, data, strict=True)) if args else tuple(data)
        )
    if origin in (frozenset, set):
        return frozenset(_decode(args[0], v) for v in data)
    if origin is dict:
        return {k: _decode(args[1], v) for k, v in data.items()}
    if dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {
            f.name: _decode(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.name in data and not f.metadata.get("transient")
        }
        return tp(**kwargs)
    if tp is float and isinstance(data, int):
        return float(data)
    return data
