"""Escaping user text (nicknames, mission and vehicle names) for Discord markdown."""

from __future__ import annotations

import re

from wog_core.text import isolate_bidi

# Characters that format anywhere in a line: bold/italic (* _), strike (~), spoiler (|),
# code (`), masked links ([text](url)), and the escape character itself.
_INLINE = re.compile(r"([\\*_~|`\[\]])")
# Characters that format only at the start of a line: quotes, headings, lists, subtext.
_LINE_START = re.compile(r"^(\s*)([>#\-+])")
_MENTION = re.compile(r"@(?=(everyone|here|&?!?\d))", re.IGNORECASE)
_WHITESPACE = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")


def escape_markdown(text: str) -> str:
    """Text shown literally by Discord: no formatting, no fake links, no mentions, one line,
    no direction controls that would reorder the rest of the field (:func:`isolate_bidi`)."""
    text = isolate_bidi(_WHITESPACE.sub(" ", text))
    text = _INLINE.sub(r"\\\1", text)
    text = _LINE_START.sub(r"\1\\\2", text)
    # Mentions are disabled on the message anyway; a zero-width space also keeps them from
    # looking like pings, and <@id>, <#id>, <t:…> from forming.
    text = _MENTION.sub("@\u200b", text)
    return text.replace("<", "<\u200b")
