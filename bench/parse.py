"""Benchmark: replay JSON parsing, ours (typed msgspec decode) vs stdlib ``json.loads``.

Generates a ~100 MB replay JSON (bulky viewer data around a 250-player game) and a typical
one, then parses each in a fresh child process so peak RSS is per-parser. Prints time, the
process's peak RSS (input bytes included) and its growth above the loaded input, and the
ratios (on whole-process peaks). Target: >= 15x faster, >= 10x less peak memory.

    uv run python bench/parse.py [--mb 100]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _rss_peak_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _rss_now_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child(kind: str, path: str) -> None:
    # Both children load the same modules first, so their baselines match.
    from wog_sources.parse import parse_replay_json

    parse_replay_json(b'{"players":{}}')
    json.loads(b'{"players":{}}')
    body = Path(path).read_bytes()
    base = _rss_now_kb()
    started = time.perf_counter()
    if kind == "ours":
        data = parse_replay_json(body, replay_id=1)
        n = len(data.frags)
    else:
        doc = json.loads(body)
        n = len(doc["playersDead"])
    elapsed = time.perf_counter() - started
    peak = _rss_peak_kb()
    print(
        json.dumps(
            {"seconds": elapsed, "peak_mb": peak / 1024, "growth_mb": (peak - base) / 1024, "n": n}
        )
    )


def measure(kind: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="size of the bulky fixture")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    from wog_fakes.generator import GameOptions, generate_game

    with tempfile.TemporaryDirectory() as tmp:
        fixtures = {
            "typical": generate_game(3413, seed=1, options=GameOptions(players=150, frags=300)),
            f"{args.mb:.0f} MB": generate_game(
                3414,
                seed=1,
                options=GameOptions(players=250, frags=600, viewer_bytes=int(args.mb * 2**20)),
            ),
        }
        print(
            f"{'fixture':>10} {'size':>9} {'parser':>7} {'time':>9} {'peak RSS':>10} {'above input':>12}"
        )
        for name, game in fixtures.items():
            path = Path(tmp) / f"{game.replay_id}.json"
            path.write_bytes(game.replay_json)
            size = len(game.replay_json) / 2**20
            ours, stdlib = measure("ours", path), measure("stdlib", path)
            for label, m in (("ours", ours), ("stdlib", stdlib)):
                print(
                    f"{name:>10} {size:>7.1f}MB {label:>7} {m['seconds'] * 1000:>7.1f}ms {m['peak_mb']:>8.1f}MB {m['growth_mb']:>10.1f}MB"
                )
            speed = stdlib["seconds"] / ours["seconds"]
            memory = stdlib["peak_mb"] / ours["peak_mb"]  # whole-process peaks, input included
            growth = stdlib["growth_mb"] / max(ours["growth_mb"], 1.0)
            print(
                f"{name:>10} ratio: {speed:.1f}x faster; {memory:.1f}x lower whole-process peak RSS; "
                f">= {growth:.0f}x less memory above the input than json.loads\n"
            )


if __name__ == "__main__":
    main()
