"""The points ledger: append-only signed entries and the balance row.

Every change of a member's points is one entry in ``membership_ledger`` and
the same change to ``membership_balances``, in the same transaction. A debit
updates the balance only ``WHERE reward >= n`` (one statement, so the row lock
on PostgreSQL re-checks it after a concurrent debit commits) and the balance
columns carry ``CHECK (... >= 0)``: no interleaving can take a balance below
zero. Entries with an idempotency key are inserted ``ON CONFLICT DO NOTHING``:
the same key posted twice, even concurrently, posts once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from crmcore import Conflict, ValidationError

from crm_membership.common import KINDS, REWARD, UPGRADE, local_today
from crm_membership.lots import Replay, replay
from crm_membership.tables import balances, ledger, members

if TYPE_CHECKING:
    from crmcore import UnitOfWork

ENTRY_COLUMNS = (
    "member_id", "kind", "points", "source", "plan_id", "reference", "idempotency_key", "effective_on",
    "expires_on", "reversal_of", "lot_id", "reason",
)
KEY_CHUNK = 500
#: Hot statements, built once (building one costs more than running it).
_BALANCE = select(balances.c.reward, balances.c.upgrade).where(balances.c.member_id == bindparam("member_id"))
_BALANCE_FOR_UPDATE = _BALANCE.with_for_update()


class Ledger:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self._dialect = uow.connection.dialect.name

    # -- posting --------------------------------------------------------------------

    def post(
        self,
        member_id: int,
        kind: str,
        points: int,
        source: str,
        *,
        plan_id: int | None = None,
        reference: str | None = None,
        key: str | None = None,
        effective_on: date | None = None,
        expires_on: date | None = None,
        reversal_of: int | None = None,
        lot_id: int | None = None,
        reason: str | None = None,
    ) -> dict[str, Any] | None:
        """Post one entry and change the balance with it. Returns the entry,
        or None when ``key`` was posted before (nothing is posted again).
        Raises Conflict when a debit is larger than the balance."""
        if kind not in KINDS:
            raise ValidationError.field("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        if not isinstance(points, int) or points == 0:
            raise ValidationError.field("points", "must be a non-zero whole number")
        values = {
            "member_id": member_id, "kind": kind, "points": points, "source": source, "plan_id": plan_id,
            "reference": reference, "idempotency_key": key, "effective_on": effective_on or local_today(self.uow),
            "expires_on": expires_on, "reversal_of": reversal_of, "lot_id": lot_id, "reason": reason,
            "actor": self.uow.actor.username, "created_at": self.uow.now,
        }
        entry_id = self._insert(values)
        if entry_id is None:
            return None
        self._change_balance(member_id, kind, points)
        return {"id": entry_id, **values}

    def _insert(self, values: dict[str, Any]) -> int | None:
        if values["idempotency_key"] is not None and self._dialect in ("postgresql", "sqlite"):
            if self._dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as dialect_insert
            else:
                from sqlalchemy.dialects.sqlite import insert as dialect_insert
            statement = (
                dialect_insert(ledger).values(values)
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(ledger.c.id)
            )
            row = self.uow.execute(statement).first()
            return None if row is None else row[0]
        if values["idempotency_key"] is not None and self.posted(values["idempotency_key"]):
            return None
        return self.uow.execute(insert(ledger).values(values)).inserted_primary_key[0]

    def _change_balance(self, member_id: int, kind: str, points: int) -> None:
        column = balances.c[kind]
        statement = update(balances).where(balances.c.member_id == member_id)
        if points < 0:
            statement = statement.where(column >= -points)
        result = self.uow.execute(statement.values({kind: column + points, "updated_at": self.uow.now}))
        if result.rowcount != 1:
            have = self.uow.execute(select(column).where(balances.c.member_id == member_id)).scalar()
            if have is None:
                raise Conflict(f"member {member_id} has no balance")
            raise Conflict(f"points: only {have} {kind} points left, {-points} needed")

    def post_many(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Post a batch: one multi-row insert and one balance update per
        member. Rows whose key was posted before (or repeats within the batch)
        are skipped; returns the rows posted. A batch that would take any
        balance below zero is refused as a whole."""
        if not rows:
            return []
        fresh: list[dict[str, Any]] = []
        seen: set[str] = set()
        keys = [row["idempotency_key"] for row in rows if row.get("idempotency_key")]
        taken = self.posted_keys(keys) if keys else set()
        today, actor, now = local_today(self.uow), self.uow.actor.username, self.uow.now
        for row in rows:
            key = row.get("idempotency_key")
            if key is not None:
                if key in taken or key in seen:
                    continue
                seen.add(key)
            if not isinstance(row["points"], int) or row["points"] == 0 or row["kind"] not in KINDS:
                raise ValidationError.field("points", f"bad entry {row!r}")
            values = {name: row.get(name) for name in ENTRY_COLUMNS}
            values["effective_on"] = values["effective_on"] or today
            values["actor"], values["created_at"] = actor, now
            fresh.append(values)
        if not fresh:
            return []
        deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for values in fresh:
            deltas[values["member_id"]][0 if values["kind"] == REWARD else 1] += values["points"]
        try:
            self.uow.execute(insert(ledger), fresh)
            self.uow.execute(
                update(balances).where(balances.c.member_id == bindparam("m"))
                .values(reward=balances.c.reward + bindparam("dr"), upgrade=balances.c.upgrade + bindparam("du"),
                        updated_at=bindparam("at")),
                [{"m": member_id, "dr": reward, "du": upgrade, "at": now} for member_id, (reward, upgrade) in deltas.items()],
            )
        except IntegrityError as error:
            text = str(error.orig)
            if "not_negative" in text or "CHECK" in text.upper():
                raise Conflict("points: the batch would take a balance below zero; nothing was posted") from None
            if "idempotency_key" in text:
                raise Conflict("points: an idempotency key of this batch was posted concurrently; run it again") from None
            raise
        return fresh

    def posted(self, key: str) -> dict[str, Any] | None:
        row = self.uow.execute(select(ledger).where(ledger.c.idempotency_key == key)).mappings().first()
        return dict(row) if row else None

    def posted_keys(self, keys: Iterable[str]) -> set[str]:
        keys = list(dict.fromkeys(keys))
        found: set[str] = set()
        for start in range(0, len(keys), KEY_CHUNK):
            chunk = keys[start:start + KEY_CHUNK]
            found.update(self.uow.execute(select(ledger.c.idempotency_key).where(ledger.c.idempotency_key.in_(chunk))).scalars())
        return found

    def holder(self, member_id: int) -> int:
        """The member now holding what ``member_id`` held: itself, or the
        member it was merged into (followed to the end)."""
        seen = {member_id}
        while True:
            successor = self.uow.execute(select(members.c.merged_into_id).where(members.c.id == member_id)).scalar()
            if successor is None or successor in seen:
                return member_id
            seen.add(successor)
            member_id = successor

    def _moved(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Where a credit's lot went when its member was merged: the
        ``merge_in`` credit carrying it (followed through several merges)."""
        while True:
            moved = self.posted(f"merge:{entry['member_id']}:{entry['id']}:in")
            if moved is None:
                return entry
            entry = moved

    def reverse(self, entry_id: int, *, source: str = "reversal", reason: str | None = None,
                key: str | None = None) -> tuple[dict[str, Any] | None, int]:
        """Undo an entry with an entry of the opposite sign, on the member who
        holds the points now (after merges, the kept member). A credit already
        partly spent is reversed only as far as the balance allows; returns
        (the reversing entry or None, the points that could not be taken
        back)."""
        original = self.get(entry_id)
        if self.uow.execute(select(ledger.c.id).where(ledger.c.reversal_of == entry_id)).first():
            return None, 0
        points, shortfall = -original["points"], 0
        effective_on, expires_on = local_today(self.uow), original["expires_on"]
        target = original
        if points < 0:
            target = self._moved(original)
            if target["id"] != entry_id and self.uow.execute(select(ledger.c.id).where(ledger.c.reversal_of == target["id"])).first():
                return None, 0
            balance = self.balance(target["member_id"], lock=True)[original["kind"]]
            if balance < -points:
                shortfall, points = -points - balance, -balance
            effective_on = target["effective_on"]
            member_id = target["member_id"]
        else:
            # a debit given back: the points return as they were earned (the
            # oldest lot it consumed sets the earning and expiry dates), to
            # whoever holds the member's points now
            history = self.replay(original["member_id"], original["kind"], through=entry_id)
            consumed = [history.lots[lot_id] for lot_id in history.consumed.get(entry_id, {}) if lot_id in history.lots]
            if consumed:
                effective_on = min(lot.effective_on for lot in consumed)
                dates = [lot.expires_on for lot in consumed if lot.expires_on is not None]
                expires_on = min(dates) if len(dates) == len(consumed) else None
            member_id = self.holder(original["member_id"])
        if points == 0:
            return None, shortfall
        posted = self.post(
            member_id, original["kind"], points, source, plan_id=original["plan_id"], reference=f"entry:{entry_id}",
            key=key, effective_on=effective_on, expires_on=expires_on if points > 0 else None,
            reversal_of=target["id"], lot_id=target["id"] if target["id"] != entry_id else None,
            reason=reason if not shortfall else f"{reason or ''} (shortfall {shortfall})".strip(),
        )
        return posted, shortfall

    # -- reading ------------------------------------------------------------------------

    def get(self, entry_id: int) -> dict[str, Any]:
        row = self.uow.execute(select(ledger).where(ledger.c.id == entry_id)).mappings().first()
        if row is None:
            from crmcore import NotFound

            raise NotFound(f"ledger entry {entry_id} not found")
        return dict(row)

    def balance(self, member_id: int, *, lock: bool = False) -> dict[str, int]:
        """Both balances of a member: one primary-key read of the balance
        row, whatever the size of the ledger."""
        query = _BALANCE_FOR_UPDATE if (lock and self._dialect == "postgresql") else _BALANCE
        row = self.uow.connection.execute(query, {"member_id": member_id}).first()
        return {REWARD: row[0], UPGRADE: row[1]} if row else {REWARD: 0, UPGRADE: 0}

    def entries(self, member_id: int, *, limit: int | None = 20, kind: str | None = None) -> list[dict[str, Any]]:
        query = select(ledger).where(ledger.c.member_id == member_id).order_by(ledger.c.id.desc())
        if kind:
            query = query.where(ledger.c.kind == kind)
        if limit:
            query = query.limit(limit)
        return [dict(row) for row in self.uow.execute(query).mappings()]

    def replay(self, member_id: int, kind: str = REWARD, *, through: int | None = None) -> Replay:
        query = select(ledger).where(ledger.c.member_id == member_id, ledger.c.kind == kind)
        if through is not None:
            query = query.where(ledger.c.id <= through)
        return replay(self.uow.execute(query.order_by(ledger.c.id)).mappings())

    def replay_many(self, member_ids: list[int], kind: str = REWARD) -> dict[int, Replay]:
        grouped: dict[int, list[Any]] = defaultdict(list)
        for start in range(0, len(member_ids), KEY_CHUNK):
            chunk = member_ids[start:start + KEY_CHUNK]
            query = select(ledger).where(ledger.c.member_id.in_(chunk), ledger.c.kind == kind).order_by(ledger.c.id)
            for row in self.uow.execute(query).mappings():
                grouped[row["member_id"]].append(row)
        return {member_id: replay(grouped.get(member_id, [])) for member_id in member_ids}

    def check(self, *, deep: bool = False) -> list[dict[str, Any]]:
        """Every member whose stored balance differs from the sum of their
        ledger, with both numbers; ``deep`` also replays every member's lots
        (debits covered by earlier credits, reversals of opposite sign)."""
        sums: dict[int, dict[str, int]] = defaultdict(lambda: {REWARD: 0, UPGRADE: 0})
        for member_id, kind, total in self.uow.execute(
            select(ledger.c.member_id, ledger.c.kind, func.sum(ledger.c.points)).group_by(ledger.c.member_id, ledger.c.kind)
        ):
            sums[member_id][kind] = int(total)
        stored = {row.member_id: {REWARD: row.reward, UPGRADE: row.upgrade}
                  for row in self.uow.execute(select(balances.c.member_id, balances.c.reward, balances.c.upgrade))}
        cards = dict(self.uow.execute(select(members.c.id, members.c.card_number)).all())
        problems = []
        for member_id in sorted(set(sums) | set(stored) | set(cards)):
            if member_id not in stored:
                problems.append({"member_id": member_id, "card_number": cards.get(member_id), "kind": "-",
                                 "stored": None, "ledger": sums.get(member_id), "problem": "no balance row"})
                continue
            for kind in KINDS:
                want, have = sums[member_id][kind] if member_id in sums else 0, stored[member_id][kind]
                if want != have:
                    problems.append({"member_id": member_id, "card_number": cards.get(member_id), "kind": kind,
                                     "stored": have, "ledger": want, "problem": f"differs by {have - want}"})
        if deep:
            problems.extend(self._check_lots(sorted(cards), cards))
        return problems

    def _check_lots(self, member_ids: list[int], cards: dict[int, str]) -> list[dict[str, Any]]:
        """Replay every member's entries: each debit must be covered by
        earlier credits (FIFO), and no reversal may have the sign of what it
        reverses."""
        problems = []
        for kind in KINDS:
            for member_id, history in self.replay_many(member_ids, kind).items():
                if history.uncovered:
                    problems.append({"member_id": member_id, "card_number": cards.get(member_id), "kind": kind, "stored": None,
                                     "ledger": history.balance, "problem": f"{history.uncovered} points debited beyond the lots earned"})
        original = ledger.alias("original")
        same_sign = self.uow.execute(
            select(ledger.c.id, ledger.c.member_id, ledger.c.kind).join(original, original.c.id == ledger.c.reversal_of)
            .where((ledger.c.points > 0) == (original.c.points > 0))
        ).all()
        for entry_id, member_id, kind in same_sign:
            problems.append({"member_id": member_id, "card_number": cards.get(member_id), "kind": kind, "stored": None, "ledger": None,
                             "problem": f"entry {entry_id} reverses an entry of the same sign"})
        return problems

    def lots_expiring(self, member_ids: list[int], through: date) -> dict[int, list[Any]]:
        """Remaining reward lots expiring on or before ``through``."""
        found = {}
        for member_id, history in self.replay_many(member_ids).items():
            lots = [lot for lot in history.remaining() if lot.expires_on is not None and lot.expires_on <= through]
            if lots:
                found[member_id] = lots
        return found

    def members_with_lots_expiring(self, through: date, *, after: date | None = None, after_id: int = 0) -> list[int]:
        condition = and_(ledger.c.kind == REWARD, ledger.c.points > 0, ledger.c.expires_on <= through)
        if after is not None:
            condition = and_(condition, (ledger.c.expires_on > after) | (ledger.c.id > after_id))
        return list(self.uow.execute(select(ledger.c.member_id).where(condition).distinct().order_by(ledger.c.member_id)).scalars())
