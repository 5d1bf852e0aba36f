"""ACD rules in the simulator: skills, longest idle, VIP priority, abandonment."""

from crm_callcenter.acd import SimAgent, SimCall, SimQueue, Simulator, parse_skills, qualifies


def agents(*specs):
    return [SimAgent(i + 1, name, parse_skills(skills), rank=i) for i, (name, skills) in enumerate(specs)]


def test_skill_levels_must_reach_the_queues_minimum():
    assert qualifies(parse_skills("投诉:3,普通话"), parse_skills("投诉:2"))
    assert not qualifies(parse_skills("投诉"), parse_skills("投诉:2"))
    assert not qualifies(parse_skills("咨询"), parse_skills("投诉"))


def test_the_longest_idle_qualified_agent_takes_the_call():
    sim = Simulator(agents(("alice", "投诉"), ("bob", "投诉"), ("carol", "咨询")), [SimQueue(1, "投诉", {"投诉": 1}, wrap_up_seconds=0)])
    calls = sim.run([SimCall(0, 0, 1, 100), SimCall(1, 10, 1, 100), SimCall(2, 200, 1, 10), SimCall(3, 300, 1, 10)])
    # alice (rank 0) first, then bob; at 200 alice has been idle since 100 and bob since 110: alice; at 300 bob has been idle longest
    assert [c.agent_id for c in calls] == [1, 2, 1, 2]


def test_a_waiting_vip_is_answered_before_earlier_callers():
    sim = Simulator(agents(("alice", "投诉")), [SimQueue(1, "投诉", {"投诉": 1}, wrap_up_seconds=5)])
    calls = sim.run([SimCall(0, 0, 1, 60), SimCall(1, 1, 1, 60), SimCall(2, 2, 1, 60, vip=True)])
    assert calls[2].answered == 65 and calls[2].reason == "VIP priority in queue"
    assert calls[1].answered == 65 + 60 + 5


def test_a_caller_whose_patience_runs_out_abandons():
    sim = Simulator(agents(("alice", "投诉")), [SimQueue(1, "投诉", {"投诉": 1}, wrap_up_seconds=30)])
    calls = sim.run([SimCall(0, 0, 1, 120), SimCall(1, 10, 1, 60, abandon_after=45)])
    assert calls[1].outcome == "abandoned" and calls[1].wait == 45 and calls[1].agent_id is None


def test_calls_for_a_queue_nobody_can_serve_stay_unanswered():
    sim = Simulator(agents(("alice", "咨询")), [SimQueue(1, "投诉", {"投诉": 1})])
    (call,) = sim.run([SimCall(0, 0, 1, 60)])
    assert call.outcome == "unanswered" and call.reason == "no agent has the queue's skills"


def test_after_call_work_keeps_the_agent_busy():
    sim = Simulator(agents(("alice", "投诉")), [SimQueue(1, "投诉", {"投诉": 1}, wrap_up_seconds=30)])
    calls = sim.run([SimCall(0, 0, 1, 60), SimCall(1, 70, 1, 60)])
    assert calls[1].answered == 90 and calls[1].wait == 20
