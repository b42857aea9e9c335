"""Blind A/B battles and their votes: drawing a pair, checking and storing a vote.

Every vote is checked on the server: the battle exists, was shown to this rater,
has no vote, was not revealed and has not expired. A vote cast faster than the
minimum viewing time is stored with the flag `too_fast` and kept out of the
leaderboard, never dropped silently. Rate limits count the votes a session or an
IP address cast in the last minute.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from studio.ratings.store import Database, RatingsError, check_length, insert_ignore

WINNERS = ("a", "b", "tie", "both_bad")


@dataclass(frozen=True)
class ArenaPolicy:
    min_view_s: float = 2.0  # faster votes are flagged too_fast
    expire_s: float = 1800.0  # a battle left open longer cannot be voted on
    votes_per_minute_session: int = 30  # 0: no limit (the web app sets both from STUDIO_RATE_VOTES)
    votes_per_minute_ip: int = 120


@dataclass(frozen=True)
class Battle:
    id: str
    item_id: str
    left_path: str  # files, relative to the store's files folder
    right_path: str
    input_path: str | None
    shown_at: float


@dataclass(frozen=True)
class VoteResult:
    vote_id: str
    model_a: str  # left
    model_b: str  # right
    winner: str
    flags: str


def ensure_rater(connection: Any, db: Database, rater_id: str, login: str | None = None) -> None:
    """Record a rater on first sight (two tabs of one session drawing at once insert it once)."""
    raters = db.tables["raters"]
    if not rater_id:
        raise RatingsError("a rater id is needed (an anonymous session id or a login)")
    check_length(raters, "id", rater_id, "the rater id")
    insert_ignore(connection, raters, id=rater_id, login=login, created_at=time.time())


def _pair_counts(connection: Any, db: Database, item_ids: list[str]) -> dict[tuple[str, str, str], int]:
    from sqlalchemy import func, select

    votes = db.tables["votes"]
    query = (
        select(votes.c.item_id, votes.c.model_a, votes.c.model_b, func.count())
        .where(votes.c.item_id.in_(item_ids))
        .group_by(votes.c.item_id, votes.c.model_a, votes.c.model_b)
    )
    counts: dict[tuple[str, str, str], int] = {}
    for item_id, a, b, count in connection.execute(query):
        key = (item_id, *sorted((a, b)))
        counts[key] = counts.get(key, 0) + count
    return counts


def draw_battle(
    db: Database,
    rater_id: str,
    ip: str | None,
    policy: ArenaPolicy,
    round_name: str | None = None,
    task: str | None = None,
    rng: random.Random | None = None,
) -> Battle:
    """Two outputs of one item, the pair with the fewest votes first; random left/right order."""
    from sqlalchemy import select

    rng = rng or random.Random()
    items, outputs, rounds = db.tables["items"], db.tables["outputs"], db.tables["rounds"]
    now = time.time()
    with db.transaction() as connection:
        ensure_rater(connection, db, rater_id)
        query = select(outputs.c.id, outputs.c.item_id, outputs.c.model_id, outputs.c.path, items.c.input_path).join(
            items, items.c.id == outputs.c.item_id
        )
        if task:
            query = query.where(items.c.task == task)
        if round_name:
            query = query.join(rounds, rounds.c.id == items.c.round_id).where(rounds.c.name == round_name)
        rows = connection.execute(query).all()
        by_item: dict[str, list[Any]] = {}
        for row in rows:
            by_item.setdefault(row.item_id, []).append(row)
        pairs = [
            (item_id, first, second)
            for item_id, candidates in by_item.items()
            for i, first in enumerate(candidates)
            for second in candidates[i + 1 :]
            if first.model_id != second.model_id
        ]
        if not pairs:
            raise RatingsError("nothing to rate yet: prepare a round (`studio ratings prepare`) or send a comparison")
        counts = _pair_counts(connection, db, list(by_item))
        votes = [counts.get((item_id, *sorted((a.model_id, b.model_id))), 0) for item_id, a, b in pairs]
        fewest = min(votes)
        candidates = [pair for pair, count in zip(pairs, votes, strict=True) if count == fewest]
        item_id, left, right = rng.choice(candidates)
        if rng.random() < 0.5:
            left, right = right, left
        battle_id = uuid.uuid4().hex
        connection.execute(
            db.tables["battles"]
            .insert()
            .values(
                id=battle_id,
                item_id=item_id,
                output_a=left.id,
                output_b=right.id,
                rater_id=rater_id,
                ip=ip,
                state="shown",
                shown_at=now,
                expires_at=now + policy.expire_s,
                created_at=now,
            )
        )
    return Battle(battle_id, item_id, left.path, right.path, left.input_path, now)


def _check_rate(connection: Any, db: Database, rater_id: str, ip: str | None, policy: ArenaPolicy, now: float) -> None:
    from sqlalchemy import func, select

    votes = db.tables["votes"]
    recent = votes.c.voted_at > now - 60
    if policy.votes_per_minute_session:
        by_session = connection.execute(select(func.count()).where(recent, votes.c.rater == rater_id)).scalar_one()
        if by_session >= policy.votes_per_minute_session:
            raise RatingsError("slow down: too many votes from this session in the last minute (try again in 60 s)")
    if ip and policy.votes_per_minute_ip:
        by_ip = connection.execute(select(func.count()).where(recent, votes.c.ip == ip)).scalar_one()
        if by_ip >= policy.votes_per_minute_ip:
            raise RatingsError("slow down: too many votes from this address in the last minute (try again in 60 s)")


def _shown_models(connection: Any, db: Database, battle: Any) -> tuple[str, str]:
    """The model ids behind a battle's left (A) and right (B) outputs: what a vote or a reveal names."""
    from sqlalchemy import select

    outputs = db.tables["outputs"]
    query = select(outputs.c.id, outputs.c.model_id).where(outputs.c.id.in_([battle.output_a, battle.output_b]))
    models = dict(connection.execute(query).all())
    return models[battle.output_a], models[battle.output_b]


def cast_vote(
    db: Database,
    battle_id: str,
    rater_id: str,
    winner: str,
    policy: ArenaPolicy,
    ip: str | None = None,
    now: float | None = None,
) -> VoteResult:
    """Check and store one vote; returns the revealed names. Refusals raise RatingsError and store nothing."""
    from sqlalchemy import select

    if winner not in WINNERS:
        raise RatingsError(f"a vote is one of {', '.join(WINNERS)}, not {winner!r}")
    now = time.time() if now is None else now
    battles, items, rounds = (db.tables[n] for n in ("battles", "items", "rounds"))
    with db.transaction() as connection:
        # FOR UPDATE: on PostgreSQL a double-submitted vote waits here, then sees state "voted".
        battle = connection.execute(select(battles).where(battles.c.id == battle_id).with_for_update()).first()
        if battle is None:
            raise RatingsError("unknown battle: draw a new pair")
        if battle.rater_id != rater_id:
            raise RatingsError("this battle was not shown to you: draw a new pair")
        if battle.state == "voted":
            raise RatingsError("this battle already has a vote")
        if battle.state == "revealed":
            raise RatingsError("the names were already revealed: votes after the reveal are not counted")
        if now > battle.expires_at:
            raise RatingsError("this battle expired: draw a new pair")
        raters = db.tables["raters"]
        # On PostgreSQL one session's votes take turns here, so its rate limit is exact.
        connection.execute(select(raters.c.id).where(raters.c.id == rater_id).with_for_update())
        _check_rate(connection, db, rater_id, ip, policy, now)
        model_a, model_b = _shown_models(connection, db, battle)
        item = connection.execute(
            select(items.c.task, rounds.c.name)
            .select_from(items.outerjoin(rounds, rounds.c.id == items.c.round_id))
            .where(items.c.id == battle.item_id)
        ).first()
        flags = "too_fast" if now - battle.shown_at < policy.min_view_s else ""
        vote_id = uuid.uuid4().hex
        connection.execute(
            db.tables["votes"]
            .insert()
            .values(
                id=vote_id,
                battle_id=battle_id,
                item_id=battle.item_id,
                model_a=model_a,
                model_b=model_b,
                winner=winner,
                rater=rater_id,
                ip=ip,
                round=item.name if item else None,
                task=item.task if item else None,
                shown_at=battle.shown_at,
                voted_at=now,
                flags=flags,
                created_at=now,
            )
        )
        connection.execute(battles.update().where(battles.c.id == battle_id).values(state="voted"))
    return VoteResult(vote_id, model_a, model_b, winner, flags)


def reveal(db: Database, battle_id: str, rater_id: str) -> tuple[str, str]:
    """Show the names without voting (skip): the battle can no longer be voted on."""
    from sqlalchemy import select

    battles = db.tables["battles"]
    with db.transaction() as connection:
        battle = connection.execute(select(battles).where(battles.c.id == battle_id).with_for_update()).first()
        if battle is None or battle.rater_id != rater_id:
            raise RatingsError("unknown battle: draw a new pair")
        if battle.state == "shown":
            connection.execute(battles.update().where(battles.c.id == battle_id).values(state="revealed"))
        model_a, model_b = _shown_models(connection, db, battle)
    return model_a, model_b
