"""Protocol v1 and v2 in Python: line parsing, checksums, versions, and run assembly (docs/protocol.md)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import PipelineError
from pipeline.serial_link.protocol import (
    ArenaRecord,
    CacheRecord,
    CorruptLineError,
    CountersRecord,
    DeviceResetError,
    DoneRecord,
    ErrorRecord,
    LayerRecord,
    OutputRecord,
    RunResult,
    SamplerRecord,
    SequenceError,
    StartRecord,
    SummaryRecord,
    VersionMismatchError,
    assemble_run,
    crc16,
    encode_record,
    parse_line,
    parse_text,
    parse_versioned_line,
)

START = {"fw": "0.1.0", "model": "mnv1_sep", "clock_hz": 64000000, "unit": "cycles", "runs": 3, "warmup": 1}
SUMMARY = {"runs": 3, "ticks_min": 10, "ticks_median": 20, "ticks_max": 30, "us_min": 1, "us_median": 2, "us_max": 3}


COUNTERS = {"state": "ok", "cycles": 1000, "cpi": 100, "exc": 20, "sleep": 0, "lsu": 300, "fold": 50}
SAMPLER = {"period": 200, "samples": 5, "overruns": 0, "calib_known": 2000, "calib_derived": 2070,
           "calib_samples": 10}


def ok_run_lines(version: int = 1) -> list[str]:
    return [
        encode_record("START", START, version),
        encode_record("ARENA", {"size": 90112, "used": 82404}, version),
        encode_record("LAYER", {"index": 0, "op": "CONV_2D", "ticks": 7}, version),
        encode_record("LAYER", {"index": 1, "op": "SOFTMAX", "ticks": 2}, version),
        encode_record("SUMMARY", SUMMARY, version),
        encode_record("DONE", {"status": "ok", "records": 5}, version),
    ]


def v2_run_lines() -> list[str]:
    """A version-2 board run: the version-1 records plus CACHE, COUNTERS, SAMPLER and OUTPUT."""
    lines = ok_run_lines(2)[:5] + [
        encode_record("CACHE", {"state": "on", "hits": 9000, "misses": 12}),
        encode_record("COUNTERS", COUNTERS),
        encode_record("SAMPLER", SAMPLER),
        encode_record("OUTPUT", {"bytes": 10, "crc32": 3421780262}),
    ]
    return lines + [encode_record("DONE", {"status": "ok", "records": len(lines)})]


def test_crc_is_ccitt_false():
    assert crc16(b"123456789") == 0x29B1  # catalogue check value of CRC-16/CCITT-FALSE


def test_line_as_documented_parses():
    assert parse_line("TML1 DONE status=ok records=6 *645C\r\n") == DoneRecord(status="ok", records=6)


@pytest.mark.parametrize(
    "record_type, values, expected",
    [
        ("START", START, StartRecord(**START)),
        ("ARENA", {"size": 1, "used": 0}, ArenaRecord(size=1, used=0)),
        ("LAYER", {"index": 3, "op": "DEPTHWISE_CONV_2D", "ticks": 4294967295},
         LayerRecord(index=3, op="DEPTHWISE_CONV_2D", ticks=4294967295)),
        ("SUMMARY", SUMMARY, SummaryRecord(**SUMMARY)),
        ("ERROR", {"code": "alloc_failed", "detail": "need 90 kB"}, ErrorRecord("alloc_failed", "need_90_kB")),
        ("ERROR", {"code": "invoke_failed", "detail": ""}, ErrorRecord("invoke_failed", "")),
        ("DONE", {"status": "error", "records": 2}, DoneRecord(status="error", records=2)),
    ],
)
def test_round_trip_each_record_type(record_type, values, expected):
    line = encode_record(record_type, values)
    assert line.endswith("\r\n")
    assert parse_line(line) == expected
    assert parse_line(line.encode("ascii")) == expected  # bytes too
    assert parse_line(line.replace("\r\n", "\n")) == expected  # LF-only transports


@pytest.mark.parametrize(
    "noise",
    ["", "\r\n", "mbed-os 6.17.0 boot", "DebugLog: HTML TML is not a record", "TML", "HTML5 page", "TML1x",
     "\xff\xfe garbage", b"\x00\xff\xfe\x80 junk"],
)
def test_noise_is_not_a_record(noise):
    assert parse_line(noise) is None


def test_noise_before_record_on_the_same_line():
    line = "\x1b[0m>>> boot done TML junk " + encode_record("ARENA", {"size": 5, "used": 4})
    assert parse_line(line) == ArenaRecord(size=5, used=4)


def test_cut_record_glued_to_next_uses_the_last_one():
    first, second = ok_run_lines()[2:4]
    assert parse_line(first[: len(first) // 2] + second) == LayerRecord(1, "SOFTMAX", 2)


@pytest.mark.parametrize("keep", [4, 5, 6, 12, 25, -7, -3, -1])
def test_cut_line_is_corrupt(keep):
    line = ok_run_lines()[4].rstrip("\r\n")
    with pytest.raises(CorruptLineError):
        parse_line(line[:keep])


def test_garbled_digit_fails_checksum():
    line = ok_run_lines()[1].replace("90112", "90117")
    with pytest.raises(CorruptLineError, match="checksum mismatch"):
        parse_line(line)


def test_garbled_checksum_fails():
    line = ok_run_lines()[1]
    crc = line[-6:-2]
    bad = "0000" if crc != "0000" else "FFFF"
    with pytest.raises(CorruptLineError, match="checksum"):
        parse_line(line.replace(f"*{crc}", f"*{bad}"))


def test_lowercase_crc_or_missing_star_is_malformed():
    with pytest.raises(CorruptLineError, match="malformed"):
        parse_line("TML1 DONE status=ok records=6 *645c")
    with pytest.raises(CorruptLineError, match="malformed"):
        parse_line("TML1 DONE status=ok records=6 645C")


def test_byte_replaced_by_non_ascii_is_corrupt():
    line = ok_run_lines()[1].encode("ascii").replace(b"size", b"s\xffze")
    with pytest.raises(CorruptLineError):
        parse_line(line)


def test_other_version_is_rejected_clearly():
    line = encode_record("START", START, version=3)
    with pytest.raises(VersionMismatchError, match="version 3.*versions 1 and 2"):
        parse_line(line)


def test_missing_field_and_bad_number_and_unknown_type():
    with pytest.raises(CorruptLineError, match="lacks field 'used'"):
        parse_line(encode_record("ARENA", {"size": 5}))
    with pytest.raises(CorruptLineError, match="not a number"):
        parse_line(encode_record("ARENA", {"size": "5k", "used": 4}))
    with pytest.raises(CorruptLineError, match="unknown record type"):
        parse_line(encode_record("BOGUS", {"a": 1}))


def test_extra_fields_are_ignored():
    assert parse_line(encode_record("ARENA", {"size": 5, "used": 4, "head": 3})) == ArenaRecord(5, 4)


def test_errors_are_one_line_pipeline_errors():
    with pytest.raises(PipelineError) as info:
        parse_line(ok_run_lines()[1].replace("90112", "9011\n"))
    assert "\n" not in str(info.value)


def test_assemble_ok_run():
    result = parse_text("boot noise\r\n" + "".join(ok_run_lines()) + "idle chatter\r\n")
    assert result.ok
    assert (result.model, result.unit, result.clock_hz, result.runs, result.warmup) == (
        "mnv1_sep", "cycles", 64000000, 3, 1)
    assert (result.arena_size, result.arena_used) == (90112, 82404)
    assert result.layers == (LayerRecord(0, "CONV_2D", 7), LayerRecord(1, "SOFTMAX", 2))
    assert result.summary == SummaryRecord(**SUMMARY)
    assert result.error is None


def test_assemble_error_run():
    lines = [
        encode_record("START", START),
        encode_record("ERROR", {"code": "alloc_failed", "detail": "arena too small"}),
        encode_record("DONE", {"status": "error", "records": 2}),
    ]
    result = parse_text("".join(lines))
    assert not result.ok
    assert result.error == ErrorRecord("alloc_failed", "arena_too_small")
    assert result.arena_size is None and result.summary is None and result.layers == ()


def records(lines: list[str]):
    return [parse_line(line) for line in lines]


def test_second_start_is_a_reset():
    lines = ok_run_lines()
    with pytest.raises(DeviceResetError, match="reset mid-run"):
        assemble_run(records(lines[:3] + lines))


def test_lost_line_is_detected_by_done_count():
    lines = ok_run_lines()
    with pytest.raises(SequenceError, match="DONE counts 5 records but 4 arrived"):
        assemble_run(records(lines[:1] + lines[2:]))  # ARENA lost


def test_lost_layer_is_detected_by_index():
    lines = ok_run_lines()
    with pytest.raises(SequenceError, match="LAYER index 1 where 0 was due"):
        assemble_run(records(lines[:2] + lines[3:]))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda ls: ls[1:], "before START"),
        (lambda ls: ls[:5], "ended before DONE"),
        (lambda ls: [], "no START"),
        (lambda ls: ls[:4] + [encode_record("SUMMARY", {**SUMMARY, "runs": 4})] + ls[5:], "START announced 3"),
        (lambda ls: ls[:4] + [encode_record("DONE", {"status": "ok", "records": 4})], "without a SUMMARY"),
        (lambda ls: ls[:5] + [encode_record("DONE", {"status": "error", "records": 5})], "without an ERROR"),
        (lambda ls: ls[:2] + [encode_record("ERROR", {"code": "invoke_failed", "detail": "x"})] + ls[2:],
         "only DONE may follow"),
        (lambda ls: ls[:2] + ls[1:], "duplicate ARENA"),
        (lambda ls: ls[:5] + ls[2:3] + ls[5:], "LAYER after SUMMARY"),
        (lambda ls: [encode_record("START", {**START, "unit": "seconds"})] + ls[1:], "unknown unit"),
    ],
)
def test_sequence_violations(mutate, message):
    with pytest.raises(SequenceError, match=message):
        assemble_run(records(mutate(ok_run_lines())))


@pytest.mark.parametrize("version", [1, 2])
def test_run_result_json_round_trip(version):
    result = parse_text("".join(ok_run_lines(version) if version == 1 else v2_run_lines()))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["protocol_version"] == version
    assert data["layers"][0] == {"index": 0, "op": "CONV_2D", "ticks": 7}
    assert RunResult.from_dict(data) == result


def test_result_file_of_a_version_1_pipeline_still_loads():
    data = json.loads(json.dumps(parse_text("".join(ok_run_lines(1))).to_dict()))
    for key in ("cache", "counters", "sampler", "output"):
        del data[key]  # what the version-1 pipeline wrote
    result = RunResult.from_dict(data)
    assert result.protocol_version == 1 and result.output is None and result.output_crc32 is None


def test_both_versions_assemble_the_same_core_run():
    v1, v2 = parse_text("".join(ok_run_lines(1))), parse_text("".join(v2_run_lines()))
    assert (v1.protocol_version, v2.protocol_version) == (1, 2)
    assert (v1.layers, v1.summary, v1.arena_used) == (v2.layers, v2.summary, v2.arena_used)
    assert v1.cache is None and v1.counters is None and v1.output is None


def test_v2_records_parse_into_the_result():
    result = parse_text("".join(v2_run_lines()))
    assert result.ok
    assert result.cache == CacheRecord("on", 9000, 12)
    assert result.counters == CountersRecord(**COUNTERS)
    assert result.sampler == SamplerRecord(**SAMPLER)
    assert result.output == OutputRecord(10, 3421780262) and result.output_crc32 == 3421780262


def test_unavailable_counters_and_cache_have_no_numbers():
    lines = ok_run_lines(2)[:5] + [encode_record("CACHE", {"state": "none"}),
                                   encode_record("COUNTERS", {"state": "none"})]
    result = parse_text("".join(lines + [encode_record("DONE", {"status": "ok", "records": 7})]))
    assert result.cache == CacheRecord("none") and result.counters == CountersRecord("none")
    assert result.counters.cycles is None and result.sampler is None and result.output is None


def test_v2_record_on_a_v1_line_is_corrupt():
    with pytest.raises(CorruptLineError, match="does not exist in protocol version 1"):
        parse_line(encode_record("OUTPUT", {"bytes": 1, "crc32": 0}, version=1))


def test_versioned_parse_reports_the_line_version():
    assert parse_versioned_line(encode_record("ARENA", {"size": 1, "used": 1}, version=1))[0] == 1
    assert parse_versioned_line(encode_record("ARENA", {"size": 1, "used": 1}))[0] == 2


def test_one_run_cannot_mix_versions():
    lines = ok_run_lines(2)
    lines[1] = encode_record("ARENA", {"size": 90112, "used": 82404}, version=1)
    with pytest.raises(SequenceError, match="version 1 in a run that started in version 2"):
        assemble_run(parse_versioned_line(line) for line in lines)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda ls: ls[:4] + ls[5:6] + ls[4:5] + ls[6:], "CACHE before SUMMARY"),
        (lambda ls: ls[:6] + ls[7:], "SAMPLER without COUNTERS"),
        (lambda ls: ls[:6] + [encode_record("COUNTERS", {**COUNTERS, "fold": None})] + ls[7:],
         "not a number"),
        (lambda ls: ls[:6] + [encode_record("COUNTERS", {"state": "ok", "cycles": 5})] + ls[7:],
         "lacks a counter value"),
        (lambda ls: ls[:5] + [encode_record("CACHE", {"state": "warm"})] + ls[6:], "unknown state"),
        (lambda ls: ls[:9] + ls[8:], "duplicate OUTPUT"),
    ],
)
def test_v2_sequence_violations(mutate, message):
    with pytest.raises((SequenceError, CorruptLineError), match=message):
        assemble_run(records(mutate(v2_run_lines())))


def test_documented_example_parses():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text()
    example = doc.split("Example (board", 1)[1].split("```", 2)[1]
    result = parse_text(example)
    assert result.ok and result.model == "mnv1_sep_a025_96" and len(result.layers) == 2
    assert result.protocol_version == 2 and result.output_crc32 is not None
    assert result.counters.state == "ok" and result.cache.state == "on"
    error_line = doc.split("`TML2 ERROR", 1)[1].split("`", 1)[0]
    assert parse_line("TML2 ERROR" + error_line) == ErrorRecord("alloc_failed", "Arena_size_is_too_small")
    v1_example = doc.split("Example (version 1", 1)[1].split("```", 2)[1]
    assert parse_text(v1_example).protocol_version == 1


def test_value_ending_in_the_magic_is_not_a_record_start():
    line = encode_record("START", {"fw": "0.1.0", "model": "kws_TML1", "clock_hz": 64000000,
                                   "unit": "cycles", "runs": 10, "warmup": 2})
    record = parse_line("boot noise " + line)
    assert record.model == "kws_TML1" and record.clock_hz == 64000000


def test_board_instructions_from_the_counters_less_the_sampler():
    from pipeline.perf.dwt import board_instructions

    result = parse_text("".join(v2_run_lines()))
    counted = board_instructions(result)
    # 1000 - 100 - 20 - 0 - 300 + 50 = 630 over the sampled invoke; K = (2070 - 2000) / 10 = 7
    assert counted.counted_total == 630 and counted.per_sample == 7
    assert counted.instructions == 630 - 5 * 7 and counted.expected_samples == 1000 // 200
    assert counted.reliable
    assert board_instructions(parse_text("".join(ok_run_lines(1)))) is None  # v1: no counters


@pytest.mark.parametrize("change, why", [({"overruns": 1}, "a wrap may be lost"),
                                         ({"samples": 1}, "the sampler's interrupt did not run")])
def test_counters_are_unreliable_when_the_sampler_fell_behind(change, why):
    from pipeline.perf.dwt import board_instructions

    lines = v2_run_lines()
    lines[7] = encode_record("SAMPLER", {**SAMPLER, **change})
    assert not board_instructions(parse_text("".join(lines))).reliable, why
