"""The form parsers on their own: multipart and urlencoded, every chunking, every limit, hostile input."""

from __future__ import annotations

import gc
import random
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

from covet.datastructures import FormData, UploadFile
from covet.formparsers import (
    PART_BEGIN,
    PART_DATA,
    PART_END,
    FormError,
    FormLimits,
    FormTooLarge,
    MultipartParser,
    UrlencodedParser,
    multipart_boundary,
    parse_form,
    parse_multipart,
    parse_urlencoded,
    safe_filename,
)

BOUNDARY = "xyz"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture
def collect_garbage() -> Iterator[None]:
    """Collect after the test, so a leaked file (ResourceWarning) fails the test that leaked it."""
    yield
    gc.collect()


# --- helpers --------------------------------------------------------------------------------------


def part(name: str, content: bytes, filename: str | None = None, content_type: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = f"Content-Disposition: {disposition}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return f"--{BOUNDARY}\r\n{head}\r\n".encode() + content + b"\r\n"


def multipart(*parts: bytes, preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    return preamble + b"".join(parts) + f"--{BOUNDARY}--\r\n".encode() + epilogue


def split_at(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks = []
    position = 0
    for size in sizes:
        chunks.append(data[position : position + size])
        position += size
    if position < len(data):
        chunks.append(data[position:])
    return chunks


def random_chunks(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    sizes = []
    total = 0
    while total < len(data):
        size = rng.choice([1, 2, 3, 5, 7, 11, rng.randint(1, 64)])
        sizes.append(size)
        total += size
    return split_at(data, sizes)


def events_for(chunks: list[bytes], limits: FormLimits | None = None) -> list[tuple[int, Any]]:
    """Parser events with consecutive data merged, so different chunkings compare equal."""
    parser = MultipartParser(BOUNDARY.encode(), limits or FormLimits())
    merged: list[tuple[int, Any]] = []
    for chunk in chunks:
        for kind, payload in parser.feed(chunk):
            if kind == PART_DATA and merged and merged[-1][0] == PART_DATA:
                merged[-1] = (PART_DATA, merged[-1][1] + payload)
            else:
                merged.append((kind, payload))
    parser.close()
    return merged


async def _aiter(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _describe(form: FormData) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            out.append((name, ("file", value.filename, value.content_type, value.size, await value.read())))
        else:
            out.append((name, value))
    await form.close()
    return out


def parse(
    body: bytes | list[bytes], limits: FormLimits | None = None, content_type: str = CONTENT_TYPE
) -> list[tuple[str, Any]]:
    """Parse ``body`` (bytes, or a list of chunks) with the async driver and describe the result."""
    chunks = body if isinstance(body, list) else [body]

    async def main() -> list[tuple[str, Any]]:
        form = await parse_form(_aiter(chunks), content_type, limits or FormLimits())
        return await _describe(form)

    return anyio.run(main)


def refused(body: bytes | list[bytes], limits: FormLimits | None = None, content_type: str = CONTENT_TYPE) -> FormError:
    with pytest.raises(FormError) as caught:
        parse(body, limits, content_type)
    return caught.value


# A body whose data holds every near-miss of the delimiter "\r\n--xyz": a split anywhere in it must
# neither find a false delimiter nor miss the real ones.
TRICKY = multipart(
    part("a", b"plain"),
    part("b", b"\r\n--xy\r\n-\r\r\n--x--xyz\r\n--XYZ\r"),
    part("c", b""),
    part("f", b"\r\n\r\n--" + bytes(range(256)) + b"\r", filename="data.bin", content_type="application/x-raw"),
    part("d", "é ✓".encode()),
    preamble=b"This is the preamble.\r\n",
    epilogue=b"\r\nand an epilogue --xyz\r\n",
)


# --- events and chunkings -----------------------------------------------------------------------------


def test_events_of_a_simple_form() -> None:
    body = multipart(part("a", b"1"), part("f", b"xy", filename="a.txt", content_type="text/plain"))
    assert events_for([body]) == [
        (PART_BEGIN, [(b"content-disposition", b'form-data; name="a"')]),
        (PART_DATA, b"1"),
        (PART_END, None),
        (
            PART_BEGIN,
            [(b"content-disposition", b'form-data; name="f"; filename="a.txt"'), (b"content-type", b"text/plain")],
        ),
        (PART_DATA, b"xy"),
        (PART_END, None),
    ]


def test_delimiter_split_at_every_position_gives_the_same_events() -> None:
    whole = events_for([TRICKY])
    for cut in range(1, len(TRICKY)):
        assert events_for([TRICKY[:cut], TRICKY[cut:]]) == whole, cut


def test_one_byte_chunks_give_the_same_events() -> None:
    assert events_for([bytes([byte]) for byte in TRICKY]) == events_for([TRICKY])


@pytest.mark.parametrize("seed", range(20))
def test_random_chunkings_give_the_same_form(seed: int) -> None:
    assert parse(random_chunks(TRICKY, seed)) == parse(TRICKY)


def test_tricky_body_parses_to_what_was_sent() -> None:
    assert parse(TRICKY) == [
        ("a", "plain"),
        ("b", "\r\n--xy\r\n-\r\r\n--x--xyz\r\n--XYZ\r"),
        ("c", ""),
        ("f", ("file", "data.bin", "application/x-raw", 263, b"\r\n\r\n--" + bytes(range(256)) + b"\r")),
        ("d", "é ✓"),
    ]


def test_empty_chunks_are_harmless() -> None:
    chunks = [b""] + [piece for byte in TRICKY for piece in (bytes([byte]), b"")]
    assert parse(chunks) == parse(TRICKY)


def test_parser_holds_less_than_a_delimiter_of_part_data_between_chunks() -> None:
    # Never buffering a part: fed 1 byte at a time through a 10 kB part, the parser keeps at most
    # len("\r\n--xyz") - 1 bytes of it; everything else has been handed out as data.
    body = multipart(part("f", b"a\r" * 5000, filename="big.bin"))
    parser = MultipartParser(BOUNDARY.encode())
    handed_out = 0
    for byte in body:
        for kind, payload in parser.feed(bytes([byte])):
            if kind == PART_DATA:
                handed_out += len(payload)
        assert len(parser._buffer) < len(b"\r\n--xyz") or not handed_out
    parser.close()
    assert handed_out == 10_000


def test_preamble_and_epilogue_are_ignored() -> None:
    body = multipart(part("a", b"1"), preamble=b"ignore me\r\n--not-it\r\n", epilogue=b"--xyz\r\ntrailing junk")
    assert parse(body) == [("a", "1")]


def test_body_may_start_with_the_delimiter_or_a_preamble_line() -> None:
    assert parse(multipart(part("a", b"1"))) == parse(multipart(part("a", b"1"), preamble=b"\r\n"))


def test_form_with_no_parts_is_empty() -> None:
    assert parse(b"--xyz--\r\n") == []


def test_duplicate_names_are_all_kept_in_order() -> None:
    body = multipart(part("t", b"1"), part("t", b"2"), part("u", b"3"), part("t", b"4"))
    assert parse(body) == [("t", "1"), ("t", "2"), ("u", "3"), ("t", "4")]


def test_field_charset_from_its_content_type() -> None:
    body = multipart(part("a", "café".encode("latin-1"), content_type="text/plain; charset=iso-8859-1"))
    assert parse(body) == [("a", "café")]


def test_field_with_an_unknown_charset_falls_back_to_utf8() -> None:
    body = multipart(part("a", "café".encode(), content_type="text/plain; charset=no-such-charset"))
    assert parse(body) == [("a", "café")]


def test_field_with_invalid_utf8_gets_replacement_characters() -> None:
    assert parse(multipart(part("a", b"\xff\xfe"))) == [("a", "\ufffd\ufffd")]


def test_file_without_content_type_is_octet_stream() -> None:
    assert parse(multipart(part("f", b"x", filename="a"))) == [("f", ("file", "a", "application/octet-stream", 1, b"x"))]


def test_utf8_field_names_and_filenames_are_decoded() -> None:
    body = multipart(part("prénom", b"x", filename="résumé.pdf"))
    assert parse(body)[0][0] == "prénom"
    assert parse(body)[0][1][1] == "résumé.pdf"


def test_upload_headers_are_kept() -> None:
    async def main() -> None:
        body = multipart(part("f", b"x", filename="a.txt", content_type="text/plain"))
        form = await parse_multipart(body, CONTENT_TYPE)
        upload = form["f"]
        assert isinstance(upload, UploadFile)
        assert upload.headers["Content-Type"] == "text/plain"
        assert "filename" in upload.headers["content-disposition"]
        await form.close()

    anyio.run(main)


# --- boundary -------------------------------------------------------------------------------------


def test_missing_boundary_is_refused() -> None:
    error = refused(multipart(part("a", b"1")), content_type="multipart/form-data")
    assert error.status_code == 400
    assert "boundary" in str(error)


def test_boundary_exactly_at_max_boundary_length_is_accepted() -> None:
    limits = FormLimits(max_boundary_length=10)
    assert multipart_boundary("multipart/form-data; boundary=" + "b" * 10, limits) == b"b" * 10


def test_boundary_one_past_max_boundary_length_is_refused() -> None:
    with pytest.raises(FormError) as caught:
        multipart_boundary("multipart/form-data; boundary=" + "b" * 11, FormLimits(max_boundary_length=10))
    assert caught.value.status_code == 400
    assert "max_boundary_length (10 characters)" in str(caught.value)


def test_default_boundary_limit_allows_200_and_refuses_201() -> None:
    assert multipart_boundary("multipart/form-data; boundary=" + "b" * 200)
    with pytest.raises(FormError):
        multipart_boundary("multipart/form-data; boundary=" + "b" * 201)


@pytest.mark.parametrize("boundary", ['"a\x00b"', '"a\r\nb"', '"ab "', '"é"', '"a\\"b"'])
def test_boundary_with_illegal_characters_is_refused(boundary: str) -> None:
    with pytest.raises(FormError):
        multipart_boundary(f"multipart/form-data; boundary={boundary}")


def test_quoted_boundary_with_allowed_punctuation_is_accepted() -> None:
    boundary = "----WebKitFormBoundary'()+_,-./:=? x"
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--{boundary}--\r\n'.encode()
    assert parse(body, content_type=f'multipart/form-data; boundary="{boundary}"') == [("a", "1")]


# --- malformed bodies -----------------------------------------------------------------------------


def test_body_without_its_boundary_is_refused() -> None:
    assert "does not contain its boundary" in str(refused(b"just some bytes"))


def test_empty_multipart_body_is_refused() -> None:
    assert refused(b"").status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue without end',
        b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n--xyz',
        b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n--xyz\r\n',
        b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n--xyz-',
        b'--xyz\r\nContent-Disposition: form-data; name="a"',
        b"--xyz\r\n",
        b"--xyz",
    ],
)
def test_missing_final_delimiter_is_refused(body: bytes) -> None:
    error = refused(body)
    assert error.status_code == 400
    # The same in 1-byte chunks: the verdict does not depend on how the body arrived.
    assert type(refused([bytes([byte]) for byte in body])) is type(error)


@pytest.mark.usefixtures("collect_garbage")
def test_missing_final_delimiter_closes_the_uploads_already_made() -> None:
    body = part("f", b"data", filename="a.txt") + part("g", b"no closing delimiter")
    refused(body)  # the gc fixture turns a leaked file's ResourceWarning into a failure


def test_delimiter_followed_by_garbage_is_refused() -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xyzQ\r\n--xyz--\r\n'
    assert "CRLF" in str(refused(body))


def test_part_without_content_disposition_is_refused() -> None:
    body = b"--xyz\r\nContent-Type: text/plain\r\n\r\nvalue\r\n--xyz--\r\n"
    assert "Content-Disposition" in str(refused(body))


def test_part_without_any_headers_is_refused() -> None:
    assert "Content-Disposition" in str(refused(b"--xyz\r\n\r\nvalue\r\n--xyz--\r\n"))


@pytest.mark.parametrize(
    "disposition", [b"attachment; name=\"a\"", b"form-data", b"form-data; filename=\"a.txt\"", b""]
)
def test_part_that_is_not_a_named_form_data_part_is_refused(disposition: bytes) -> None:
    body = b"--xyz\r\nContent-Disposition: " + disposition + b"\r\n\r\nv\r\n--xyz--\r\n"
    assert refused(body).status_code == 400


@pytest.mark.parametrize("line", [b"no colon here", b": empty name", b" : spaces only"])
def test_malformed_part_header_line_is_refused(line: bytes) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n' + line + b"\r\n\r\nv\r\n--xyz--\r\n"
    assert refused(body).status_code == 400


# --- part headers ---------------------------------------------------------------------------------


def _with_headers(count: int) -> bytes:
    extra = b"".join(b"X-H%d: v\r\n" % i for i in range(count - 1))
    return b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n' + extra + b"\r\nv\r\n--xyz--\r\n"


def test_part_headers_exactly_at_max_part_headers_are_accepted() -> None:
    assert parse(_with_headers(4), FormLimits(max_part_headers=4)) == [("a", "v")]


def test_too_many_part_headers_is_refused() -> None:
    error = refused(_with_headers(5), FormLimits(max_part_headers=4))
    assert error.status_code == 400
    assert "max_part_headers (4)" in str(error)


def _with_header_block(size: int) -> bytes:
    head = b'Content-Disposition: form-data; name="a"\r\nX-Pad: '
    block = head + b"p" * (size - len(head))
    assert len(block) == size
    return b"--xyz\r\n" + block + b"\r\n\r\nv\r\n--xyz--\r\n"


@pytest.mark.parametrize("chunking", ["whole", "bytes"])
def test_part_header_block_exactly_at_max_header_size_is_accepted(chunking: str) -> None:
    body = _with_header_block(100)
    chunks = [body] if chunking == "whole" else [bytes([byte]) for byte in body]
    assert parse(chunks, FormLimits(max_header_size=100)) == [("a", "v")]


@pytest.mark.parametrize("chunking", ["whole", "bytes"])
def test_oversize_part_header_block_is_refused(chunking: str) -> None:
    body = _with_header_block(101)
    chunks = [body] if chunking == "whole" else [bytes([byte]) for byte in body]
    error = refused(chunks, FormLimits(max_header_size=100))
    assert isinstance(error, FormTooLarge)
    assert error.status_code == 413
    assert "max_header_size (100 bytes)" in str(error)


def test_endless_part_header_is_refused_without_holding_it() -> None:
    # A header block that never ends is refused once it passes the limit, not at the end of the body.
    parser = MultipartParser(b"xyz", FormLimits(max_header_size=100))
    parser.feed(b'--xyz\r\nContent-Disposition: form-data; name="a"\r\nX: ')
    with pytest.raises(FormTooLarge):
        for _ in range(100):
            parser.feed(b"p")
            assert len(parser._buffer) <= 100 + 5


# --- field and file sizes -------------------------------------------------------------------------


def test_field_exactly_at_max_field_size_is_accepted() -> None:
    assert parse(multipart(part("a", b"v" * 64)), FormLimits(max_field_size=64)) == [("a", "v" * 64)]


def test_field_one_past_max_field_size_is_refused() -> None:
    error = refused(multipart(part("a", b"v" * 65)), FormLimits(max_field_size=64))
    assert error.status_code == 413
    assert str(error) == "Multipart field 'a' exceeds max_field_size (64 bytes)."


def test_field_size_is_checked_as_it_streams() -> None:
    error = refused([bytes([byte]) for byte in multipart(part("a", b"v" * 65))], FormLimits(max_field_size=64))
    assert error.status_code == 413


def test_file_exactly_at_max_file_size_is_accepted() -> None:
    result = parse(multipart(part("f", b"d" * 64, filename="a.bin")), FormLimits(max_file_size=64))
    assert result == [("f", ("file", "a.bin", "application/octet-stream", 64, b"d" * 64))]


def test_file_one_past_max_file_size_is_refused() -> None:
    error = refused(multipart(part("f", b"d" * 65, filename="a.bin")), FormLimits(max_file_size=64))
    assert error.status_code == 413
    assert str(error) == "Uploaded file 'f' exceeds max_file_size (64 bytes)."


def test_field_size_limit_does_not_apply_to_files_and_file_limit_not_to_fields() -> None:
    limits = FormLimits(max_field_size=4, max_file_size=100)
    assert parse(multipart(part("f", b"d" * 50, filename="a")), limits)[0][1][3] == 50
    limits = FormLimits(max_field_size=100, max_file_size=4)
    assert parse(multipart(part("a", b"v" * 50)), limits) == [("a", "v" * 50)]


def test_very_long_field_name_is_shortened_in_the_error() -> None:
    name = "n" * 5000
    error = refused(multipart(part(name, b"v" * 65)), FormLimits(max_field_size=64))
    assert len(str(error)) < 200


# --- counts ---------------------------------------------------------------------------------------


def test_fields_exactly_at_max_fields_are_accepted() -> None:
    body = multipart(*[part("f", b"v")] * 5, part("u", b"x", filename="a"))
    assert len(parse(body, FormLimits(max_fields=5))) == 6


def test_fields_one_past_max_fields_are_refused() -> None:
    error = refused(multipart(*[part("f", b"v")] * 6), FormLimits(max_fields=5))
    assert error.status_code == 400
    assert "max_fields (5)" in str(error)


def test_files_exactly_at_max_files_are_accepted() -> None:
    body = multipart(*[part("f", b"v", filename="a.txt")] * 5, part("field", b"x"))
    assert len(parse(body, FormLimits(max_files=5))) == 6


def test_files_one_past_max_files_are_refused() -> None:
    error = refused(multipart(*[part("f", b"v", filename="a.txt")] * 6), FormLimits(max_files=5))
    assert error.status_code == 400
    assert "max_files (5)" in str(error)


def test_default_limits_accept_1000_fields_and_refuse_1001() -> None:
    assert len(parse(multipart(*[part("f", b"v")] * 1000))) == 1000
    assert "max_fields (1000)" in str(refused(multipart(*[part("f", b"v")] * 1001)))


def test_max_files_zero_refuses_any_upload() -> None:
    assert refused(multipart(part("f", b"v", filename="a")), FormLimits(max_files=0)).status_code == 400


# --- spooling and cleanup -------------------------------------------------------------------------


class SpoolRecorder:
    """Stands in for SpooledTemporaryFile and remembers every file the parser made."""

    def __init__(self) -> None:
        self.files: list[tempfile.SpooledTemporaryFile[bytes]] = []
        self.real = tempfile.SpooledTemporaryFile

    def __call__(self, *args: Any, **kwargs: Any) -> tempfile.SpooledTemporaryFile[bytes]:
        file: tempfile.SpooledTemporaryFile[bytes] = self.real(*args, **kwargs)
        self.files.append(file)
        return file


@pytest.fixture
def spools(monkeypatch: pytest.MonkeyPatch, collect_garbage: None) -> SpoolRecorder:
    recorder = SpoolRecorder()
    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", recorder)
    return recorder


def test_small_upload_stays_in_memory_and_large_one_goes_to_disk(spools: SpoolRecorder) -> None:
    limits = FormLimits(spool_max_memory=100)
    body = multipart(part("small", b"s" * 100, filename="s"), part("large", b"l" * 101, filename="l"))

    async def main() -> None:
        form = await parse_multipart([chunk async for chunk in _aiter([body])][0], CONTENT_TYPE, limits)
        small, large = form["small"], form["large"]
        assert isinstance(small, UploadFile) and isinstance(large, UploadFile)
        assert not small.file._rolled  # type: ignore[attr-defined]
        assert large.file._rolled  # type: ignore[attr-defined]
        assert await large.read() == b"l" * 101
        await form.close()

    anyio.run(main)
    assert all(file.closed for file in spools.files)


def test_upload_rolled_over_in_small_chunks_keeps_every_byte(spools: SpoolRecorder) -> None:
    content = bytes(range(256)) * 40
    body = multipart(part("f", content, filename="a"))
    assert parse(random_chunks(body, 7), FormLimits(spool_max_memory=1000))[0][1][4] == content
    assert spools.files[0]._rolled  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "tail",
    [
        b"\r\n--xyz\r\nno-disposition: x\r\n\r\nv\r\n--xyz--\r\n",  # a later part is malformed
        b"d" * 200,  # the file grows past max_file_size
        b"",  # the body ends without its closing delimiter
    ],
)
def test_refused_form_closes_every_spooled_file(spools: SpoolRecorder, tail: bytes) -> None:
    limits = FormLimits(spool_max_memory=10, max_file_size=150)
    body = part("first", b"x" * 50, filename="a") + b'--xyz\r\nContent-Disposition: form-data; name="second"; filename="b"\r\n\r\n' + b"y" * 50 + tail
    refused([body[i : i + 16] for i in range(0, len(body), 16)], limits)
    assert len(spools.files) == 2
    assert all(file.closed for file in spools.files)


def test_cancelled_parse_closes_every_spooled_file(spools: SpoolRecorder) -> None:
    limits = FormLimits(spool_max_memory=10)

    async def stalled() -> AsyncIterator[bytes]:
        yield part("f", b"x" * 100, filename="a")[:-2]
        await anyio.sleep_forever()
        yield b""  # pragma: no cover

    async def main() -> None:
        with anyio.move_on_after(0.05):
            await parse_multipart(stalled(), CONTENT_TYPE, limits)
            raise AssertionError("the parse should have been cancelled")  # pragma: no cover

    anyio.run(main)
    assert len(spools.files) == 1
    assert spools.files[0]._rolled  # type: ignore[attr-defined]
    assert spools.files[0].closed


# --- filenames ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\win.ini", "win.ini"),
        ("C:\\x\\y.txt", "y.txt"),
        ("C:y.txt", "y.txt"),
        ("/abs/path/report.pdf", "report.pdf"),
        ("\\\\server\\share\\doc.txt", "doc.txt"),
        ("a\x00b.txt", "ab.txt"),
        ("a\x07b\x1b[31m.txt", "ab[31m.txt"),
        ("line\r\nbreak.txt", "linebreak.txt"),
        ("del\x7f\x85.txt", "del.txt"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ("  padded.txt  ", "padded.txt"),
        ("", ""),
        (".", ""),
        ("..", ""),
        ("dir/..", ""),
        ("dir/", ""),
        ("résumé.pdf", "résumé.pdf"),
        ("plain.txt", "plain.txt"),
        (".hidden", ".hidden"),
    ],
)
def test_safe_filename_defends_against_hostile_names(sent: str, kept: str) -> None:
    assert safe_filename(sent) == kept


@pytest.mark.parametrize(
    ("disposition", "kept"),
    [
        (b'filename="../../etc/passwd"', "passwd"),
        (b'filename="..\\..\\win.ini"', "win.ini"),
        (b'filename="C:\\x\\y.txt"', "y.txt"),
        (b'filename="a\x00b.txt"', "ab.txt"),
        (b'filename="a\x01\x02\x1fb.txt"', "ab.txt"),
        (b'filename=""', ""),
        (b"filename*=UTF-8''%E2%82%AC%20rates.txt", "€ rates.txt"),
        (b"filename=\"fallback.txt\"; filename*=utf-8''%C3%A9t%C3%A9.txt", "été.txt"),
        (b"filename*=UTF-8'en'..%2F..%2Fetc%2Fpasswd", "passwd"),
        (b"filename*=iso-8859-1''caf%E9.txt", "café.txt"),
        (b"filename=\"fallback.txt\"; filename*=koi8-r''x.txt", "fallback.txt"),
        (b"filename=\"fallback.txt\"; filename*=no-quotes", "fallback.txt"),
    ],
)
def test_hostile_filenames_in_a_form_are_reduced(disposition: bytes, kept: str) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="f"; ' + disposition + b"\r\n\r\nv\r\n--xyz--\r\n"
    [(name, (kind, filename, *_))] = parse(body)
    assert (name, kind, filename) == ("f", "file", kept)


# --- urlencoded -----------------------------------------------------------------------------------


def urlencoded(body: bytes | list[bytes], limits: FormLimits | None = None) -> list[tuple[str, Any]]:
    return parse(body, limits, "application/x-www-form-urlencoded")


def test_urlencoded_decodes_plus_and_percent() -> None:
    assert urlencoded(b"name=Ada+Lovelace&x=%C3%A9%26&empty=&flag") == [
        ("name", "Ada Lovelace"),
        ("x", "é&"),
        ("empty", ""),
        ("flag", ""),
    ]


def test_urlencoded_semicolon_is_not_a_separator() -> None:
    assert urlencoded(b"a=1;b=2&c=3") == [("a", "1;b=2"), ("c", "3")]


def test_urlencoded_empty_fields_are_skipped_and_not_counted() -> None:
    body = b"&" * 5000 + b"a=1" + b"&" * 5000 + b"b=2&&"
    assert urlencoded(body, FormLimits(max_fields=2)) == [("a", "1"), ("b", "2")]


def test_urlencoded_with_1000_pairs_is_accepted() -> None:
    body = "&".join(f"f{i}=v" for i in range(1000)).encode()
    assert len(urlencoded(body)) == 1000


def test_urlencoded_with_1001_pairs_is_refused() -> None:
    body = "&".join(f"f{i}=v" for i in range(1001)).encode()
    error = refused(body, content_type="application/x-www-form-urlencoded")
    assert error.status_code == 400
    assert "max_fields (1000)" in str(error)


def test_urlencoded_field_exactly_at_max_field_size_is_accepted() -> None:
    assert urlencoded(b"a=" + b"v" * 8 + b"&b=1", FormLimits(max_field_size=10)) == [("a", "v" * 8), ("b", "1")]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_urlencoded_field_one_past_max_field_size_is_refused(where: str) -> None:
    big = b"a=" + b"v" * 9
    body = {"first": big + b"&b=1", "middle": b"b=1&" + big + b"&c=2", "last": b"b=1&" + big}[where]
    error = refused(body, FormLimits(max_field_size=10), "application/x-www-form-urlencoded")
    assert error.status_code == 413
    assert "max_field_size (10 bytes)" in str(error)


def test_urlencoded_field_size_is_checked_before_the_field_ends() -> None:
    parser = UrlencodedParser(FormLimits(max_field_size=10))
    parser.feed(b"a=vvvvv")
    with pytest.raises(FormTooLarge):
        parser.feed(b"vvvv")  # 11 bytes and still no '&': refused without waiting for the rest


@pytest.mark.parametrize("seed", range(10))
def test_urlencoded_random_chunkings_give_the_same_fields(seed: int) -> None:
    body = b"a=1&b=%C3%A9t%C3%A9&&c=x+y+z&d&e=%zz&" + b"&".join(b"k%d=%d" % (i, i) for i in range(50))
    assert urlencoded(random_chunks(body, seed)) == urlencoded(body)


def test_parse_urlencoded_on_bytes() -> None:
    assert parse_urlencoded(b"a=1&a=2").getlist("a") == ["1", "2"]


def test_empty_content_type_is_read_as_urlencoded() -> None:
    assert parse(b"a=1", content_type="") == [("a", "1")]


def test_other_content_type_is_415() -> None:
    assert refused(b"{}", content_type="application/json").status_code == 415


# --- FormLimits -----------------------------------------------------------------------------------


def test_form_limits_defaults() -> None:
    limits = FormLimits()
    assert (limits.max_fields, limits.max_files, limits.max_field_size, limits.spool_max_memory) == (
        1000,
        1000,
        1024 * 1024,
        1024 * 1024,
    )
    assert limits.max_file_size == 100 * 1024 * 1024


@pytest.mark.parametrize("value", [-1, 1.5, True, "10", None])
def test_form_limits_refuse_bad_values(value: Any) -> None:
    with pytest.raises(ValueError, match="max_files"):
        FormLimits(max_files=value)


def test_form_limits_are_immutable_and_replace_derives_new_ones() -> None:
    limits = FormLimits(max_files=3)
    with pytest.raises(AttributeError, match="replace"):
        limits.max_files = 4  # type: ignore[misc]
    derived = limits.replace(max_fields=7)
    assert (derived.max_files, derived.max_fields, limits.max_fields) == (3, 7, 1000)
    assert derived == FormLimits(max_files=3, max_fields=7)
    assert hash(derived) == hash(FormLimits(max_files=3, max_fields=7))
    assert "max_fields=7" in repr(derived)
    with pytest.raises(TypeError, match="max_feilds"):
        limits.replace(max_feilds=1)
