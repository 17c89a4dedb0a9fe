"""User text (nicknames, mission names) made safe to show next to other text.

A nickname may carry Unicode's explicit direction controls — U+202E RIGHT-TO-LEFT OVERRIDE
and friends — which, left unbalanced, reorder everything after them on the line: a Discord
field, a leaderboard row, a terminal. :func:`isolate_bidi` drops those controls and, when the
text has right-to-left letters (or had controls), wraps it in FIRST STRONG ISOLATE … POP
DIRECTIONAL ISOLATE, so it keeps its own direction without touching its neighbours. Plain
left-to-right text (Latin, Cyrillic) comes back unchanged.
"""

from __future__ import annotations

import re

# Embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO; LRI, RLI, FSI, PDI) and the
# direction marks (LRM, RLM, ALM).
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# Strong right-to-left letters: Hebrew, Arabic, Syriac, Thaana, NKo … and their presentation
# forms.
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
FSI, PDI = "\u2068", "\u2069"


def isolate_bidi(text: str) -> str:
    """``text`` without direction controls, isolated if it has right-to-left letters or had
    controls."""
    stripped = _BIDI_CONTROLS.sub("", text)
    if stripped != text or _RTL.search(stripped):
        return f"{FSI}{stripped}{PDI}"
    return stripped
