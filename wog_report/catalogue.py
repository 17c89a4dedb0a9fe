"""Every user-facing string of the Discord message, in Russian (default) and English."""

from __future__ import annotations

from wog_core.settings import LANGUAGES

_STRINGS: dict[str, dict[str, str]] = {
    # Operator alerts (the admin channel or webhook); {error} is the error as it was raised
    "alert_list_unparsed": {
        "ru": "🧩 Список игр на сайте больше не разбирается парсером: {error}",
        "en": "🧩 The games list no longer matches the parser: {error}",
    },
    "alert_gave_up": {
        "ru": "⚠️ Сенсор сдался на игре {replay} после {tries} попыток; перезапустите её в Dagster UI или `wog announce {replay}`",
        "en": "⚠️ The sensor gave up on game {replay} after {tries} tries; re-run it from the UI or `wog announce {replay}`",
    },
    "alert_site_down": {
        "ru": "🔴 Сайт статистики недоступен уже {minutes} мин: {error}",
        "en": "🔴 The stats site has been unreachable for {minutes} min: {error}",
    },
    "alert_site_up": {
        "ru": "🟢 Сайт статистики снова доступен.",
        "en": "🟢 The stats site is reachable again.",
    },
    "alert_run_failed": {
        "ru": "❌ Запуск для {what} завершился ошибкой: {error}\n{url}",
        "en": "❌ The run for {what} failed: {error}\n{url}",
    },
    "alert_game": {"ru": "игры {replay}", "en": "game {replay}"},
    "alert_no_chart": {
        "ru": "⚠️ {target}: сообщение об игре не приняли с графиком и отправили без него ({error}). Дайте боту право *Attach Files* в этом канале.",
        "en": "⚠️ {target}: a game message was refused with its chart and posted without it ({error}). Give the bot *Attach Files* in that channel.",
    },
    "alert_failed": {
        "ru": "❌ Сообщение ({about}) в {target} не отправлено: {error}. Исправьте и выполните `wog notifications retry {id}`.",
        "en": "❌ The message for {about} to {target} failed for good: {error}. Fix it, then `wog notifications retry {id}`.",
    },
    "alert_unknown": {
        "ru": "❓ Сообщение ({about}) в {target} могло не дойти (бот остановился посреди запроса). Проверьте канал; если его нет: `wog notifications retry {id}`.",
        "en": "❓ The message for {about} to {target} may not have been posted (the bot stopped mid-request). Check the channel; if it is missing: `wog notifications retry {id}`.",
    },
    "alert_paused": {
        "ru": "⏸️ {target}: Discord не принимает сообщения ({error}). {fix} Отправка туда приостановлена, ждут {held} сообщ.; бот проверяет снова при запуске и каждые {minutes} мин, или сразу: `wog notifications retry --target {target}`.",
        "en": "⏸️ {target}: Discord refuses posts there ({error}). {fix} Posting there is paused with {held} message(s) held; the bot tries again when it starts and every {minutes} min, or now: `wog notifications retry --target {target}`.",
    },
    "alert_resumed": {
        "ru": "▶️ {target} снова принимает сообщения; отправляются {held} ожидавших.",
        "en": "▶️ {target} accepts posts again; the {held} held message(s) are being posted.",
    },
    "fix_gone_webhook": {
        "ru": "Вебхук удалён или его токен неверен: создайте новый и укажите его URL (WOG_DISCORD_WEBHOOK_URL или WOG_ADMIN_WEBHOOK_URL).",
        "en": "The webhook was deleted or its token is wrong: create a new one and set its URL (WOG_DISCORD_WEBHOOK_URL or WOG_ADMIN_WEBHOOK_URL).",
    },
    "fix_gone_channel": {
        "ru": "Канала нет или бот его не видит: проверьте WOG_DISCORD_CHANNEL_IDS.",
        "en": "The channel is gone or the bot cannot see it: check WOG_DISCORD_CHANNEL_IDS.",
    },
    "fix_no_access": {
        "ru": "Дайте боту в этом канале права View Channel, Send Messages и Embed Links.",
        "en": "Give the bot View Channel, Send Messages and Embed Links in that channel.",
    },
    "fix_token": {
        "ru": "Discord не принимает токен: скопируйте DISCORD_TOKEN заново.",
        "en": "Discord refuses the token: copy DISCORD_TOKEN again.",
    },
    # Twitch alerts (the bot's watcher)
    "twitch_live": {"ru": "🔴 {name} в эфире: {url}", "en": "🔴 {name} is live: {url}"},
    "twitch_clip": {"ru": "🎬 {title} — {url}", "en": "🎬 {title} — {url}"},
    "twitch_clip_by": {
        "ru": "🎬 {title} (клип от {author}) — {url}",
        "en": "🎬 {title} (clipped by {author}) — {url}",
    },
    "content": {"ru": "📨 Доступен новый реплей!", "en": "📨 A new replay is available!"},
    "general_title": {"ru": "📉 Общая статистика", "en": "📉 General statistics"},
    "info": {"ru": "Информация", "en": "Information"},
    "info_value": {
        "ru": "Дата: {date}\nМиссия: {mission}\nОстров: {island}",
        "en": "Date: {date}\nMission: {mission}\nIsland: {island}",
    },
    "sides": {"ru": "Стороны и командиры", "en": "Sides and commanders"},
    "side_line": {
        "ru": "{square} {side} ({players}) — {commander}",
        "en": "{square} {side} ({players}) — {commander}",
    },
    "no_commander": {"ru": "без командира", "en": "no commander"},
    "no_sides": {"ru": "Нет данных", "en": "No data"},
    "players": {"ru": "Всего игроков", "en": "Players"},
    "players_value": {"ru": "{active} / {slots}", "en": "{active} / {slots}"},
    "time": {"ru": "Время", "en": "Time"},
    "time_value": {
        "ru": "Начало: {start}\nКонец: {end}\nДлительность: {duration}",
        "en": "Start: {start}\nEnd: {end}\nDuration: {duration}",
    },
    "result": {"ru": "Итоги", "en": "Result"},
    "winner": {"ru": "Победа: {square} {side}", "en": "Winner: {square} {side}"},
    "no_winner": {"ru": "Победитель не определён", "en": "No winner"},
    "survivors": {"ru": "До конца миссии дожили", "en": "Survived to the end"},
    "survivors_line": {"ru": "{square} {side}: {count}", "en": "{square} {side}: {count}"},
    "personal_title": {"ru": "📝 Личная статистика", "en": "📝 Personal statistics"},
    "top_killers": {"ru": "Лучшие кибератлеты", "en": "Top killers"},
    "top_teamkillers": {"ru": "Лучшие тимкиллеры", "en": "Top teamkillers"},
    "rank_line": {"ru": "{rank}. {nickname} — {count}", "en": "{rank}. {nickname} — {count}"},
    "no_kills": {"ru": "Фрагов не зафиксировано.", "en": "No frags were recorded."},
    "no_teamkills": {
        "ru": "Удивительно, но тимкиллов не зафиксировано.",
        "en": "Amazingly, no teamkills were recorded.",
    },
    "frags_title": {"ru": "🔫 Выдающиеся фраги", "en": "🔫 Notable frags"},
    "first_frag": {"ru": "Первый фраг", "en": "First frag"},
    "last_frag": {"ru": "Последний фраг", "en": "Last frag"},
    "longest_frag": {"ru": "Самый дальний фраг", "en": "Longest frag"},
    "frag_line": {
        "ru": "⏱ {time}\nЖертва: {victim}\nУбийца: {killer}\nДистанция: {distance}\nОружие: {weapon}",
        "en": "⏱ {time}\nVictim: {victim}\nKiller: {killer}\nDistance: {distance}\nWeapon: {weapon}",
    },
    "teamkill_remark": {"ru": "⚠️ Тимкилл!", "en": "⚠️ Teamkill!"},
    "unknown_killer": {"ru": "Убийца неизвестен", "en": "Killer unknown"},
    "unknown_weapon": {"ru": "неизвестно", "en": "unknown"},
    "distance_m": {"ru": "{distance} м", "en": "{distance} m"},
    "no_frags": {"ru": "Фрагов не было.", "en": "There were no frags."},
    "vehicles_title": {"ru": "🚚 Доступная техника", "en": "🚚 Available vehicles"},
    "no_vehicles": {"ru": "Техники не было.", "en": "No vehicles."},
    "vehicle_line": {"ru": "{count}x {name}", "en": "{count}x {name}"},
    "vehicle_other": {"ru": "Другая техника ({code})", "en": "Other vehicles ({code})"},
    "more": {"ru": "…и ещё {n}", "en": "…and {n} more"},
    "more_types": {"ru": "Прочее", "en": "Other"},
    "link_title": {"ru": "🔗 Страница игры на WOG Stats", "en": "🔗 Game page on WOG Stats"},
    "link_value": {"ru": "Реплей #{replay_id}: {url}", "en": "Replay #{replay_id}: {url}"},
    "chart_title": {"ru": "Фраги сторон по ходу миссии", "en": "Frags per side over the mission"},
    "chart_x": {"ru": "Время миссии, мин", "en": "Mission time, min"},
    "chart_y": {"ru": "Фрагов (нарастающим итогом)", "en": "Frags (cumulative)"},
    "chart_empty": {"ru": "Фрагов не было", "en": "No frags"},
    # slash commands
    "cmd_replay": {"ru": "Сводка игры по номеру", "en": "A game's summary by its number"},
    "cmd_replay_id": {"ru": "Номер игры", "en": "The game's number"},
    "cmd_last": {"ru": "Последняя игра", "en": "The latest game"},
    "cmd_top": {
        "ru": "Лучшие игроки: за N игр или таблица периода",
        "en": "Top players: over the last N games, or a period's table",
    },
    "cmd_top_games": {"ru": "Сколько последних игр (10)", "en": "How many recent games (10)"},
    "cmd_ping": {"ru": "Проверка связи", "en": "Is the bot alive"},
    "cmd_pong": {"ru": "🏓 pong", "en": "🏓 pong"},
    "cmd_replay_missing": {
        "ru": "Игра #{replay_id} не найдена в базе.",
        "en": "Game #{replay_id} is not in the database.",
    },
    "cmd_no_games": {"ru": "В базе пока нет игр.", "en": "No games in the database yet."},
    "cmd_replay_id_invalid": {
        "ru": "Номер игры — целое число от {low} до {high}.",
        "en": "A game number is a whole number from {low} to {high}.",
    },
    "cmd_top_games_invalid": {
        "ru": "Число игр должно быть от {low} до {high}.",
        "en": "games must be {low}..{high}.",
    },
    "cmd_no_frags": {"ru": "Фрагов пока нет.", "en": "No frags yet."},
    "cmd_top_title": {
        "ru": "🏆 Лучшие кибератлеты за {games} игр",
        "en": "🏆 Top killers over {games} games",
    },
    "cmd_failed": {
        "ru": "Что-то пошло не так, попробуйте позже.",
        "en": "Something went wrong; please try again later.",
    },
    "cmd_unknown": {"ru": "Неизвестная команда: {name}", "en": "Unknown command: {name}"},
    "cmd_player": {"ru": "Карьера игрока", "en": "A player's career"},
    "cmd_rivals": {
        "ru": "Кто убивал игрока чаще всех и кого он",
        "en": "Who killed a player most, and whom they killed most",
    },
    "cmd_name": {
        "ru": "Ник (нынешний или прежний) или номер игрока",
        "en": "Nickname (current or past) or player id",
    },
    "cmd_name_invalid": {
        "ru": "Укажите ник или номер игрока.",
        "en": "Give a nickname or a player id.",
    },
    "cmd_player_unknown": {"ru": "Игрок «{name}» не найден.", "en": "No player «{name}» found."},
    "cmd_player_ambiguous": {
        "ru": "Ник «{name}» носили несколько игроков — укажите номер.",
        "en": "Several players have been called «{name}»: give an id.",
    },
    "career_title": {"ru": "🎖️ {name}", "en": "🎖️ {name}"},
    "career_games": {"ru": "Игры", "en": "Games"},
    "career_kills": {"ru": "Убийства / смерти / тимкиллы", "en": "Kills / deaths / teamkills"},
    "career_kd": {"ru": "K/D", "en": "K/D"},
    "career_vitality": {"ru": "Живучесть", "en": "Vitality"},
    "career_score": {"ru": "Рейтинг", "en": "Score"},
    "career_longest": {"ru": "Самое дальнее убийство", "en": "Longest kill"},
    "career_weapon": {"ru": "Любимое оружие", "en": "Favourite weapon"},
    "career_command": {"ru": "Командовал / побед", "en": "Commanded / won"},
    "career_unranked": {
        "ru": "Меньше {n} игр — вне рейтинга",
        "en": "Fewer than {n} games: not ranked",
    },
    "rivals_title": {"ru": "⚔️ Соперники: {name}", "en": "⚔️ Rivals: {name}"},
    "rivals_nemesis": {"ru": "Чаще всех убивал его", "en": "Nemesis"},
    "rivals_victim": {"ru": "Чаще всех убивал он", "en": "Favourite victim"},
    "rivals_line": {"ru": "{name} — {kills}", "en": "{name} — {kills}"},
    "rivals_nobody": {"ru": "никто", "en": "nobody"},
    # --- career charts, period tables, digests -------------------------------------------
    "career_chart_title": {"ru": "Убийства и смерти по играм", "en": "Kills and deaths per game"},
    "career_chart_kills": {"ru": "убийства", "en": "kills"},
    "career_chart_deaths": {"ru": "смерти", "en": "deaths"},
    "career_chart_x": {"ru": "Игры по порядку", "en": "Games in order"},
    "board_score": {"ru": "🏆 Рейтинг", "en": "🏆 Score"},
    "board_kills": {"ru": "🔫 Убийства", "en": "🔫 Kills"},
    "board_deaths": {"ru": "💀 Смерти", "en": "💀 Deaths"},
    "board_teamkills": {"ru": "🤦 Позорный список тимкиллеров", "en": "🤦 Teamkill shame list"},
    "board_vitality": {"ru": "🛡 Живучесть", "en": "🛡 Vitality"},
    "board_longest_kill": {"ru": "🎯 Самые дальние убийства", "en": "🎯 Longest kills"},
    "board_commanders": {"ru": "🎖 Лучшие командиры", "en": "🎖 Best commanders"},
    "board_line": {"ru": "{rank}. {nickname} — {value}", "en": "{rank}. {nickname} — {value}"},
    "board_empty": {"ru": "Никого.", "en": "Nobody."},
    "value_metres": {"ru": "{m:.0f} м", "en": "{m:.0f} m"},
    "value_commands": {"ru": "{wins} из {games}", "en": "{wins} of {games}"},
    "period_all": {"ru": "за всё время", "en": "all time"},
    "period_week": {
        "ru": "неделя {week} ({first} – {last})",
        "en": "week {week} ({first} – {last})",
    },
    "period_month": {"ru": "{month} {year}", "en": "{month} {year}"},
    "months": {
        "ru": "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь",
        "en": "January February March April May June July August September October November "
        "December",
    },
    "cmd_top_board_title": {"ru": "{board}: {period}", "en": "{board}: {period}"},
    "cmd_top_empty": {
        "ru": "Таблица пуста ({period}): игр не было или ни у кого нет нужного числа игр.",
        "en": "The table is empty ({period}): no games, or nobody has enough games to rank.",
    },
    "cmd_top_period": {
        "ru": "Период: 2026-03 (месяц) или 2026-W10 (неделя)",
        "en": "Period: 2026-03 (a month) or 2026-W10 (an ISO week)",
    },
    "cmd_top_metric": {"ru": "Показатель таблицы", "en": "Which table"},
    "cmd_period_invalid": {
        "ru": "Период — месяц (2026-03) или неделя (2026-W10).",
        "en": "A period is a month (2026-03) or an ISO week (2026-W10).",
    },
    "cmd_metric_invalid": {"ru": "Неизвестный показатель.", "en": "Unknown metric."},
    "cmd_commanders": {"ru": "Лучшие командиры", "en": "Best commanders"},
    "digest_week_content": {
        "ru": "📊 Итоги недели: {period}. Игр: {games}.",
        "en": "📊 The week in review: {period}. Games: {games}.",
    },
    "digest_month_content": {
        "ru": "🏅 Номинации месяца: {period}. Игр: {games}.",
        "en": "🏅 Nominations of the month: {period}. Games: {games}.",
    },
    "digest_tables": {"ru": "Таблицы", "en": "Tables"},
    "digest_nominations": {"ru": "Номинации", "en": "Nominations"},
    "digest_no_nominations": {"ru": "Номинантов нет.", "en": "No nominees."},
    "digest_chart_title": {"ru": "Убийства: лучшие 10", "en": "Kills: the top 10"},
    "digest_footer": {
        "ru": "Рейтинг: (убийства + {c}·μ) / (игры + {c}); в таблицах — от {n} игр за период",
        "en": "Score: (kills + {c}·μ) / (games + {c}); tables list players with {n}+ games",
    },
    "award_mvp": {"ru": "🏅 Лучший игрок", "en": "🏅 Player of the period"},
    "award_sharpshooter": {"ru": "🎯 Снайпер", "en": "🎯 Sharpshooter"},
    "award_survivor": {"ru": "🛡 Выживальщик", "en": "🛡 Survivor"},
    "award_one_man_army": {"ru": "💥 Армия одного", "en": "💥 One-man army"},
    "award_friendly_fire": {"ru": "🤦 Дружественный огонь", "en": "🤦 Friendly fire"},
    "award_iron_commander": {"ru": "🎖 Железный командир", "en": "🎖 Iron commander"},
    "award_newcomer": {"ru": "🌱 Новичок", "en": "🌱 Newcomer"},
    "award_value_mvp": {"ru": "рейтинг {v:.2f}", "en": "score {v:.2f}"},
    "award_value_sharpshooter": {"ru": "{v:.0f} м, игра {game}", "en": "{v:.0f} m, game {game}"},
    "award_value_survivor": {"ru": "выжил в {v:.0%} игр", "en": "survived {v:.0%} of games"},
    "award_value_one_man_army": {
        "ru": "{v:.0f} убийств за игру, игра {game}",
        "en": "{v:.0f} kills in one game, game {game}",
    },
    "award_value_friendly_fire": {"ru": "{v:.0f} тимкиллов", "en": "{v:.0f} teamkills"},
    "award_value_iron_commander": {"ru": "{v:.0f} побед", "en": "{v:.0f} wins"},
    "award_value_newcomer": {"ru": "{v:.0f} убийств", "en": "{v:.0f} kills"},
}

VEHICLE_LABELS: dict[str, dict[str, str]] = {
    "static-mortar": {"ru": "Миномет", "en": "Mortar"},
    "static-weapon": {"ru": "Стационарное", "en": "Static weapon"},
    "apc": {"ru": "БМП/БТР", "en": "APC/IFV"},
    "car": {"ru": "Автомобиль", "en": "Car"},
    "tank": {"ru": "Танк", "en": "Tank"},
    "truck": {"ru": "Грузовик", "en": "Truck"},
    "parachute": {"ru": "Парашют", "en": "Parachute"},
    "plane": {"ru": "Авиация", "en": "Aircraft"},
    "heli": {"ru": "Вертолет", "en": "Helicopter"},
    "sea": {"ru": "Флот", "en": "Boats"},
}


class Catalogue:
    """Strings of one language."""

    def __init__(self, lang: str = "ru"):
        self.lang = lang
        if self.lang not in LANGUAGES:
            raise ValueError(f"unknown language {self.lang!r}")

    def __call__(self, key: str, **values: object) -> str:
        return _STRINGS[key][self.lang].format(**values)

    def vehicle_type(self, code: str) -> str:
        """The label for a vehicle type; a type we have no label for gets a neutral one that
        still names it (the site may add types; OCAP communities have their own)."""
        labels = VEHICLE_LABELS.get(code)
        return labels[self.lang] if labels else self("vehicle_other", code=code)
