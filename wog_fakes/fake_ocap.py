"""A stand-in for an OCAP2 web server on loopback, serving real recordings.

It answers what the platform reads from OCAP2 web (github.com/OCAP2/web): ``GET
/api/v1/operations`` (a JSON array of operations) and ``GET /data/<filename>.json.gz`` (the
recording, gzip, sent with ``Content-Encoding: gzip`` as OCAP2 web does for gzip files). Used
by the tests (the 90 sg.zone recordings under ``tests/data/ocap/sg-zone``) and usable by hand:
``FakeOcapServer.from_sg_zone(folder)``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import html
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

_ROW = re.compile(
    r'href="/replays/(?P<id>\d+)">(?P<mission>[^<]*)</a></td>\s*<td>(?P<map>[^<]*)</td>'
    r"\s*<td>[^<]*</td>\s*<td>(?P<date>\d{2}\.\d{2}\.\d{4})"
)


@dataclass
class Recording:
    id: int
    filename: str  # without .json.gz, as OCAP2 web stores it
    mission_name: str
    world_name: str
    date: str
    body: bytes  # gzip
    mission_duration: float = 0.0

    def operation(self) -> dict:
        return {
            "id": self.id,
            "world_name": self.world_name,
            "mission_name": self.mission_name,
            "mission_duration": self.mission_duration,
            "filename": self.filename,
            "date": self.date,
            "tag": "TvT",
        }


class FakeOcapServer:
    """An OCAP2-web-compatible server for ``recordings`` (add more while it runs)."""

    def __init__(self, recordings: list[Recording] | None = None):
        self.recordings: dict[str, Recording] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        for rec in recordings or []:
            self.publish(rec)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @classmethod
    def from_sg_zone(cls, folder: Path) -> FakeOcapServer:
        return cls(sg_zone_recordings(folder))

    def publish(self, rec: Recording) -> None:
        with self._lock:
            self.recordings[rec.filename] = rec

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def __enter__(self) -> FakeOcapServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                path = unquote(urlsplit(self.path).path)
                fake.requests.append(path)
                with fake._lock:
                    recs = sorted(fake.recordings.values(), key=lambda r: r.id)
                if path == "/api/v1/operations":
                    self._send(200, json.dumps([r.operation() for r in recs]).encode(), {})
                    return
                if path.startswith("/data/") and path.endswith(".json.gz"):
                    name = path[len("/data/") : -len(".json.gz")]
                    rec = fake.recordings.get(name)
                    if rec is not None:
                        self._send(200, rec.body, {"Content-Encoding": "gzip"})
                        return
                self._send(404, b"", {})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        return Handler


def sg_zone_recordings(folder: Path) -> list[Recording]:
    """The sg.zone recordings of ``folder`` (manifest.json, bytes/, list/) as operations."""
    manifest = json.loads((folder / "manifest.json").read_text())
    listed: dict[str, tuple[str, str, str]] = {}
    for page in sorted((folder / "list").glob("*.html.gz")):
        text = gzip.decompress(page.read_bytes()).decode("utf-8")
        for m in _ROW.finditer(text):
            day = dt.datetime.strptime(m["date"], "%d.%m.%Y").date().isoformat()
            listed[m["id"]] = (html.unescape(m["mission"]), html.unescape(m["map"]), day)
    recordings = []
    for url, path in manifest["bytes"].items():
        rid = Path(path).name.split(".")[0]
        filename = url.rsplit("/", 1)[1].removesuffix(".json")
        mission, world, day = listed.get(rid, ("", "", ""))
        recordings.append(
            Recording(
                id=int(rid),
                filename=filename,
                mission_name=mission,
                world_name=world,
                date=day,
                body=(folder / path).read_bytes(),
            )
        )
    return recordings
