"""Fuzzing the parsers: every input either parses or raises the parser's own error.

A seeded mutator over generated games (pages and replay JSON) and small real OCAP recordings
applies what real damage and hostile input look like — truncation, flipped bytes, other
encodings, huge and non-finite numbers, NULs, keys given twice, values of the wrong type,
nesting removed or added (to thousands of levels), ids that are huge, negative or written in
other scripts' digits — and feeds each result through the whole parse (both documents,
combined and checked). Anything but a parsed replay or the parser's own rejection is a bug.
``WOG_FUZZ_INPUTS`` sets how many inputs (default 20,000, about 15 s); the run prints how many
it tried.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections import Counter
from collections.abc import Callable

import pytest

from dbschema import tables as t
from tests.conftest import ROOT
from wog_core.ids import MAX_ID
from wog_fakes.generator import GameOptions, generate_game
from wog_sources.errors import ReplayNotFound, ReplayParseError
from wog_sources.parse import parse_games_list
from wog_sources.replay import parse_replay
from wog_warehouse.replays import RowRejected, check_rows, game_row

pytestmark = pytest.mark.slow  # 20,000 mutated inputs (~20 s)

INPUTS = int(os.environ.get("WOG_FUZZ_INPUTS") or 20_000)
SEED = int(os.environ.get("WOG_FUZZ_SEED") or 20261128)

Mutation = Callable[[random.Random, bytes], bytes]


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def flip_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def reencode(rng: random.Random, data: bytes) -> bytes:
    text = data.decode("utf-8", errors="replace")
    return text.encode(rng.choice(["cp1251", "utf-16", "latin-1", "koi8-r"]), errors="replace")


_NUMBER = re.compile(rb"(?<![\w.])-?\d+(\.\d+)?(?![\w.])")


def huge_number(rng: random.Random, data: bytes) -> bytes:
    matches = list(_NUMBER.finditer(data))
    if not matches:
        return data
    m = rng.choice(matches)
    value = rng.choice(
        [b"1" + b"0" * rng.randint(10, 400), b"-99999999999999999999", b"1e308", b"1e400",
         b"-1e400", b"NaN", b"Infinity", b"-0", b"0.0000001", b"-7"]
    )  # fmt: skip
    return data[: m.start()] + value + data[m.end() :]


def insert_nul(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice([b"\\u0000", b"\x00"]) + data[at:]


_KEY_VALUE = re.compile(rb'"[^"\\]{1,12}":\s*(\[[^\[\]]*\]|"[^"]*"|-?\d+)')


def duplicate_key(rng: random.Random, data: bytes) -> bytes:
    matches = list(_KEY_VALUE.finditer(data))
    if not matches:
        return data
    m = rng.choice(matches)
    return data[: m.end()] + b"," + m.group(0) + data[m.end() :]


def swap_type(rng: random.Random, data: bytes) -> bytes:
    matches = list(_KEY_VALUE.finditer(data))
    if not matches:
        return data
    m = rng.choice(matches)
    value = rng.choice([b'"text"', b"[1, [2]]", b"{}", b"null", b"true", b"[]", b"-1", b'{"a": 1}'])
    key_end = m.group(0).index(b":") + 1
    return data[: m.start() + key_end] + value + data[m.end() :]


def drop_brackets(rng: random.Random, data: bytes) -> bytes:
    positions = [i for i, c in enumerate(data) if c in b"[]{}<>"]
    if not positions:
        return data
    at = rng.choice(positions)
    return data[:at] + data[at + 1 :]


def deepen(rng: random.Random, data: bytes) -> bytes:
    """Nest one value inside many arrays/objects: around the limit (64), or far past it."""
    matches = list(_KEY_VALUE.finditer(data))
    if not matches:
        return data
    m = rng.choice(matches)
    depth = rng.choice([2, 63, 64, 65, 300, 5000])
    opener, closer = rng.choice([(b"[", b"]"), (b'{"k":', b"}")])
    key_end = m.group(0).index(b":") + 1
    value = data[m.start() + key_end : m.end()]
    return data[: m.start() + key_end] + opener * depth + value + closer * depth + data[m.end() :]


_ODD_IDS = [rb"\u00b2", "²".encode(), "١٢٣".encode(), b"1180591620717411303424", b"-5", b"0",
            b"9007199254740992", b"9007199254740991", b"00042", b"1e3"]  # fmt: skip
_GAME_LINK = re.compile(rb"/games/(\d+)/")


def odd_id(rng: random.Random, data: bytes) -> bytes:
    """An id as an attacker or a broken exporter writes it: huge, negative, non-ASCII digits —
    in a game link of a page, or in place of a number of the JSON."""
    found = list(_GAME_LINK.finditer(data)) or list(_NUMBER.finditer(data))
    if not found:
        return data
    m = rng.choice(found)
    group = 1 if m.re is _GAME_LINK else 0
    return data[: m.start(group)] + rng.choice(_ODD_IDS) + data[m.end(group) :]


MUTATIONS: list[Mutation] = [
    truncate, flip_bytes, reencode, huge_number, insert_nul, duplicate_key, swap_type,
    drop_brackets, deepen, odd_id,
]  # fmt: skip


def _parse(page: bytes, body: bytes) -> str:
    """Parse one (page, JSON) pair; returns the outcome's kind, or raises on a foreign error."""
    from wog_core.models import decode_text

    try:
        parsed = parse_replay(decode_text(page), body, replay_id=None, page_url="p", json_url="j")
    except (ReplayParseError, ReplayNotFound):
        return "rejected"
    # What parses must be storable or refused by the write edge's own check.
    try:
        check_rows(t.games, [game_row(parsed.replay, "p")], replay_id=1, url="p")
    except RowRejected:
        return "refused at the write edge"
    return "repaired" if parsed.repairs else "parsed"


def test_every_mutated_input_parses_or_raises_the_parsers_own_error() -> None:
    rng = random.Random(SEED)
    games = [
        generate_game(7000 + i, seed=i, options=GameOptions(players=rng.randint(2, 60)))
        for i in range(12)
    ]
    outcomes: Counter[str] = Counter()
    for n in range(INPUTS):
        game = rng.choice(games)
        page, body = game.page_html.encode("utf-8"), game.replay_json
        target = rng.random()
        for _ in range(rng.randint(1, 3)):
            mutation = rng.choice(MUTATIONS)
            if target < 0.75:
                body = mutation(rng, body)
            else:
                page = mutation(rng, page)
        try:
            outcomes[_parse(page, body)] += 1
        except Exception as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(
                f"input {n} (seed {SEED}): {type(exc).__name__}: {exc}\n"
                f"page[:200]={page[:200]!r}\njson[:300]={body[:300]!r}"
            ) from exc
    print(f"fuzzed {INPUTS} inputs: {dict(outcomes)}")
    assert sum(outcomes.values()) == INPUTS
    assert outcomes["rejected"] > 0 and outcomes["parsed"] + outcomes["repaired"] > 0


def test_mutated_games_lists_parse_or_raise_the_parsers_own_error() -> None:
    from wog_fakes.generator import render_games_list

    rng = random.Random(SEED + 1)
    games = [generate_game(7100 + i, seed=i) for i in range(6)]
    page = render_games_list([g.listing for g in games]).encode("utf-8")
    for n in range(INPUTS // 4):
        mutated = page
        for _ in range(rng.randint(1, 3)):
            mutated = rng.choice(MUTATIONS)(rng, mutated)
        try:
            listing = parse_games_list(mutated.decode("utf-8", errors="replace"))
        except ReplayParseError:
            continue
        except Exception as exc:  # pragma: no cover
            raise AssertionError(f"games list input {n}: {type(exc).__name__}: {exc}") from exc
        assert all(g.players >= 0 and g.slots >= 0 for g in listing)
        assert all(1 <= g.replay_id <= MAX_ID for g in listing)  # no odd id gets through


def test_mutated_ocap_recordings_decode_or_are_named_rejections() -> None:
    from wog_sources.errors import ResponseTooLarge
    from wog_sources.ocap import decode_recording, uncompressed

    folder = ROOT / "tests" / "data" / "ocap" / "sg-zone" / "bytes"
    smallest = sorted(folder.iterdir(), key=lambda p: p.stat().st_size)[:4]
    bodies = [uncompressed(p.read_bytes()) for p in smallest]
    rng = random.Random(SEED + 2)
    outcomes: Counter[str] = Counter()
    for n in range(INPUTS // 10):
        body = rng.choice(bodies)
        for _ in range(rng.randint(1, 3)):
            body = rng.choice(MUTATIONS)(rng, body)
        try:
            recording = decode_recording(body, replay_id=1)
        except (ReplayParseError, ResponseTooLarge) as exc:
            assert "\n" not in str(exc)  # one line naming what
            outcomes["rejected"] += 1
            continue
        except Exception as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(
                f"recording input {n} (seed {SEED + 2}): {type(exc).__name__}: {exc}"
            ) from exc
        outcomes["decoded"] += 1
        known = {p.player_id for p in recording.replay.players}
        assert all(f.victim_id in known for f in recording.replay.frags)
    print(f"fuzzed {INPUTS // 10} recordings: {dict(outcomes)}")
    assert outcomes["rejected"] > 0 and outcomes["decoded"] > 0


def test_json_numbers_round_trip_through_the_mutators() -> None:
    # The mutators themselves must produce what they claim (a test of the test).
    rng = random.Random(1)
    data = json.dumps({"players": {"1": [1, "a", "b", "c"]}}).encode()
    assert duplicate_key(rng, data).count(b'"1"') >= 1
    assert huge_number(random.Random(3), b'{"x": 5}') != b'{"x": 5}'
