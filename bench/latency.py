"""Benchmark: time from committing a pending notification to the fake Discord receiving it.

Starts a private Postgres and the fake Discord, runs the bot's dispatcher (LISTEN/NOTIFY, with
the fallback poll set to 30 s so it cannot be what delivers), commits 100 pending notifications
one by one, and prints the median / p95 / max latency. Target: median <= 1 s.

    uv run python bench/latency.py [--count 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import threading
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between commits")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import hikari
    import sqlalchemy as sa

    from dbschema.connection import temporary_server
    from dbschema.migrate import upgrade
    from wog_bot.delivery import ChannelSender, Dispatcher, Senders
    from wog_core.settings import BotSettings
    from wog_fakes.discord import BOT_TOKEN, FakeDiscord
    from wog_fakes.generator import GameOptions, generate_game
    from wog_report.build import build_message, to_payload
    from wog_report.summary import summarize
    from wog_warehouse.queue import enqueue
    from wog_warehouse.replays import write_replay

    server = contextlib.ExitStack()  # the embedded Postgres, removed on close
    url = server.enter_context(temporary_server())
    engine = sa.create_engine(url)
    upgrade(engine)

    payloads = {}
    for i in range(args.count):
        game = generate_game(5000 + i, seed=1, options=GameOptions(players=30, frags=20))
        write_replay(engine, game.replay, f"https://stats.example/games/{game.replay_id}/")
        payloads[game.replay_id] = to_payload(
            build_message(summarize(game.replay), "https://x/", with_chart=False)
        )

    with FakeDiscord() as discord:
        settings = BotSettings(
            discord_token=BOT_TOKEN,
            discord_api_url=discord.api_url,
            channel_ids=(111,),
            poll_interval_s=30,
        )
        stop = asyncio.Event()
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def dispatcher() -> None:
            app = hikari.RESTApp(url=discord.api_url)
            await app.start()
            async with app.acquire(BOT_TOKEN, hikari.TokenType.BOT) as rest:
                d = Dispatcher(engine, Senders(ChannelSender(rest, [111])), settings)
                task = asyncio.create_task(d.run(stop, url))
                ready.set()
                await task
            await app.close()

        thread = threading.Thread(target=lambda: loop.run_until_complete(dispatcher()), daemon=True)
        thread.start()
        ready.wait(30)
        time.sleep(1.0)  # let it LISTEN

        committed: dict[int, float] = {}
        for replay_id, payload in payloads.items():
            enqueue(engine, replay_id, ["channel:111"], payload, None, announce=True)
            committed[replay_id] = time.monotonic()
            time.sleep(args.gap)
        deadline = time.monotonic() + 60
        while len(discord.channel_messages(111)) < args.count and time.monotonic() < deadline:
            time.sleep(0.05)
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)

        received = {}
        for r in discord.requests:
            if r.method == "POST" and r.json and r.json.get("nonce"):
                replay_id = int(r.json["nonce"][3:].split("n")[0])
                received.setdefault(replay_id, r.at)
    latencies = sorted(received[rid] - committed[rid] for rid in received)
    print(
        f"delivered {len(latencies)}/{args.count} notifications (fallback poll: {settings.poll_interval_s:.0f} s)"
    )
    if latencies:
        p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
        print(f"latency: median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
              f" (target: median <= 1000 ms; {1.0 / statistics.median(latencies):.0f}x under it)")  # fmt: skip
    server.close()


if __name__ == "__main__":
    main()
