"""A standalone HTML page that shows a stored message roughly as Discord renders it."""

from __future__ import annotations

import base64
import html
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wog_core.models import Replay

_ESCAPED = re.compile(r"\\([\\*_~|`\[\]>#\-+])")


def _text(value: str) -> str:
    """Discord-escaped markdown → safe HTML (escapes shown as the literal characters)."""
    return html.escape(_ESCAPED.sub(r"\1", value)).replace("\n", "<br>")


def _hex(colour: int | None) -> str:
    return f"#{(colour or 0x202225):06x}"


def render_preview(
    payload: dict[str, Any], attachment: bytes | None = None, *, title: str = "WOG replay preview"
) -> str:
    """HTML for a stored payload (``to_payload``) and its chart PNG."""
    image_src = ""
    if attachment:
        image_src = "data:image/png;base64," + base64.b64encode(attachment).decode("ascii")
    embeds_html = []
    for embed in payload.get("embeds", []):
        parts = []
        if embed.get("title"):
            title_html = _text(embed["title"])
            if embed.get("url"):
                title_html = f'<a href="{html.escape(embed["url"], quote=True)}">{title_html}</a>'
            parts.append(f'<div class="title">{title_html}</div>')
        if embed.get("description"):
            parts.append(f'<div class="description">{_text(embed["description"])}</div>')
        fields = []
        for field in embed.get("fields", []):
            cls = "field inline" if field.get("inline") else "field"
            fields.append(
                f'<div class="{cls}"><div class="name">{_text(field["name"])}</div>'
                f'<div class="value">{_text(field["value"])}</div></div>'
            )
        if fields:
            parts.append(f'<div class="fields">{"".join(fields)}</div>')
        image = (embed.get("image") or {}).get("url", "")
        if image.startswith("attachment://") and image_src:
            parts.append(f'<img class="image" alt="battle chart" src="{image_src}">')
        if embed.get("footer", {}).get("text"):
            parts.append(f'<div class="footer">{_text(embed["footer"]["text"])}</div>')
        embeds_html.append(
            f'<div class="embed" style="border-left-color:{_hex(embed.get("color"))}">{"".join(parts)}</div>'
        )
    return f"""<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ background:#313338; color:#dbdee1; font-family:"gg sans","Noto Sans","Helvetica Neue",Arial,sans-serif;
       margin:0; padding:24px; font-size:15px; }}
.message {{ display:flex; gap:16px; max-width:860px; }}
.avatar {{ width:40px; height:40px; border-radius:50%; background:#237feb; flex:none; display:flex;
          align-items:center; justify-content:center; color:white; font-weight:700; }}
.author {{ color:#f2f3f5; font-weight:600; }} .bot {{ background:#5865f2; color:white; font-size:10px;
          border-radius:3px; padding:1px 4px; margin-left:4px; vertical-align:middle; }}
.content {{ margin:4px 0 8px; }}
.embed {{ background:#2b2d31; border-left:4px solid; border-radius:4px; padding:8px 16px 16px 12px;
          margin-top:8px; max-width:520px; }}
.title {{ color:#f2f3f5; font-weight:700; margin-top:8px; }} .title a {{ color:#00a8fc; text-decoration:none; }}
.description {{ margin-top:8px; font-size:14px; }}
.fields {{ display:grid; grid-template-columns:repeat(3, 1fr); gap:8px 16px; margin-top:8px; }}
.field {{ grid-column:1 / -1; font-size:14px; }} .field.inline {{ grid-column:auto; }}
.name {{ color:#f2f3f5; font-weight:600; margin-bottom:2px; }}
.image {{ margin-top:16px; max-width:100%; border-radius:4px; display:block; }}
.footer {{ margin-top:8px; font-size:12px; color:#b5bac1; }}
</style></head>
<body><div class="message"><div class="avatar">W</div><div>
<div><span class="author">WOG Replays</span><span class="bot">BOT</span></div>
<div class="content">{_text(payload.get("content") or "")}</div>
{"".join(embeds_html)}
</div></div></body></html>
"""


def preview_page(replay: Replay, page_url: str, language: str) -> str:
    """The preview page of ``replay``'s Discord message (with its chart) in ``language``."""
    from wog_report.build import build_message, to_payload
    from wog_report.catalogue import Catalogue
    from wog_report.chart import render_chart
    from wog_report.summary import summarize

    catalogue = Catalogue(language)
    message = build_message(summarize(replay), page_url, catalogue=catalogue)
    return render_preview(
        to_payload(message), render_chart(replay, catalogue), title=f"Replay {replay.replay_id}"
    )
