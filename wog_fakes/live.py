"""The demo's stats site: the fake site on loopback, publishing a new game every interval."""

from __future__ import annotations

import threading
from collections.abc import Callable

from wog_fakes.fake_site import FakeSite
from wog_fakes.generator import GameOptions, generate_game, generate_games

FIRST_DEMO_ID = 3400
INITIAL_GAMES = 12
SEED = 42
DEMO_CHANNEL_ID = 100000000000000042  # the Discord stand-in's channel the demo posts to


def start_demo_site(
    newest_loaded: int | None, interval_s: float, echo: Callable[[str], None] = print
) -> FakeSite:
    """Start a fake site with a dozen games and publish one more every ``interval_s``.

    It continues after the games an earlier demo loaded (``newest_loaded``), so the sensor sees
    new ids again. The publishing thread is a daemon: it ends with the process.
    """
    first = max(FIRST_DEMO_ID, (newest_loaded or 0) - (INITIAL_GAMES - 1))
    site = FakeSite().start()
    site.publish(*generate_games(first, INITIAL_GAMES, seed=SEED))
    echo(
        f"demo: fake stats site at {site.url} with games {first}..{first + INITIAL_GAMES - 1}; "
        f"a new game every {interval_s:.0f}s"
    )

    def publish_more() -> None:
        next_id = first + INITIAL_GAMES
        while not site.stopped.wait(interval_s):
            options = GameOptions(players=120 + next_id % 100)
            site.publish(generate_game(next_id, seed=SEED, options=options))
            echo(f"demo: published game {next_id}")
            next_id += 1

    threading.Thread(target=publish_more, name="demo-publisher", daemon=True).start()
    return site
