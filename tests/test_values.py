"""covet._values: list headers as RFC 9110 writes them, and blank form fields."""

from __future__ import annotations

import time

import pytest

from covet._values import drop_blank, split_list_header


@pytest.mark.parametrize(
    ("lines", "items"),
    [
        (["a,b"], ["a", "b"]),
        (["a, b", "c"], ["a", "b", "c"]),
        ([" a ,\tb\t"], ["a", "b"]),
        (["a,,b", ",", ""], ["a", "b"]),
        (['"x,y", z'], ['"x,y"', "z"]),
        (['"a\\",b", c'], ['"a\\",b"', "c"]),
        (['"open, never closed'], ['"open, never closed']),
        ([], []),
    ],
)
def test_split_list_header(lines: list[str], items: list[str]) -> None:
    assert split_list_header(lines) == items


def test_split_list_header_quadratic_input_runs_in_linear_time() -> None:
    hostile = ['"' + "\\," * 200_000] + [",a" * 100_000]
    start = time.perf_counter()
    split_list_header(hostile)
    assert time.perf_counter() - start < 2.0


def test_drop_blank() -> None:
    assert drop_blank("") is None
    assert drop_blank("x") == "x"
    assert drop_blank(["", "1", ""]) == ["1"]
    assert drop_blank(["", ""]) is None
    assert drop_blank(None) is None
