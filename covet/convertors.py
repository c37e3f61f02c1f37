"""Path parameter converters: ``str`` (default), ``int``, ``float``, ``path`` and ``uuid``.

A converter owns three facts about a path parameter: the regex a segment must match, how the
matched text becomes a Python value, and how a value is written back by ``url_for``. A segment that
does not match the regex is simply not this route, so a bad value is a 404, never a 500.
"""

from __future__ import annotations

import math
import re
import uuid
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

__all__ = [
    "Convertor",
    "StringConvertor",
    "IntegerConvertor",
    "FloatConvertor",
    "PathConvertor",
    "UUIDConvertor",
    "CONVERTORS",
    "register_convertor",
]


class Convertor:
    """Base class: subclass it and pass the subclass to :func:`register_convertor`."""

    regex: ClassVar[str] = "[^/]+"
    #: The Python type the converter produces (used to match handler annotations).
    python_type: ClassVar[type] = str
    #: Whether the value may span several path segments.
    multi_segment: ClassVar[bool] = False
    #: ``regex`` compiled once per class (set by ``__init_subclass__``).
    pattern: ClassVar[re.Pattern[str]] = re.compile("[^/]+")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.pattern = re.compile(cls.regex)

    def convert(self, value: str) -> Any:
        """Turn matched text into a value; raise ``ValueError`` to make the route not match."""
        return value

    def to_string(self, value: Any) -> str:
        """Write a value back into a path (used by ``url_for``)."""
        text = str(value)
        if not text:
            raise ValueError("path parameters cannot be empty strings")
        return quote(text, safe="")


class StringConvertor(Convertor):
    regex = "[^/]+"
    python_type = str


class IntegerConvertor(Convertor):
    regex = "[0-9]+"
    python_type = int

    def convert(self, value: str) -> int:
        # An unbounded digit string would make int() quadratic; Python caps it at 4300 digits and
        # raises ValueError, which the router turns into "no match".
        return int(value)

    def to_string(self, value: Any) -> str:
        number = int(value)
        if number < 0:
            raise ValueError(f"int path parameters must be non-negative, got {value!r}")
        return str(number)


class FloatConvertor(Convertor):
    regex = r"[0-9]+(?:\.[0-9]+)?"
    python_type = float

    def convert(self, value: str) -> float:
        number = float(value)
        if not math.isfinite(number):
            raise ValueError("infinite float")
        return number

    def to_string(self, value: Any) -> str:
        number = float(value)
        if number < 0 or not math.isfinite(number):
            raise ValueError(f"float path parameters must be finite and >= 0, got {value!r}")
        if number == int(number):
            return str(int(number))
        # Positional notation only: an exponent ("1e-05") would not match this converter's regex.
        text = format(Decimal(repr(number)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text


class PathConvertor(Convertor):
    regex = "(?s:.+)"  # any character, newlines included (a decoded %0A is still path text)
    python_type = str
    multi_segment = True

    def to_string(self, value: Any) -> str:
        text = str(value)
        if not text:
            raise ValueError("path parameters cannot be empty strings")
        return quote(text, safe="/")


class UUIDConvertor(Convertor):
    regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    python_type = uuid.UUID

    def convert(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_string(self, value: Any) -> str:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


CONVERTORS: dict[str, Convertor] = {
    "str": StringConvertor(),
    "string": StringConvertor(),
    "int": IntegerConvertor(),
    "float": FloatConvertor(),
    "path": PathConvertor(),
    "uuid": UUIDConvertor(),
}


def register_convertor(name: str, convertor: Convertor) -> None:
    """Make ``<name:param>`` and ``{param:name}`` available in every route path.

    Example::

        class Slug(Convertor):
            regex = "[a-z0-9-]+"
        register_convertor("slug", Slug())
    """
    if not isinstance(convertor, Convertor):
        raise TypeError(
            f"register_convertor({name!r}, ...) needs a covet.convertors.Convertor instance, "
            f"got {convertor!r}"
        )
    CONVERTORS[name] = convertor
