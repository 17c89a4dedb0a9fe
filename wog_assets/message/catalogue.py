"""Every user-facing string of the Discord message, in Russian (default) and English."""

from __future__ import annotations

from wog_core import settings
from wog_core.settings import LANGUAGES

_STRINGS: dict[str, dict[str, str]] = {
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
    "cmd_top": {"ru": "Лучшие игроки за N игр", "en": "Top killers over the last N games"},
    "cmd_top_games": {"ru": "Сколько последних игр (10)", "en": "How many recent games (10)"},
    "cmd_ping": {"ru": "Проверка связи", "en": "Is the bot alive"},
    "cmd_pong": {"ru": "🏓 pong", "en": "🏓 pong"},
    "cmd_replay_missing": {
        "ru": "Игра #{replay_id} не найдена в базе.",
        "en": "Game #{replay_id} is not in the database.",
    },
    "cmd_no_games": {"ru": "В базе пока нет игр.", "en": "No games in the database yet."},
    "cmd_replay_id_invalid": {"ru": "Укажите номер игры.", "en": "Give a game number."},
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

    def __init__(self, lang: str | None = None):
        self.lang = lang or settings.current().pipeline.language
        if self.lang not in LANGUAGES:
            raise ValueError(f"unknown language {self.lang!r}")

    def __call__(self, key: str, **values: object) -> str:
        return _STRINGS[key][self.lang].format(**values)

    def vehicle_type(self, code: str) -> str:
        """The label for a vehicle type; a type we have no label for gets a neutral one that
        still names it (the site may add types; OCAP communities have their own)."""
        labels = VEHICLE_LABELS.get(code)
        return labels[self.lang] if labels else self("vehicle_other", code=code)
