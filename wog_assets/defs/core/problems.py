"""What went wrong with single replays in a run, carried across its steps to one failure.

One bad replay never holds back the others: every step handles each replay on its own, writes
the good ones and records the bad ones in its materialization metadata (``wog/rejected``: replay
→ reason; ``wog/repaired``: replay → what was repaired). The run's last step then fails, if any
replay was rejected anywhere in the run, with one line per rejected and repaired replay — so the
failure, and ``wog backfill``'s report, name every one of them, whichever step found it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import dagster as dg

REJECTED = "wog/rejected"
REPAIRED = "wog/repaired"

# The replay assets after the fetch steps, in lineage order (every other asset of a replay job
# is a source's fetch step, stage 0); a step is the run's last when no later stage is selected.
STAGES: tuple[frozenset[str], ...] = (
    frozenset({"games", "players", "vehicles", "frags"}),
    frozenset({"player_directory", "player_game_stats"}),
    frozenset({"notifications"}),
)


@dataclass
class Problems:
    """Replays rejected (not written) and repaired (written after a documented repair)."""

    rejected: dict[int, str] = field(default_factory=dict)
    repaired: dict[int, list[str]] = field(default_factory=dict)

    def reject(self, replay_id: int, reason: str) -> None:
        self.rejected.setdefault(replay_id, reason)

    def repair(self, replay_id: int, lines: Iterable[str]) -> None:
        lines = list(lines)
        if lines:
            self.repaired.setdefault(replay_id, []).extend(
                line for line in lines if line not in self.repaired.get(replay_id, [])
            )

    def merge(self, other: Problems) -> None:
        for rid, reason in other.rejected.items():
            self.reject(rid, reason)
        for rid, lines in other.repaired.items():
            self.repair(rid, lines)

    def metadata(self) -> dict[str, dg.MetadataValue]:
        return {
            REJECTED: dg.MetadataValue.json({str(k): v for k, v in sorted(self.rejected.items())}),
            REPAIRED: dg.MetadataValue.json({str(k): v for k, v in sorted(self.repaired.items())}),
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, object]) -> Problems:
        found = cls()
        for key, target in ((REJECTED, found.rejected), (REPAIRED, found.repaired)):
            value = metadata.get(key)
            data = getattr(value, "data", value)
            if isinstance(data, dict):
                target.update({int(k): v for k, v in data.items()})
        return found

    def lines(self) -> list[str]:
        """One line per rejected replay, then one per repair, in id order."""
        lines = [
            f"replay {rid}: rejected: {reason}" for rid, reason in sorted(self.rejected.items())
        ]
        for rid, repairs in sorted(self.repaired.items()):
            lines += [f"replay {rid}: repaired: {line}" for line in repairs]
        return lines


def recorded_in_run(instance: dg.DagsterInstance, run_id: str) -> Problems:
    """Every problem the steps of a run recorded so far (from its materialization events)."""
    found = Problems()
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.asset_materialization
        if materialization is not None and REJECTED in materialization.metadata:
            found.merge(Problems.from_metadata(materialization.metadata))
    return found


def _stage(key: dg.AssetKey) -> int:
    name = key.path[-1]
    return next((i + 1 for i, stage in enumerate(STAGES) if name in stage), 0)


def is_last_step(context: dg.AssetExecutionContext) -> bool:
    """Whether no later stage of the replay assets runs after this step in this run."""
    selected = context.job_def.asset_layer.selected_asset_keys
    mine = max(_stage(key) for key in context.selected_asset_keys)
    return all(_stage(key) <= mine for key in selected)


def finish_step(context: dg.AssetExecutionContext, problems: Problems, what: str) -> None:
    """Log this step's problems; in the run's last step, fail naming every replay of the run
    that was rejected or repaired, if any was rejected."""
    for rid, reason in sorted(problems.rejected.items()):
        context.log.error(f"replay {rid} rejected ({what}): {reason}")
    for rid, lines in sorted(problems.repaired.items()):
        for line in lines:
            context.log.warning(f"replay {rid} repaired ({what}): {line}")
    if not is_last_step(context):
        return
    run = recorded_in_run(context.instance, context.run.run_id)
    run.merge(problems)
    if run.rejected:
        raise dg.Failure(
            description=f"{len(run.rejected)} replay(s) rejected; every other replay was "
            "written:\n" + "\n".join(run.lines()),
            metadata=run.metadata(),
        )
