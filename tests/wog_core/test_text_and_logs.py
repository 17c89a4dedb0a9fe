"""User text isolated against direction controls; repeated warnings collapsed."""

from __future__ import annotations

import logging
import time

import pytest

from wog_core.logs import RepeatedWarning
from wog_core.text import isolate_bidi


def test_direction_controls_are_dropped_and_right_to_left_text_isolated() -> None:
    assert isolate_bidi("[WOG] Иван") == "[WOG] Иван"  # left-to-right: untouched
    assert isolate_bidi("a\u202eb\u202cc") == "\u2068abc\u2069"
    assert isolate_bidi("مرحبا") == "\u2068مرحبا\u2069"
    # Whatever it held, the result closes everything it opens.
    for hostile in ("\u202e", "\u2067\u2067x", "\u2069\u2069", "x\u200f"):
        shown = isolate_bidi(hostile)
        assert shown.count("\u2068") == shown.count("\u2069") <= 1
        assert not any(c in shown for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067")


def test_a_repeating_failure_is_one_line_then_a_count_then_the_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("wog.test.repeated")
    warning = RepeatedWarning(log, "the database is unreachable", summary_s=0.2)
    with caplog.at_level(logging.WARNING, logger="wog.test.repeated"):
        for _ in range(20):
            warning.failed(OSError("connection refused\nis the server running?"))
        time.sleep(0.25)
        warning.failed(OSError("connection refused"))
        warning.recovered()
        warning.recovered()  # nothing more to say
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "the database is unreachable: connection refused"  # one line
    assert lines[1].startswith("the database is unreachable: still failing (20 more time(s)")
    assert lines[2].startswith("the database is unreachable: recovered after")
    assert len(lines) == 3
