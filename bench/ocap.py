"""Benchmark: decoding OCAP2 recordings vs ``json.loads`` of the same bytes.

Two inputs: the largest of the 90 real sg.zone recordings (tests/data/ocap/sg-zone) and a
synthetic recording of about 200 MB whose positions random-walk like real movement (so it
neither compresses nor caches unlike the real thing). Each measurement runs in a fresh process
that first reads the uncompressed JSON into memory, then decodes it; it reports the time and the
peak of what decoding allocates (tracemalloc, in a second untimed run) and the process's
peak RSS, i.e. what decoding costs on top of holding the document. Prints MB/s of uncompressed JSON, the extra memory, and the ratios.
Targets on the large input: >= 10x faster and >= 10x less memory than json.loads.

    uv run python bench/ocap.py [--synthetic-mb 200]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "tests" / "data" / "ocap" / "sg-zone" / "bytes"


def _child(kind: str, path: str) -> None:
    """Run one measurement in this process and print it as JSON."""
    import tracemalloc

    from wog_sources.ocap import decode_recording

    body = Path(path).read_bytes()
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)

    def run() -> int:
        if kind == "json":
            return len(json.loads(body)["entities"])
        return len(decode_recording(body, replay_id=1).replay.players)

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    facts = run()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()  # a second, untimed run: the peak of what decoding allocates
    run()
    allocated = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "extra_kb": allocated / 1024,
                "rss_delta_kb": peak - before,
                "peak_kb": peak,
                "facts": facts,
            }
        )
    )


def _measure(kind: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def synthetic(path: Path, target_mb: int, seed: int = 7) -> int:
    """Write a plain-JSON recording of about ``target_mb`` MB; returns its size in bytes."""
    rng = random.Random(seed)
    units, vehicles = 180, 40
    frame_bytes = (units * 51) + (vehicles * 36)
    frames = max(10, target_mb * 1_000_000 // frame_bytes)
    sides = ["EAST", "WEST", "GUER"]
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '{"worldName":"altis","missionName":"bench@200_synthetic","missionAuthor":"bench",'
            f'"captureDelay":1,"endFrame":{frames},"Markers":[],"entities":['
        )
        for uid in range(units + vehicles):
            if uid:
                out.write(",")
            x, y = rng.uniform(2000, 20000), rng.uniform(2000, 20000)
            if uid < units:
                name = f"[TAG{uid % 17}]Player_{uid}"
                out.write(
                    f'{{"id":{uid},"startFrameNum":0,"type":"unit","name":{json.dumps(name)},'
                    f'"group":"Alpha {uid // 8}","side":"{sides[uid % 3]}","class":"",'
                    f'"isPlayer":1,"description":"Rifleman","positions":['
                )
                parts = []
                for f in range(frames):
                    x += rng.uniform(-3, 3)
                    y += rng.uniform(-3, 3)
                    parts.append(
                        f"[[{x:.2f},{y:.2f},{rng.randint(0, 40)}],{rng.randint(0, 359)},1,0,"
                        f"{json.dumps(name)},1]"
                    )
                    if len(parts) == 5000 or f == frames - 1:
                        out.write(("," if f >= 5000 else "") + ",".join(parts))
                        parts = []
                out.write('],"framesFired":[]}')
            else:
                out.write(
                    f'{{"id":{uid},"startFrameNum":0,"type":"vehicle","name":"Truck {uid}",'
                    f'"group":"","side":"","class":"truck","isPlayer":0,"description":"",'
                    f'"positions":['
                )
                parts = []
                for f in range(frames):
                    x += rng.uniform(-6, 6)
                    y += rng.uniform(-6, 6)
                    parts.append(f"[[{x:.2f},{y:.2f},0],{rng.randint(0, 359)},1,[]]")
                    if len(parts) == 5000 or f == frames - 1:
                        out.write(("," if f >= 5000 else "") + ",".join(parts))
                        parts = []
                out.write('],"framesFired":[]}')
        out.write('],"events":[')
        events = []
        for n in range(2000):
            victim, killer = rng.randrange(units), rng.randrange(units)
            frame = rng.randrange(frames)
            events.append(f'[{frame},"killed",{victim},[{killer},"AK-12"],{rng.randint(1, 900)}]')
            if n % 10 == 0:
                events.append(f'[{frame},"connected","[TAG1]Player_{victim}",{victim}]')
        out.write(",".join(events))
        out.write("]}")
    return path.stat().st_size


def _report(label: str, path: Path, size: int) -> tuple[float, float]:
    ours = _measure("ocap", path)
    theirs = _measure("json", path)
    mb = size / 1e6
    speed = theirs["seconds"] / ours["seconds"]
    memory = theirs["extra_kb"] / max(ours["extra_kb"], 1)
    rss = theirs["peak_kb"] / ours["peak_kb"]
    print(f"\n{label}: {mb:.1f} MB of JSON")
    print(
        f"  decoder    : {mb / ours['seconds']:8.0f} MB/s  {ours['seconds']:6.2f} s  "
        f"+{ours['extra_kb'] / 1024:7.1f} MB allocated  (peak RSS {ours['peak_kb'] / 1024:.0f} MB)"
    )
    print(
        f"  json.loads : {mb / theirs['seconds']:8.0f} MB/s  {theirs['seconds']:6.2f} s  "
        f"+{theirs['extra_kb'] / 1024:7.1f} MB allocated  "
        f"(peak RSS {theirs['peak_kb'] / 1024:.0f} MB)"
    )
    print(
        f"  ratio      : {speed:.1f}x faster (target >= 10x), {memory:.0f}x less allocated "
        f"(target >= 10x), {rss:.1f}x lower peak RSS including the document itself"
    )
    return speed, memory


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic-mb", type=int, default=200)
    args = parser.parse_args()

    largest = max(REAL.iterdir(), key=lambda p: len(gzip.decompress(p.read_bytes())))
    with tempfile.TemporaryDirectory(prefix="wogocap") as tmp:
        real_json = Path(tmp) / "largest.json"
        real_json.write_bytes(gzip.decompress(largest.read_bytes()))
        _report(f"largest real recording ({largest.name})", real_json, real_json.stat().st_size)
        path = Path(tmp) / "synthetic.json"
        start = time.perf_counter()
        size = synthetic(path, args.synthetic_mb)
        print(f"\n(synthetic recording written in {time.perf_counter() - start:.0f} s)")
        speed, memory = _report("synthetic recording", path, size)
        os.remove(path)
    ok = speed >= 10 and memory >= 10
    print(f"\nlarge input: {'meets' if ok else 'MISSES'} both targets")


if __name__ == "__main__":
    main()
