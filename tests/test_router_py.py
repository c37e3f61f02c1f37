"""The matcher seam (``covet._router_py`` and its compiled twin), driven with hand-built segment specs."""

from __future__ import annotations

import re
import uuid
from types import ModuleType
from typing import Any

from covet.convertors import CONVERTORS, Convertor


def static(m: ModuleType, text: str) -> tuple[Any, ...]:
    return (m.STATIC, text)


def param(m: ModuleType, name: str, conv: str = "str") -> tuple[Any, ...]:
    return (m.PARAM, f"{conv}:{name}", name, CONVERTORS[conv])


def _groups(names: tuple[tuple[str, str], ...]) -> tuple[tuple[str, Convertor, int], ...]:
    # Specs name each parameter's regex group; these test regexes number them in order.
    return tuple((name, CONVERTORS[conv], index + 1) for index, (name, conv) in enumerate(names))


def pattern(m: ModuleType, key: str, regex: str, *names: tuple[str, str]) -> tuple[Any, ...]:
    return (m.PATTERN, key, re.compile(regex), _groups(names))


def tail(m: ModuleType, key: str, regex: str, *names: tuple[str, str]) -> tuple[Any, ...]:
    return (m.TAIL, key, re.compile(regex), _groups(names))


def first(m: Any, path: str) -> tuple[list[Any], dict[str, Any]] | None:
    found = m.lookup(path)
    return found[0] if found else None


# -- static and parameter segments ---------------------------------------------------------------


def test_static_path_matches_exactly(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([static(router_impl, "users"), static(router_impl, "me")], "me")
    assert m.lookup("/users/me") == [(["me"], {})]
    assert m.lookup("/users") == []
    assert m.lookup("/users/me/x") == []
    assert m.lookup("/users/you") == []


def test_root_route_is_one_empty_static_segment(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([static(router_impl, "")], "root")
    assert m.lookup("/") == [(["root"], {})]
    assert m.lookup("/x") == []


def test_param_captures_one_segment(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([static(router_impl, "users"), param(router_impl, "name")], "user")
    assert m.lookup("/users/ada") == [(["user"], {"name": "ada"})]
    assert m.lookup("/users/ada/extra") == []


def test_static_segment_is_tried_before_param_and_both_are_returned(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    # The parameter route is added first: priority still goes to the static segment.
    m.add([static(router_impl, "users"), param(router_impl, "name")], "dynamic")
    m.add([static(router_impl, "users"), static(router_impl, "me")], "static")
    assert m.lookup("/users/me") == [(["static"], {}), (["dynamic"], {"name": "me"})]
    assert m.lookup("/users/bob") == [(["dynamic"], {"name": "bob"})]


def test_static_priority_holds_per_segment(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([param(router_impl, "a"), static(router_impl, "x")], "param-first")
    m.add([static(router_impl, "s"), param(router_impl, "b")], "static-first")
    # At segment one "s" is static, so the route starting with a static segment wins.
    assert first(m, "/s/x") == (["static-first"], {"b": "x"})
    assert [values for values, _ in m.lookup("/s/x")] == [["static-first"], ["param-first"]]


def test_dynamic_siblings_keep_registration_order(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([param(router_impl, "n", "int")], "int")
    m.add([param(router_impl, "s")], "str")
    assert m.lookup("/5") == [(["int"], {"n": 5}), (["str"], {"s": "5"})]
    assert m.lookup("/abc") == [(["str"], {"s": "abc"})]


def test_same_template_twice_shares_one_leaf_in_order(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([static(router_impl, "a"), param(router_impl, "x")], "first")
    m.add([static(router_impl, "a"), param(router_impl, "x")], "second")
    assert m.lookup("/a/1") == [(["first", "second"], {"x": "1"})]


def test_params_from_several_segments_are_collected(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add(
        [
            static(router_impl, "o"),
            param(router_impl, "org"),
            static(router_impl, "r"),
            param(router_impl, "n", "int"),
        ],
        "repo",
    )
    assert m.lookup("/o/acme/r/42") == [(["repo"], {"org": "acme", "n": 42})]


# -- backtracking ----------------------------------------------------------------------------------


def test_backtracks_from_dead_static_branch_to_param(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([static(router_impl, "s"), static(router_impl, "y")], "static")
    m.add([param(router_impl, "a"), static(router_impl, "x")], "param")
    assert m.lookup("/s/x") == [(["param"], {"a": "s"})]


def test_backtracking_does_not_leak_params_between_branches(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([param(router_impl, "a"), param(router_impl, "b", "int"), static(router_impl, "z")], "dead")
    m.add([param(router_impl, "c"), static(router_impl, "q"), static(router_impl, "w")], "live")
    assert m.lookup("/k/q/w") == [(["live"], {"c": "k"})]


def test_backtracks_from_param_whose_converter_rejects(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([static(router_impl, "i"), param(router_impl, "n", "int"), static(router_impl, "x")], "int")
    m.add([static(router_impl, "i"), param(router_impl, "u", "uuid"), static(router_impl, "x")], "uuid")
    value = uuid.uuid4()
    assert m.lookup(f"/i/{value}/x") == [(["uuid"], {"u": value})]
    assert m.lookup("/i/7/x") == [(["int"], {"n": 7})]


# -- PATTERN and TAIL specs ------------------------------------------------------------------------


def test_pattern_segment_mixes_text_and_params(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add(
        [
            static(router_impl, "f"),
            pattern(router_impl, "file-<int:n>.json", r"file\-([0-9]+)\.json", ("n", "int")),
        ],
        "file",
    )
    assert m.lookup("/f/file-12.json") == [(["file"], {"n": 12})]
    assert m.lookup("/f/file-x.json") == []
    assert m.lookup("/f/file-12.jsonx") == []


def test_pattern_segment_with_two_params(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    spec = pattern(router_impl, "<str:a>.<str:b>", r"([^/]+)\.([^/]+)", ("a", "str"), ("b", "str"))
    m.add([spec], "dotted")
    assert m.lookup("/x.y") == [(["dotted"], {"a": "x", "b": "y"})]


def test_pattern_is_tried_after_static_and_matches_when_static_fails(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([pattern(router_impl, "v<int:n>", r"v([0-9]+)", ("n", "int"))], "versioned")
    m.add([static(router_impl, "v1")], "static")
    assert [values for values, _ in m.lookup("/v1")] == [["static"], ["versioned"]]
    assert m.lookup("/v2") == [(["versioned"], {"n": 2})]


def test_pattern_converter_rejection_is_no_match(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([pattern(router_impl, "n<int:n>", r"n([0-9]+)", ("n", "int"))], "n")
    assert m.lookup("/n" + "9" * 5000) == []


def test_tail_spans_slashes(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([static(router_impl, "files"), tail(router_impl, "<path:p>", "(.+)", ("p", "path"))], "files")
    assert m.lookup("/files/a/b/c.txt") == [(["files"], {"p": "a/b/c.txt"})]
    assert m.lookup("/files/x") == [(["files"], {"p": "x"})]
    assert m.lookup("/files") == []


def test_tail_with_static_suffix(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([static(router_impl, "r"), tail(router_impl, "<path:p>/edit", "(.+)/edit", ("p", "path"))], "edit")
    assert m.lookup("/r/a/b/edit") == [(["edit"], {"p": "a/b"})]
    assert m.lookup("/r/a/b") == []


def test_tail_keeps_empty_segments_inside_the_path(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([static(router_impl, "files"), tail(router_impl, "<path:p>", "(.+)", ("p", "path"))], "files")
    assert m.lookup("/files/a//b/") == [(["files"], {"p": "a//b/"})]


def test_tail_comes_after_static_siblings(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([tail(router_impl, "<path:p>", "(.+)", ("p", "path"))], "catch-all")
    m.add([static(router_impl, "about")], "about")
    assert [values for values, _ in m.lookup("/about")] == [["about"], ["catch-all"]]


# -- empty segments and trailing slashes -----------------------------------------------------------


def test_double_slash_is_an_empty_segment_not_a_param(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([param(router_impl, "a"), static(router_impl, "x")], "param")
    assert m.lookup("//x") == []
    m.add([static(router_impl, ""), static(router_impl, "x")], "empty")
    assert m.lookup("//x") == [(["empty"], {})]


def test_trailing_slash_is_a_distinct_empty_segment(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([static(router_impl, "a")], "no-slash")
    m.add([static(router_impl, "b"), static(router_impl, "")], "slash")
    assert m.lookup("/a") == [(["no-slash"], {})]
    assert m.lookup("/a/") == []
    assert m.lookup("/b/") == [(["slash"], {})]
    assert m.lookup("/b") == []


def test_param_never_matches_an_empty_segment(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([static(router_impl, "u"), param(router_impl, "name")], "user")
    assert m.lookup("/u/") == []


# -- converters ------------------------------------------------------------------------------------


def test_int_param_rejects_non_digits(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([param(router_impl, "n", "int")], "int")
    for bad in ("-1", "abc", "1.5", "+1", " 1", "１"):
        assert m.lookup(f"/{bad}") == [], bad
    assert m.lookup("/007") == [(["int"], {"n": 7})]


def test_float_param_rejects_exponents_and_specials(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([param(router_impl, "x", "float")], "float")
    for bad in ("1e5", "nan", "inf", "-1.0", ".5", "1.", "1" * 400):
        assert m.lookup(f"/{bad}") == [], bad
    assert m.lookup("/2.5") == [(["float"], {"x": 2.5})]


def test_uuid_param_converts_and_rejects(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([param(router_impl, "u", "uuid")], "uuid")
    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert m.lookup(f"/{value}") == [(["uuid"], {"u": value})]
    assert m.lookup("/12345678-1234-5678-1234-56781234567") == []
    assert m.lookup("/g2345678-1234-5678-1234-567812345678") == []


def test_custom_converter_raising_value_error_is_no_match(router_impl: ModuleType) -> None:
    class Even(Convertor):
        regex = "[0-9]+"

        def convert(self, value: str) -> int:
            number = int(value)
            if number % 2:
                raise ValueError("odd")
            return number

    m = router_impl.Matcher()
    m.add([(router_impl.PARAM, "even:n", "n", Even())], "even")
    m.add([param(router_impl, "s")], "fallback")
    assert m.lookup("/4") == [(["even"], {"n": 4}), (["fallback"], {"s": "4"})]
    assert m.lookup("/3") == [(["fallback"], {"s": "3"})]


def test_overlong_int_segment_is_no_match_not_an_error(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([param(router_impl, "n", "int")], "int")
    assert m.lookup("/" + "9" * 100_000) == []


def test_overlong_str_segment_still_matches(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([param(router_impl, "s")], "str")
    long = "a" * 200_000
    assert m.lookup("/" + long) == [(["str"], {"s": long})]


def test_deep_path_with_many_segments_is_no_match(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    m.add([param(router_impl, "a"), param(router_impl, "b")], "two")
    assert m.lookup("/x" * 50_000) == []


# -- many routes -----------------------------------------------------------------------------------


def test_many_static_and_param_routes(router_impl: ModuleType) -> None:
    m = router_impl.Matcher()
    for i in range(1000):
        m.add([static(router_impl, f"r{i}"), param(router_impl, "n", "int")], i)
    assert m.lookup("/r0/1") == [([0], {"n": 1})]
    assert m.lookup("/r999/5") == [([999], {"n": 5})]
    assert m.lookup("/r1000/5") == []


def test_many_pattern_siblings_beyond_regex_group_limits(router_impl: ModuleType) -> None:
    # A combined-regex twin must split its alternatives (Python's re allows only so many groups).
    m = router_impl.Matcher()
    for i in range(250):
        m.add([pattern(router_impl, f"p{i}-<int:n>", rf"p{i}\-([0-9]+)", ("n", "int"))], i)
    assert m.lookup("/p0-1") == [([0], {"n": 1})]
    assert m.lookup("/p123-7") == [([123], {"n": 7})]
    assert m.lookup("/p249-9") == [([249], {"n": 9})]
    assert m.lookup("/p250-9") == []


def test_int_segments_are_ascii_digits_only(router_impl: ModuleType) -> None:
    # The stock int converter is checked without its regex; it must still mean exactly [0-9]+.
    m = router_impl.Matcher()
    m.add([param(router_impl, "n", "int")], "int")
    assert m.lookup("/0042") == [(["int"], {"n": 42})]
    for segment in ("١٢", "²", "-1", "+1", "1.0", " 1", "1_0", "", "x"):
        assert m.lookup(f"/{segment}") == [], segment


def test_converter_subclasses_that_change_the_regex_or_conversion_keep_their_rules(router_impl: ModuleType) -> None:
    from covet.convertors import IntegerConvertor, StringConvertor

    class Lower(StringConvertor):
        regex = "[a-z]+"

    class Doubled(IntegerConvertor):
        def convert(self, value: str) -> int:
            return int(value) * 2

    m = router_impl.Matcher()
    m.add([static(router_impl, "l"), (router_impl.PARAM, "lower:w", "w", Lower())], "lower")
    m.add([static(router_impl, "d"), (router_impl.PARAM, "doubled:n", "n", Doubled())], "doubled")
    assert m.lookup("/l/abc") == [(["lower"], {"w": "abc"})]
    assert m.lookup("/l/ABC") == []
    assert m.lookup("/d/21") == [(["doubled"], {"n": 42})]
