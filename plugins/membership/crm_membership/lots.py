"""FIFO lots: which earnings a member's points still come from.

Every credit in the ledger is a *lot* (earned on ``effective_on``, maybe
expiring on ``expires_on``, under a plan). Debits consume lots:

* a *targeted* debit (``lot_id`` — expiry, carry-over, merge — or
  ``reversal_of`` a credit) takes from its own lot first;
* whatever is left of it, and every untargeted debit (a redemption, a manual
  deduction), takes from the oldest lots first (by earning date, then id).

Replaying a member's entries in ledger order gives what remains of each lot;
expiry, carry-over, refunds and merges are all computed from that, so they
agree with each other and with the balance (the sum of what remains equals
the sum of the entries).
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Mapping


@dataclass
class Lot:
    id: int
    points: int
    remaining: int
    effective_on: date
    expires_on: date | None
    plan_id: int | None
    source: str


@dataclass
class Replay:
    lots: dict[int, Lot] = field(default_factory=dict)
    #: for each debit entry id, the lots it consumed: {debit_id: {lot_id: points}}
    consumed: dict[int, dict[int, int]] = field(default_factory=dict)
    #: points debited that no lot covered (only possible in a damaged ledger)
    uncovered: int = 0

    def remaining(self) -> list[Lot]:
        return sorted((lot for lot in self.lots.values() if lot.remaining > 0), key=lambda lot: (lot.effective_on, lot.id))

    @property
    def balance(self) -> int:
        return sum(lot.remaining for lot in self.lots.values())


def replay(entries: Iterable[Mapping]) -> Replay:
    """Replay one member's entries of one kind, in ledger (id) order."""
    result = Replay()
    order: list[tuple[date, int]] = []
    for entry in sorted(entries, key=lambda e: e["id"]):
        points = entry["points"]
        if points > 0:
            result.lots[entry["id"]] = Lot(
                id=entry["id"], points=points, remaining=points, effective_on=entry["effective_on"],
                expires_on=entry["expires_on"], plan_id=entry["plan_id"], source=entry["source"],
            )
            insort(order, (entry["effective_on"], entry["id"]))
            continue
        need = -points
        taken: dict[int, int] = {}
        target = entry.get("lot_id") or entry.get("reversal_of")
        if target in result.lots:
            lot = result.lots[target]
            take = min(need, lot.remaining)
            if take:
                lot.remaining -= take
                taken[lot.id] = take
                need -= take
        if need:
            for _, lot_id in order:
                lot = result.lots[lot_id]
                if lot.remaining <= 0:
                    continue
                take = min(need, lot.remaining)
                lot.remaining -= take
                taken[lot_id] = taken.get(lot_id, 0) + take
                need -= take
                if not need:
                    break
        result.uncovered += need
        result.consumed[entry["id"]] = taken
    return result
