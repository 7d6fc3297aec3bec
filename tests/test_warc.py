"""WARC writing (warcio, SHA-256) and strict reading, against peer vectors and tampering."""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import os
import random
import subprocess
import sys
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from warcio.archiveiterator import ArchiveIterator

from custody.errors import ExitCode, InputError, IntegrityError, StorageError
from custody.warc import (
    NotAWarcError,
    Severity,
    WarcFault,
    WarcHeaderError,
    WarcIntegrityError,
    WarcReport,
    WarcType,
    WarcWriter,
    WrittenRecord,
    _Sha256WARCWriter,  # the override guards warcio's own digests
    check_warc,
    verify_warc,
    warc_fields,
)

from .conftest import VECTORS

WARC_VECTORS = VECTORS / "warc"
WARCIO_CLI = Path(sys.executable).with_name("warcio")
needs_vectors = pytest.mark.skipif(
    not WARC_VECTORS.is_dir(), reason=f"peer WARC vectors not present at {WARC_VECTORS}"
)
F = WarcFault
WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
BODY = b"<!doctype html><title>x</title>" + bytes(range(256)) * 40


def _ids() -> Callable[[], str]:
    counter = itertools.count()
    return lambda: f"urn:uuid:00000000-0000-4000-8000-{next(counter):012d}"


def _write_case(out: io.BytesIO, *, compress: bool = True, big: int = 24) -> list[WrittenRecord]:
    """warcinfo, request, response, a resource of ``big`` times 64 KiB and a metadata record."""
    w = WarcWriter(out, gzip=compress, now=lambda: WHEN, new_id=_ids())
    info = w.write_warcinfo({"software": "custody-test", "format": "WARC File Format 1.1"})
    req = w.write_request(
        "https://example.com/a?b=c",
        request_line="GET /a?b=c HTTP/1.1",
        headers=[("Host", "example.com"), ("Accept", "*/*")],
    )
    resp = w.write_response(
        "https://example.com/a?b=c",
        status_line="HTTP/1.1 200 OK",
        headers=[("Content-Type", "text/html"), ("X-Latin", "café")],
        body=io.BytesIO(BODY),
        ip_address="93.184.216.34",
        concurrent_to=[req.record_id],
        warc_headers=[("WARC-Protocol", "h2")],
    )
    image = io.BytesIO(random.Random(7).randbytes(1 << 16) * big)
    shot = w.write_resource("urn:custody:screenshot:1", image, content_type="image/png")
    meta = w.write_metadata("https://example.com/a?b=c", b"via: x\r\n", refers_to=resp.record_id)
    return [info, req, resp, shot, meta]


@pytest.fixture(scope="module")
def case_gz() -> tuple[bytes, list[WrittenRecord]]:
    out = io.BytesIO()
    records = _write_case(out)
    return out.getvalue(), records


@pytest.fixture(scope="module")
def case_plain() -> tuple[bytes, list[WrittenRecord]]:
    out = io.BytesIO()
    records = _write_case(out, compress=False, big=2)
    return out.getvalue(), records


def _verify(data: bytes, *, own: bool = False) -> WarcReport:
    return verify_warc(io.BytesIO(data), own=own)


def _kinds(report: WarcReport) -> set[WarcFault]:
    return {f.kind for f in report.findings if f.severity is Severity.ERROR}


# --- writing -----------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["case_gz", "case_plain"])
def test_round_trip_is_clean(fixture: str, request: pytest.FixtureRequest) -> None:
    data, records = request.getfixturevalue(fixture)
    report = _verify(data, own=True)
    assert report.findings == ()
    assert report.records == len(records) == 5
    assert [r.record_type for r in records] == [
        WarcType.WARCINFO,
        WarcType.REQUEST,
        WarcType.RESPONSE,
        WarcType.RESOURCE,
        WarcType.METADATA,
    ]
    assert report.gzip is (fixture == "case_gz")


def test_written_records_locate_and_commit_to_each_record(
    case_gz: tuple[bytes, list[WrittenRecord]],
) -> None:
    data, records = case_gz
    assert records[0].offset == 0
    for prev, rec in itertools.pairwise(records):
        assert rec.offset == prev.offset + prev.length
    assert records[-1].offset + records[-1].length == len(data)
    for rec in records:
        member = gzip.decompress(data[rec.offset : rec.offset + rec.length])
        head, _, rest = member.partition(b"\r\n\r\n")
        assert head.startswith(b"WARC/1.1\r\n")
        assert f"WARC-Record-ID: {rec.record_id}".encode() in head
        assert f"WARC-Type: {rec.record_type}".encode() in head
        length = int(head.rsplit(b"Content-Length: ", 1)[1])
        assert rest[length:] == b"\r\n\r\n"
        assert hashlib.sha256(rest[:length]).hexdigest() == rec.block_sha256
        assert hashlib.sha256(data[rec.offset : rec.offset + rec.length]).hexdigest() == rec.sha256


def test_warcio_reads_our_digests(case_gz: tuple[bytes, list[WrittenRecord]]) -> None:
    data, records = case_gz
    seen = []
    for rec in ArchiveIterator(io.BytesIO(data), check_digests=True):
        rec.content_stream().read()
        assert rec.digest_checker.passed is not False, rec.digest_checker.problems
        assert rec.rec_headers.get_header("WARC-Block-Digest").startswith("sha256:")
        seen.append(rec.rec_headers.get_header("WARC-Record-ID"))
    assert seen == [r.record_id for r in records]


def test_warcio_check_accepts_what_we_write(
    tmp_path: Path, case_gz: tuple[bytes, list[WrittenRecord]]
) -> None:
    path = tmp_path / "case.warc.gz"
    path.write_bytes(case_gz[0])
    done = subprocess.run(
        [str(WARCIO_CLI), "check", "-v", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("digest pass") == 5, done.stdout


def test_output_is_deterministic_with_injected_clock_and_ids() -> None:
    first, second = io.BytesIO(), io.BytesIO()
    assert _write_case(first) == _write_case(second)
    assert first.getvalue() == second.getvalue()


def test_plain_record_bytes_are_exact() -> None:
    out = io.BytesIO()
    w = WarcWriter(out, gzip=False, now=lambda: WHEN, new_id=lambda: "urn:uuid:1")
    record = w.write_resource("urn:x", b"hi", content_type="text/plain")
    digest = "sha256:R5BUGRTER5VZNX4J3WUQDRIXNMIKNWBZMHOTYGWIRNM3FXBSPKSA===="  # base32
    assert (
        record.block_sha256
        == hashlib.sha256(b"hi").hexdigest()
        == ("8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4")
    )
    assert (
        out.getvalue()
        == (
            "WARC/1.1\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:uuid:1>\r\n"
            "WARC-Date: 2024-05-06T07:08:09Z\r\nWARC-Target-URI: urn:x\r\n"
            f"WARC-Payload-Digest: {digest}\r\nWARC-Block-Digest: {digest}\r\n"
            "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n"
        ).encode()
    )


def test_dates_are_utc_with_microseconds_when_present() -> None:
    out = io.BytesIO()
    local = datetime(2024, 5, 6, 9, 8, 9, 250, tzinfo=timezone(timedelta(hours=2)))
    w = WarcWriter(out, gzip=False, now=lambda: local, new_id=_ids())
    w.write_resource("urn:x", b"", content_type="text/plain")
    assert b"WARC-Date: 2024-05-06T07:08:09.000250Z\r\n" in out.getvalue()
    assert _verify(out.getvalue(), own=True).findings == ()
    with pytest.raises(ValueError, match="aware"):
        WarcWriter(io.BytesIO(), now=lambda: datetime(2024, 1, 1)).write_warcinfo({})  # noqa: DTZ001


def test_unseekable_body_is_spooled_with_the_same_digests() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, BODY)  # smaller than a pipe buffer
    os.close(write_end)
    seekable, piped = io.BytesIO(), io.BytesIO()
    a = WarcWriter(seekable, now=lambda: WHEN, new_id=_ids())
    b = WarcWriter(piped, now=lambda: WHEN, new_id=_ids())
    a.write_resource("urn:x", io.BytesIO(BODY), content_type="application/octet-stream")
    with os.fdopen(read_end, "rb") as pipe:
        assert not pipe.seekable()
        b.write_resource("urn:x", pipe, content_type="application/octet-stream")
    assert seekable.getvalue() == piped.getvalue()


def test_body_that_changes_while_written_raises() -> None:
    class Shifty(io.BytesIO):
        def seek(self, pos: int, whence: int = 0) -> int:
            result = super().seek(pos, whence)
            self.getbuffer()[0] ^= 1  # a different byte on every pass
            return result

    w = WarcWriter(io.BytesIO(), now=lambda: WHEN, new_id=_ids())
    with pytest.raises(StorageError, match="changed"):
        w.write_resource("urn:x", Shifty(b"abc"), content_type="text/plain")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda w: w.write_resource("http://x/a b", b"", content_type="text/plain"),
            "URI",
            id="space-in-uri",
        ),
        pytest.param(
            lambda w: w.write_resource("relative/path", b"", content_type="text/plain"),
            "URI",
            id="relative-uri",
        ),
        pytest.param(
            lambda w: w.write_resource("http://x/?a=?utf-8?Q?x", b"", content_type="text/plain"),
            "encoded-word",
            id="malformed-encoded-word",
        ),
        pytest.param(
            lambda w: w.write_response(
                "http://x/", status_line="HTTP/1.1 200 OK", headers=[("A", "1\r\nB: 2")], body=b""
            ),
            "control",
            id="crlf-injection-in-http-header",
        ),
        pytest.param(
            lambda w: w.write_request(
                "http://x/", request_line="GET / HTTP/1.1", headers=[("Bad Name", "1")]
            ),
            "field name",
            id="http-header-name-not-a-token",
        ),
        pytest.param(
            lambda w: w.write_resource(
                "urn:x", b"", content_type="text/plain", warc_headers=[("WARC-Type", "response")]
            ),
            "set by the writer",
            id="reserved-warc-header",
        ),
        pytest.param(
            lambda w: w.write_response(
                "http://x/",
                status_line="HTTP/1.1 200 OK",
                headers=[],
                body=b"",
                concurrent_to=["urn:uuid:1"],
            ),
            "<URI>",
            id="concurrent-to-without-brackets",
        ),
        pytest.param(lambda w: w.write_warcinfo({"a:b": "c"}), "field name", id="warcinfo-name"),
        pytest.param(
            lambda w: w.write_resource("urn:x", b"", content_type="text"),
            "media type",
            id="content-type-not-a-media-type",
        ),
        pytest.param(
            lambda w: w.write_response(
                "http://x/", status_line="HTTP/1.1 200 OK", headers=[], body=b"", ip_address="x"
            ),
            "IP address",
            id="bad-ip-address",
        ),
    ],
)
def test_writer_refuses_values_that_would_break_the_header(
    call: Callable[[WarcWriter], object], message: str
) -> None:
    out = io.BytesIO()
    with pytest.raises(WarcHeaderError, match=message) as caught:
        call(WarcWriter(out, now=lambda: WHEN, new_id=_ids()))
    assert caught.value.exit_code is ExitCode.INVALID_INPUT
    assert out.getvalue() == b""


def test_warc_fields_encoding() -> None:
    assert warc_fields([("a", "1"), ("b", "é")]) == "a: 1\r\nb: é\r\n".encode()


def test_writer_turns_write_failures_into_storage_errors() -> None:
    class Full(io.BytesIO):
        def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
            raise OSError(28, "No space left on device")

    with pytest.raises(StorageError, match="No space left"):
        WarcWriter(Full(), now=lambda: WHEN, new_id=_ids()).write_warcinfo({"a": "b"})


# --- tampering with our own files ---------------------------------------------------------


def test_flipped_body_byte_is_a_digest_mismatch_at_that_record(
    case_plain: tuple[bytes, list[WrittenRecord]],
) -> None:
    data, records = case_plain
    target = records[2]  # the response
    at = data.index(b"<!doctype", target.offset) + 5
    tampered = bytearray(data)
    tampered[at] ^= 0x01
    report = _verify(bytes(tampered))
    mismatches = [f for f in report.findings if f.kind is F.DIGEST_MISMATCH]
    assert {f.record_id for f in mismatches} == {target.record_id}
    assert {f.offset for f in mismatches} == {target.offset}
    assert len(mismatches) == 2  # block and payload
    with pytest.raises(WarcIntegrityError) as caught:
        check_warc(io.BytesIO(bytes(tampered)))
    assert caught.value.exit_code is ExitCode.NOT_VERIFIED
    assert isinstance(caught.value, IntegrityError)
    assert target.record_id in caught.value.message


def test_every_block_byte_is_covered_by_the_block_digest(
    case_plain: tuple[bytes, list[WrittenRecord]],
) -> None:
    data, records = case_plain
    rng = random.Random(1)
    for rec in records:
        chunk = data[rec.offset : rec.offset + rec.length]
        start = chunk.index(b"\r\n\r\n") + 4
        for at in rng.sample(range(start, rec.length - 4), k=min(40, rec.length - 4 - start)):
            tampered = bytearray(data)
            tampered[rec.offset + at] ^= 1 << rng.randrange(8)
            assert F.DIGEST_MISMATCH in _kinds(_verify(bytes(tampered))), (rec, at)


@pytest.mark.parametrize("fixture", ["case_gz", "case_plain"])
def test_truncation_anywhere_inside_a_record_is_found(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    data, records = request.getfixturevalue(fixture)
    boundaries = {r.offset for r in records}
    rng = random.Random(2)
    cuts = sorted({2, 10, len(data) - 1, *rng.sample(range(2, len(data)), k=150)})
    for cut in cuts:
        report = _verify(data[:cut])
        if cut in boundaries:
            assert report.ok  # a whole-record prefix: the log commits to the record count
            continue
        assert not report.ok, cut
        assert _kinds(report) & {F.TRUNCATED, F.GZIP_CORRUPT}, (cut, report.findings)


def test_truncated_record_names_offset_and_record(
    case_plain: tuple[bytes, list[WrittenRecord]],
) -> None:
    data, records = case_plain
    shot = records[3]
    report = _verify(data[: shot.offset + shot.length // 2])
    (finding,) = [f for f in report.findings if f.kind is F.TRUNCATED]
    assert (finding.offset, finding.record_id) == (shot.offset, shot.record_id)


def test_header_bytes_are_covered_only_by_the_record_hash(
    case_plain: tuple[bytes, list[WrittenRecord]],
) -> None:
    data, records = case_plain
    resp = records[2]
    at = data.index(b"WARC-Target-URI: https://example.com/a", resp.offset) + 36
    tampered = data[:at] + b"b" + data[at + 1 :]  # a different URL, same length
    assert _verify(tampered).ok  # WARC digests cover blocks, not headers
    record = tampered[resp.offset : resp.offset + resp.length]
    assert hashlib.sha256(record).hexdigest() != resp.sha256


def test_duplicate_record_ids_are_found() -> None:
    out = io.BytesIO()
    w = WarcWriter(out, now=lambda: WHEN, new_id=lambda: "urn:uuid:same")
    w.write_warcinfo({"a": "b"})
    w.write_warcinfo({"a": "b"})
    assert _kinds(_verify(out.getvalue())) == {F.DUPLICATE_RECORD_ID}


@given(st.data())
@settings(max_examples=150, deadline=None)
def test_hostile_mutations_never_raise(data: st.DataObject) -> None:
    base = _small_warc(compress=data.draw(st.booleans()))
    mutated = bytearray(base)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(mutated) - 1))
        match data.draw(st.sampled_from(["flip", "delete", "insert"])):
            case "flip":
                mutated[at] ^= data.draw(st.integers(1, 255))
            case "delete":
                del mutated[at : at + data.draw(st.integers(1, 64))]
            case _:
                mutated[at:at] = data.draw(st.binary(min_size=1, max_size=64))
        if not mutated:
            break
    report = _verify(bytes(mutated))
    assert all(f.offset >= 0 for f in report.findings)


@given(st.binary(max_size=600))
@settings(max_examples=150, deadline=None)
def test_arbitrary_bytes_never_raise(blob: bytes) -> None:
    for candidate in (blob, b"WARC/1.1\r\n" + blob, gzip.compress(b"WARC/1.0\r\n" + blob)):
        _verify(candidate)


def _small_warc(*, compress: bool) -> bytes:
    out = io.BytesIO()
    w = WarcWriter(out, gzip=compress, now=lambda: WHEN, new_id=_ids())
    req = w.write_request("http://x/", request_line="GET / HTTP/1.1", headers=[("Host", "x")])
    w.write_response(
        "http://x/",
        status_line="HTTP/1.1 200 OK",
        headers=[("Transfer-Encoding", "chunked")],
        body=b"5\r\nhello\r\n0\r\n\r\n",
        concurrent_to=[req.record_id],
    )
    return out.getvalue()


def test_chunked_http_payload_digest_over_bytes_as_stored() -> None:
    assert _verify(_small_warc(compress=False), own=True).findings == ()


def test_oversized_header_is_refused() -> None:
    bomb = gzip.compress(b"WARC/1.1\r\nContent-Length: 1\r\n" + b"X-Pad: " + b"a" * (1 << 22))
    report = _verify(bomb)
    assert F.MALFORMED_HEADER in _kinds(report)


def test_io_errors_are_storage_errors() -> None:
    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise OSError(5, "Input/output error")

    with pytest.raises(StorageError, match="Input/output"):
        verify_warc(Broken())


@pytest.mark.parametrize(
    ("blob", "kind"),
    [
        pytest.param(b"", F.NOT_WARC, id="empty"),
        pytest.param(b"filedesc://x.arc 0.0.0.0 2024 text/plain 10\n", F.NOT_WARC, id="arc"),
        pytest.param(b"<html>", F.NOT_WARC, id="html"),
        pytest.param(gzip.compress(b"")[:10] + b"\xff" * 9, F.GZIP_CORRUPT, id="bad-deflate"),
        pytest.param(gzip.compress(b"WARC/1.1\r\nWARC-Type: warc")[:-9], F.TRUNCATED, id="cut-gz"),
        pytest.param(b"WARC/2.0\r\n\r\n\r\n\r\n", F.BAD_VERSION, id="unknown-version"),
        pytest.param(b"WARC/1.1\r\nno colon\r\n\r\n\r\n\r\n", F.MALFORMED_HEADER, id="no-colon"),
    ],
)
def test_small_hostile_inputs(blob: bytes, kind: WarcFault) -> None:
    assert kind in _kinds(_verify(blob))


def test_not_a_warc_is_an_input_error() -> None:
    with pytest.raises(NotAWarcError) as caught:
        check_warc(io.BytesIO(b"filedesc://x.arc\n"))
    assert isinstance(caught.value, InputError)
    assert caught.value.exit_code is ExitCode.INVALID_INPUT


def test_gzip_member_offsets_in_findings(case_gz: tuple[bytes, list[WrittenRecord]]) -> None:
    data, records = case_gz
    meta = records[4]
    member = gzip.decompress(data[meta.offset :]).replace(b"via: x", b"via: y")
    report = _verify(data[: meta.offset] + zlib_member(member))
    (finding,) = report.findings
    assert (finding.kind, finding.offset, finding.record_id) == (
        F.DIGEST_MISMATCH,
        meta.offset,
        meta.record_id,
    )


def zlib_member(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


# --- peer vectors -------------------------------------------------------------------------

GOOD = None
VECTOR_TABLE: list[tuple[str, WarcFault | None]] = [
    ("jwat/valid-warcfile-contenttype-continuation.warc", GOOD),
    ("jwat/valid-warcfile-duplicate-concurrentto.warc", GOOD),
    ("jwat/valid-warcfile-fields-continuation.warc", GOOD),
    ("jwat/valid-warcfile-fields-metainfo.warc", GOOD),
    ("jwat/valid-warcfile-fields-warcinfo.warc", GOOD),
    ("jwat/valid-warcfile-non-warc-headers.warc", GOOD),
    ("jwat/valid-warcfile-upper-lower-case.warc", GOOD),
    ("jwat/valid-warcfile-utf8.warc", GOOD),
    ("jwat/IAH-20080430204825-00000-blackbook.warc.gz", GOOD),
    ("jwat/invalid-warcfile-contenttype-recommended.warc", F.MISSING_FIELD),
    ("jwat/invalid-warcfile-contenttype-warcinfo-recommended.warc", F.INVALID_FIELD),
    ("jwat/invalid-warcfile-digest-fields.warc", F.INVALID_FIELD),
    ("jwat/invalid-warcfile-duplicate-fields.warc", F.DUPLICATE_FIELD),
    ("jwat/invalid-warcfile-encoding-headers.warc.gz", F.INVALID_FIELD),
    ("jwat/invalid-warcfile-fields-empty.warc", F.INVALID_FIELD),
    ("jwat/invalid-warcfile-fields-invalidformat.warc", F.INVALID_FIELD),
    ("jwat/invalid-warcfile-fields-missing.warc", F.INVALID_FIELD),
    ("jwat/invalid-warcfile-lonely-continuation.warc", F.MISSING_FIELD),
    ("jwat/invalid-warcfile-lonely-monkeys.warc", F.UNKNOWN_TYPE),
    ("jwat/invalid-warcfile-lonely-request-response-resource-conversion.warc", F.MISSING_FIELD),
    ("jwat/invalid-warcfile-lonely-revisit.warc", F.MISSING_FIELD),
    ("jwat/invalid-warcfile-lonely-warcinfo-metadata.warc", F.MISSING_FIELD),
    ("jwat/invalid-warcfile-record-then-garbage.warc", F.GARBAGE),
    ("jwat/invalid-warcfile-segment-number-continuation.warc", F.BAD_SEGMENT),
    ("jwat/invalid-warcfile-segment-number-response.warc", F.BAD_SEGMENT),
    ("warcio/example.warc", GOOD),
    ("warcio/example.warc.gz", GOOD),
    ("warcio/example-resource.warc.gz", GOOD),
    ("warcio/post-test.warc.gz", GOOD),
    ("warcio/example-iana.org-chunked.warc", GOOD),
    ("warcio/example-space-in-target-uri.warc.gz", GOOD),
    ("warcio/example-wget-bad-target-uri.warc.gz", GOOD),
    ("warcio/example-trunc.warc", F.BAD_RECORD_END),
    ("warcio/example-digest.warc", F.DIGEST_MISMATCH),
    ("warcio/example-bad.warc.gz.bad", F.GZIP_LAYOUT),
    ("warcio/example-bad-non-chunked.warc.gz", F.GZIP_LAYOUT),
    ("warcio/example-wrong-chunks.warc.gz", F.GZIP_LAYOUT),
    ("warcio/example.arc", F.NOT_WARC),
    ("warcio/example.arc.gz", F.NOT_WARC),
    ("warcio/example-space-in-url.arc", F.NOT_WARC),
    ("warcio/bad.arc", F.NOT_WARC),
]


@needs_vectors
@pytest.mark.parametrize(
    ("name", "fault"),
    VECTOR_TABLE,
    ids=[f"{n.split('/')[-1]}->{f or 'accepted'}" for n, f in VECTOR_TABLE],
)
def test_peer_vectors(name: str, fault: WarcFault | None) -> None:
    with (WARC_VECTORS / name).open("rb") as fh:
        report = verify_warc(fh)
    if fault is None:
        assert report.ok and report.records > 0, report.findings
    else:
        assert not report.ok
        assert fault in _kinds(report), report.findings
        assert all(f.message and f.offset >= 0 for f in report.findings)


@needs_vectors
def test_vector_table_covers_every_warc_vector() -> None:
    on_disk = {
        f"{p.parent.name}/{p.name}"
        for p in WARC_VECTORS.glob("*/*")
        if p.name != "LICENSE" and p.is_file()
    }
    assert on_disk == {name for name, _ in VECTOR_TABLE}


@needs_vectors
def test_our_own_profile_rejects_foreign_sha1_warcs() -> None:
    with (WARC_VECTORS / "warcio" / "example.warc.gz").open("rb") as fh:
        kinds = _kinds(verify_warc(fh, own=True))
    assert kinds == {F.BAD_VERSION, F.MISSING_FIELD}


def test_warcio_digester_is_overridden_to_sha256() -> None:
    out = io.BytesIO()
    writer = _Sha256WARCWriter(out, gzip=False, warc_version="1.1")
    record = writer.create_warc_record("urn:x", "resource", payload=io.BytesIO(b"hi"), length=2)
    writer.write_record(record)
    expected = "sha256:R5BUGRTER5VZNX4J3WUQDRIXNMIKNWBZMHOTYGWIRNM3FXBSPKSA===="
    assert f"WARC-Block-Digest: {expected}\r\n".encode() in out.getvalue()
    assert f"WARC-Payload-Digest: {expected}\r\n".encode() in out.getvalue()
