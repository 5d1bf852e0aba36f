"""Automatic call distribution: who takes a call, and in what order calls wait.

Rules (the same for live routing and the replay simulator):

* an agent *qualifies* for a queue when they hold every skill the queue
  requires at least at the required level;
* an arriving call goes to the qualifying **available** agent who has been
  idle longest (ties: the agent added first);
* with nobody free it waits; when an agent becomes free they take the waiting
  call first by VIP (core customer level ``vip``), then queue priority, then
  time waited;
* after talking, the agent spends the queue's wrap-up time in after-call work
  before becoming available again; a caller whose patience
  (``abandon_after_seconds``) runs out while waiting hangs up (abandoned).

:class:`Simulator` plays a list of calls through these rules with a
discrete-event loop (heaps, no per-call scans), for ``crm service replay`` and
the benchmark.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping


def parse_skills(text: str | Iterable[str] | None, *, field_name: str = "skills") -> dict[str, int]:
    """``"投诉,普通话:3"`` → ``{"投诉": 1, "普通话": 3}`` (levels 1-5, default 1)."""
    from crmcore import ValidationError

    if text is None:
        return {}
    parts = text.replace("，", ",").split(",") if isinstance(text, str) else list(text)
    skills: dict[str, int] = {}
    for part in parts:
        part = str(part).strip()
        if not part:
            continue
        name, _, level = part.replace("：", ":").partition(":")
        name = name.strip()
        try:
            value = int(level) if level.strip() else 1
        except ValueError:
            raise ValidationError.field(field_name, f"{part!r}: the level after ':' is a number 1-5") from None
        if not name or len(name) > 40:
            raise ValidationError.field(field_name, f"{part!r} is not a skill name")
        if not 1 <= value <= 5:
            raise ValidationError.field(field_name, f"{part!r}: levels go from 1 to 5")
        skills[name] = value
    return skills


def qualifies(agent_skills: Mapping[str, int], required: Mapping[str, int]) -> bool:
    return all(agent_skills.get(skill, 0) >= level for skill, level in required.items())


def skills_text(skills: Mapping[str, int]) -> str:
    return ",".join(name if level == 1 else f"{name}:{level}" for name, level in skills.items())


@dataclass
class SimAgent:
    user_id: int
    username: str
    skills: dict[str, int]
    rank: int  # tie-break for equal idle times: longest idle in the database first
    calls: int = 0
    talk: float = 0.0
    acw: float = 0.0
    epoch: int = 0
    first_busy: float | None = None
    last_free: float | None = None


@dataclass
class SimQueue:
    id: int
    name: str
    skills: dict[str, int]
    priority: int = 0
    service_level_seconds: int = 20
    wrap_up_seconds: int = 30
    agents: list[int] = field(default_factory=list)


@dataclass
class SimCall:
    index: int
    offered: float  # seconds since the epoch
    queue_id: int | None
    talk: float
    abandon_after: float | None = None
    vip: bool = False
    # results
    agent_id: int | None = None
    answered: float | None = None
    ended: float | None = None
    acw_until: float | None = None
    abandoned: float | None = None
    outcome: str | None = None
    reason: str | None = None

    @property
    def wait(self) -> float | None:
        if self.answered is not None:
            return self.answered - self.offered
        if self.abandoned is not None:
            return self.abandoned - self.offered
        return None


# event kinds, in the order they are handled at the same moment
_FREE, _ARRIVE, _ABANDON = 0, 1, 2


class Simulator:
    """Route calls through agents and queues; see the module's rules."""

    def __init__(self, agents: Iterable[SimAgent], queues: Iterable[SimQueue]):
        self.agents = {a.user_id: a for a in agents}
        self.queues = {q.id: q for q in queues}
        for queue in self.queues.values():
            queue.agents = [a.user_id for a in self.agents.values() if qualifies(a.skills, queue.skills)]
        self.serves: dict[int, list[int]] = {a: [q.id for q in self.queues.values() if a in q.agents] for a in self.agents}

    def run(self, calls: list[SimCall]) -> list[SimCall]:
        events: list[tuple[float, int, int, int]] = []
        seq = 0
        for call in calls:
            if call.queue_id is None:
                continue
            heapq.heappush(events, (call.offered, _ARRIVE, seq, call.index))
            seq += 1
        by_index = {c.index: c for c in calls}
        start = min((c.offered for c in calls), default=0.0)
        # available agents per queue: (idle since, rank, epoch, agent)
        idle: dict[int, list[tuple[float, int, int, int]]] = {q: [] for q in self.queues}
        free: set[int] = set(self.agents)
        for agent in self.agents.values():
            agent.last_free = start
            for queue_id in self.serves[agent.user_id]:
                idle[queue_id].append((start, agent.rank, agent.epoch, agent.user_id))
        for heap in idle.values():
            heapq.heapify(heap)
        # waiting calls per queue: (not vip, waiting since, seq, call)
        waiting: dict[int, list[tuple[int, float, int, int]]] = {q: [] for q in self.queues}
        gone: set[int] = set()

        def take(agent_id: int, call: SimCall, now: float, reason: str) -> None:
            nonlocal seq
            agent = self.agents[agent_id]
            free.discard(agent_id)
            agent.epoch += 1
            queue = self.queues[call.queue_id]
            call.agent_id, call.answered, call.reason = agent_id, now, reason
            call.ended = now + call.talk
            call.acw_until = call.ended + queue.wrap_up_seconds
            call.outcome = "answered"
            agent.calls += 1
            agent.talk += call.talk
            agent.acw += queue.wrap_up_seconds
            if agent.first_busy is None:
                agent.first_busy = now
            heapq.heappush(events, (call.acw_until, _FREE, seq, agent_id))
            seq += 1

        def longest_idle(queue_id: int) -> int | None:
            heap = idle[queue_id]
            while heap:
                _since, _rank, epoch, agent_id = heap[0]
                if agent_id in free and self.agents[agent_id].epoch == epoch:
                    return agent_id
                heapq.heappop(heap)
            return None

        while events:
            now, kind, _, ref = heapq.heappop(events)
            if kind == _ARRIVE:
                call = by_index[ref]
                queue = self.queues[call.queue_id]
                agent_id = longest_idle(queue.id)
                if agent_id is not None:
                    take(agent_id, call, now, "longest idle available agent")
                else:
                    heapq.heappush(waiting[queue.id], (0 if call.vip else 1, now, seq, call.index))
                    seq += 1
                    if not queue.agents:
                        call.reason = "no agent has the queue's skills"
                    if call.abandon_after is not None:
                        heapq.heappush(events, (now + call.abandon_after, _ABANDON, seq, call.index))
                        seq += 1
            elif kind == _ABANDON:
                call = by_index[ref]
                if call.answered is None and call.index not in gone:
                    gone.add(call.index)
                    call.abandoned, call.outcome = now, "abandoned"
                    call.reason = call.reason or "caller hung up while waiting"
            else:  # an agent is free again
                agent = self.agents[ref]
                agent.epoch += 1
                agent.last_free = now
                free.add(agent.user_id)
                best: tuple[Any, ...] | None = None
                for queue_id in self.serves[agent.user_id]:
                    heap = waiting[queue_id]
                    while heap and (heap[0][3] in gone or by_index[heap[0][3]].answered is not None):
                        heapq.heappop(heap)
                    if heap:
                        vip_rank, since, order, index = heap[0]
                        key = (vip_rank, -self.queues[queue_id].priority, since, order)
                        if best is None or key < best[0]:
                            best = (key, queue_id, index)
                if best is not None:
                    _key, queue_id, index = best
                    heapq.heappop(waiting[queue_id])
                    call = by_index[index]
                    take(agent.user_id, call, now, "VIP priority in queue" if call.vip else "next in queue")
                else:
                    for queue_id in self.serves[agent.user_id]:
                        heapq.heappush(idle[queue_id], (now, agent.rank, agent.epoch, agent.user_id))
        for call in calls:
            if call.outcome is None:
                if call.queue_id is None:
                    continue
                call.outcome = "unanswered"
                call.reason = call.reason or "still waiting when the day ended"
        return calls
