"""Discord's message limits: the one place they are written down, and their validator."""

from __future__ import annotations

from dataclasses import dataclass

import hikari

TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR = 256
EMBEDS = 10
MESSAGE_TOTAL = 6000  # characters across all embeds of one message
CONTENT = 2000


class LimitExceeded(ValueError):
    """A message would be rejected by Discord; says which limit, where."""


@dataclass(frozen=True)
class Violation:
    where: str
    limit: int
    actual: int

    def __str__(self) -> str:
        return f"{self.where}: {self.actual} > {self.limit}"


def embed_length(embed: hikari.Embed) -> int:
    """Characters Discord counts toward the 6,000 limit for one embed."""
    total = len(embed.title or "") + len(embed.description or "")
    total += len(embed.footer.text or "") if embed.footer else 0
    total += len(embed.author.name or "") if embed.author else 0
    total += sum(len(f.name) + len(f.value) for f in embed.fields)
    return total


def violations(content: str | None, embeds: list[hikari.Embed]) -> list[Violation]:
    """Every limit the message breaks (empty when Discord would accept it)."""
    found: list[Violation] = []

    def check(where: str, limit: int, actual: int) -> None:
        if actual > limit:
            found.append(Violation(where, limit, actual))

    check("content", CONTENT, len(content or ""))
    check("embeds", EMBEDS, len(embeds))
    for i, embed in enumerate(embeds):
        check(f"embed {i} title", TITLE, len(embed.title or ""))
        check(f"embed {i} description", DESCRIPTION, len(embed.description or ""))
        check(f"embed {i} fields", FIELDS, len(embed.fields))
        if embed.footer:
            check(f"embed {i} footer", FOOTER, len(embed.footer.text or ""))
        for j, field in enumerate(embed.fields):
            check(f"embed {i} field {j} name", FIELD_NAME, len(field.name))
            check(f"embed {i} field {j} value", FIELD_VALUE, len(field.value))
            if not field.name.strip() or not field.value.strip():
                found.append(Violation(f"embed {i} field {j} is empty", 1, 0))
    check("message total", MESSAGE_TOTAL, sum(embed_length(e) for e in embeds))
    return found


def validate(content: str | None, embeds: list[hikari.Embed]) -> None:
    """Raise :class:`LimitExceeded` listing every broken limit."""
    found = violations(content, embeds)
    if found:
        raise LimitExceeded("message breaks Discord limits: " + "; ".join(map(str, found)))


def fit_lines(lines: list[str], limit: int, more: str) -> str:
    """Join lines within ``limit`` characters, ending with ``more`` (formatted with n) if cut.

    A single line longer than the limit is shortened with an ellipsis.
    """
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        remaining = len(lines) - i
        tail = "\n" + more.format(n=remaining - 1) if remaining > 1 else ""
        cost = len(line) + (1 if out else 0)
        if used + cost + len(tail) <= limit:
            out.append(line)
            used += cost
            continue
        if not out:  # not even the first line fits: shorten it
            suffix = "\n" + more.format(n=remaining - 1) if remaining > 1 else ""
            room = max(1, limit - len(suffix) - 1)
            return line[:room] + "…" + suffix
        out.append(more.format(n=remaining))
        return "\n".join(out)
    return "\n".join(out)


def shorten(text: str, limit: int) -> str:
    """Text cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
