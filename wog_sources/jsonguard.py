"""Hostile JSON, refused before it reaches a decoder: nesting depth and misleading wording.

A decoder recurses once per nesting level, so a body nested a thousand levels deep — even in a
section the parsers skip — would raise ``RecursionError`` from wherever the interpreter's stack
happens to end. Real bodies are shallow (a replay JSON is 4 levels deep, an OCAP recording 6), so
every body is held to :data:`MAX_NESTING` explicitly, the same wherever it is decoded.
"""

from __future__ import annotations

import re

MAX_NESTING = 64
"""The deepest nesting of arrays and objects a replay body may have (real ones: 4–6)."""

_NOT_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_TOKENS = re.compile(rb'[\[\]{}]|"(?:[^"\\]|\\.)*"')
_AT_BYTE = re.compile(r"\(byte (\d+)\)")
_CONSTANTS = (b"NaN", b"-Infinity", b"Infinity", b"+Infinity")


_CHUNK = 1 << 20


def too_deep(data: bytes, limit: int = MAX_NESTING) -> int | None:
    """The byte offset at which ``data`` first nests deeper than ``limit``, else None.

    A pass over the brackets alone (removing innermost pairs once per level) clears real bodies
    in a few passes; it runs a megabyte at a time, so it allocates a few megabytes whatever the
    body's size. Brackets inside strings (a ``[TAG`` nickname) can unbalance it; then the
    strings are cut out first and the pass repeated. Only a body still not cleared — deeper
    than the limit, or not JSON — is scanned token by token to find where.
    """
    if _clears_by_chunk(data, limit):
        return None
    if _rounds(_STRINGS.sub(b"", data).translate(None, _NOT_BRACKETS), limit) is not None:
        return None
    depth = 0
    for token in _TOKENS.finditer(data):
        first = token.group()[:1]
        if first in b"[{":
            depth += 1
            if depth > limit:
                return token.start()
        elif first in b"]}":
            depth -= 1
    return None


def _clears_by_chunk(data: bytes, limit: int) -> bool:
    """Whether the brackets of ``data`` are balanced and at most ``limit`` deep (False also
    when unsure: the caller then looks closer).

    Each megabyte's brackets are reduced on their own to what does not pair up inside it
    (closers, then openers); what was removed nested at most ``deepest`` levels below it. The
    leftovers of all chunks joined must clear within ``limit - deepest`` rounds.
    """
    leftovers: list[bytes] = []
    deepest = 0
    for start in range(0, len(data), _CHUNK):
        brackets = data[start : start + _CHUNK].translate(None, _NOT_BRACKETS)
        for level in range(limit + 1):
            shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
            if len(shorter) == len(brackets):
                deepest = max(deepest, level)
                break
            brackets = shorter
        else:
            return False  # more than `limit` levels inside one chunk
        leftovers.append(brackets)
    return _rounds(b"".join(leftovers), limit - deepest) is not None


def _rounds(brackets: bytes, limit: int) -> int | None:
    """How many rounds of removing innermost pairs clear ``brackets`` (its nesting depth), or
    None if it is unbalanced or deeper than ``limit``."""
    for level in range(max(limit, 0) + 1):
        if not brackets:
            return level
        shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if len(shorter) == len(brackets):
            return None
        brackets = shorter
    return None


def nesting_message(offset: int, limit: int = MAX_NESTING) -> str:
    return f"nested deeper than {limit} levels (at byte {offset})"


def decode_error_message(data: bytes, error: Exception) -> str:
    """What a decoder's complaint means for an admin: a NaN or Infinity literal named at its
    byte, a truncated body as truncated, anything else as not valid JSON."""
    text = str(error)
    match = _AT_BYTE.search(text)
    if match:
        at = int(match.group(1))
        if data.startswith(b"Infinity", at) and data[at - 1 : at] == b"-":
            at -= 1  # the decoder points past the sign
        for constant in _CONSTANTS:
            if data.startswith(constant, at):
                return (
                    f"{constant.decode()} at byte {at}: not a JSON number "
                    "(the exporter wrote a non-finite value)"
                )
    if "truncated" in text:
        return f"not valid JSON: it ends early, at byte {len(data)} (truncated download?)"
    return f"not valid JSON: {text}"
