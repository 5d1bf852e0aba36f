"""Queues, agents, the call-event API, the replay simulator and reports."""

import pytest

CSV = """offered_at,caller,ivr_keys,queue,talk_seconds,abandon_after_seconds
2026-11-03T09:00:00,+86 138-0013-8000,1,,300,
2026-11-03T09:00:30,139 0000 0002,1,,200,
2026-11-03T09:01:00,13900000003,1,,100,40
2026-11-03T09:02:00,（０２１）5555-1234,,咨询,60,
2026-11-03T09:03:00,13900000009,3,,0,
"""
MENU = """prompt = "投诉请按1，咨询请按2，账单请按3"
default = { queue = "咨询" }
options.1 = { label = "投诉", queue = "投诉" }
options.2 = { label = "咨询", queue = "咨询" }
options.3 = { label = "账单", self_service = "账单查询" }
"""


@pytest.fixture
def menu(desk, tmp_path):
    path = tmp_path / "menu.toml"
    path.write_text(MENU, encoding="utf-8")
    assert desk("service", "ivr", "load", str(path)).exit_code == 0
    return path


def test_queue_and_agent_commands_as_written(cli):
    cli("user", "add", "alice")
    queue = cli("service", "queue", "add", "投诉", "--skills", "投诉", json=True).json
    agent = cli("service", "agent", "add", "alice", "--skills", "投诉,普通话", json=True).json
    assert (queue["name"], queue["skills"]) == ("投诉", "投诉")
    assert (agent["user"], agent["skills"], agent["state"]) == ("alice", "投诉,普通话", "available")
    assert cli("service", "queue", "list", json=True).json[0]["agents"] == ["alice"]


def test_an_agent_must_be_a_core_user(cli):
    result = cli("service", "agent", "add", "nobody", "--skills", "投诉")
    assert result.exit_code == 1 and "user: no user 'nobody'" in result.stderr


def test_replay_routes_with_ivr_skills_and_vip_priority(desk, menu, make, tmp_path):
    vip = make.customer(name="张伟", phones=["13800138000"], level="vip")
    make.customer(name="李娜", phones=["13900000002"])
    org = make.customer(name="申城酒店", kind="organization", phones=["021-5555-1234"])
    path = tmp_path / "calls.csv"
    path.write_text(CSV, encoding="utf-8")
    result = desk("--json", "service", "replay", str(path))
    assert result.exit_code == 0, result
    data = result.json
    calls = {c["row"]: c for c in data["calls"]}
    assert (calls[2]["customer_id"], calls[2]["vip"], calls[2]["queue"], calls[2]["agent"]) == (vip.id, True, "投诉", "alice")
    assert calls[3]["queue"] == "投诉" and calls[3]["agent"] == "alice" and calls[3]["wait_seconds"] == 300 - 30 + 30
    assert calls[4]["outcome"] == "abandoned" and calls[4]["wait_seconds"] == 40
    assert (calls[5]["customer_id"], calls[5]["queue"], calls[5]["agent"]) == (org.id, "咨询", "bob")
    assert calls[6]["outcome"] == "self_service" and calls[6]["queue"] is None
    summary = data["summary"]
    assert (summary["offered"], summary["answered"], summary["abandoned"], summary["self_service"]) == (5, 3, 1, 1)
    assert summary["service_level_pct"] == 50.0  # 2 of 4 queued calls answered within 20 s
    assert data["saved"] == 5


def test_a_waiting_vip_jumps_the_queue_in_replay(desk, menu, make, tmp_path):
    make.customer(name="贵宾", phones=["13800000001"], level="vip")
    rows = ["offered_at,caller,queue,talk_seconds",
            "2026-11-03T10:00:00,13900000011,投诉,120",
            "2026-11-03T10:00:10,13900000012,投诉,60",
            "2026-11-03T10:00:20,13800000001,投诉,60"]
    path = tmp_path / "vip.csv"
    path.write_text("\n".join(rows), encoding="utf-8")
    calls = desk("service", "replay", str(path), "--no-save", json=True).json["calls"]
    assert calls[2]["answered_at"] < calls[1]["answered_at"] and calls[2]["reason"] == "VIP priority in queue"


def test_replaying_the_same_file_twice_is_refused(desk, menu, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text(CSV, encoding="utf-8")
    assert desk("service", "replay", str(path)).exit_code == 0
    again = desk("service", "replay", str(path))
    assert again.exit_code == 1 and "replayed and saved already" in again.stderr
    assert desk("service", "replay", str(path), "--no-save").exit_code == 0


def test_replay_reports_bad_rows_by_line(desk, menu, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("offered_at,caller,queue,talk_seconds\nyesterday,139,投诉,10\n2026-11-03T09:00,139,不存在,10\n", encoding="utf-8")
    result = desk("service", "replay", str(path))
    assert result.exit_code == 1
    assert "row 2: offered_at:" in result.stderr and "row 3: queue: no queue '不存在'" in result.stderr


def test_replayed_calls_reach_the_report_and_timeline(desk, menu, make, tmp_path):
    customer = make.customer(name="张伟", phones=["13800138000"], level="vip")
    path = tmp_path / "calls.csv"
    path.write_text(CSV, encoding="utf-8")
    desk("service", "replay", str(path))
    report = desk("--json", "service", "report", "--from", "2026-11-01", "--to", "2026-11-30").json
    assert (report["calls"]["offered"], report["calls"]["answered"], report["calls"]["abandoned"]) == (5, 3, 1)
    assert report["calls"]["self_service"] == 1
    assert report["calls"]["avg_wait_seconds"] == pytest.approx((0 + 300 + 0) / 3, abs=0.1)
    queues = {q["queue"]: q for q in report["queues"]}
    assert queues["投诉"]["offered"] == 3 and queues["投诉"]["service_level_pct"] == pytest.approx(33.3)
    agents = {a["agent"]: a for a in report["agents"]}
    assert agents["alice"]["calls"] == 2 and agents["alice"]["talk_seconds"] == 500 and agents["alice"]["occupancy_pct"] > 0
    timeline = desk("activity", "list", str(customer.id), json=True).json
    assert [a["type"] for a in timeline] == ["service_call"]
    assert desk("--json", "service", "report", "--from", "2026-12-01", "--to", "2026-12-31").json["calls"]["offered"] == 0
    only = desk("--json", "service", "report", "--from", "2026-11-01", "--to", "2026-11-30", "--queue", "投诉").json
    assert (only["calls"]["offered"], only["calls"]["answered"], [q["queue"] for q in only["queues"]]) == (3, 2, ["投诉"])


def test_report_writes_chart_images(desk, menu, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text(CSV, encoding="utf-8")
    desk("service", "replay", str(path))
    charts = desk("service", "report", "--from", "2026-11-01", "--to", "2026-11-30", "--chart", str(tmp_path / "charts"), json=True).json["charts"]
    assert {p.rsplit("/", 1)[-1] for p in charts} >= {"calls.svg", "service_level.svg", "occupancy.svg"}
    assert "<svg" in (tmp_path / "charts" / "service_level.svg").read_text(encoding="utf-8")


def test_live_events_ring_the_longest_idle_agent_and_queue_the_rest(desk, make):
    customer = make.customer(phones=["13800138000"])
    desk("service", "agent", "add", "carol", "--skills", "投诉")
    first = desk("service", "call", "event", "offered", "pbx-1", "--caller", "138 0013 8000", "--queue", "投诉",
                 "--at", "2026-11-03T09:00:00", json=True).json
    assert (first["action"], first["agent"], first["call"]["customer_id"]) == ("ring", "alice", customer.id)
    second = desk("service", "call", "event", "offered", "pbx-2", "--caller", "13900000002", "--queue", "投诉",
                  "--at", "2026-11-03T09:00:05", json=True).json
    assert (second["action"], second["agent"]) == ("ring", "carol")
    third = desk("service", "call", "event", "offered", "pbx-3", "--caller", "13900000003", "--queue", "投诉",
                 "--at", "2026-11-03T09:00:10", json=True).json
    assert (third["action"], third["position"]) == ("queue", 1)
    desk("service", "call", "event", "answered", "pbx-1", "--at", "2026-11-03T09:00:04")
    desk("service", "call", "event", "ended", "pbx-1", "--at", "2026-11-03T09:05:04")
    done = desk("service", "call", "event", "wrapup_done", "pbx-1", "--at", "2026-11-03T09:05:30", json=True).json
    assert done["offered_call"]["call_ref"] == "pbx-3" and done["offered_call"]["agent"] == "alice"
    log = {c["call_ref"]: c for c in desk("service", "call", "list", json=True).json}
    assert (log["pbx-1"]["wait_seconds"], log["pbx-1"]["talk_seconds"], log["pbx-1"]["acw_seconds"]) == (4, 300, 26)
    assert [a["type"] for a in desk("activity", "list", str(customer.id), json=True).json] == ["service_call"]


def test_an_event_for_an_unknown_call_or_out_of_order_is_refused(desk):
    assert desk("service", "call", "event", "answered", "nope", "--agent", "alice").exit_code == 1
    desk("service", "call", "event", "offered", "pbx-9", "--queue", "投诉")
    result = desk("service", "call", "event", "ended", "pbx-9")
    assert result.exit_code == 1 and "end an answered call" in result.stderr
    assert desk("service", "call", "event", "hold", "pbx-9").exit_code == 1


def test_events_can_be_fed_as_json_lines(desk, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([
        '{"event": "offered", "call": "x1", "caller": "13900000001", "queue": "咨询", "at": "2026-11-03T09:00:00"}',
        '{"event": "answered", "call": "x1", "at": "2026-11-03T09:00:06"}',
        '{"event": "ended", "call": "x1", "at": "2026-11-03T09:02:06"}',
    ]), encoding="utf-8")
    result = desk("service", "call", "feed", str(path), json=True)
    assert result.exit_code == 0, result
    assert [r["status"] for r in result.json["applied"]] == ["ringing", "answered", "wrap_up"]


def test_ivr_commands_validate_show_and_simulate(desk, menu, tmp_path):
    assert "⇒ queue 投诉" in desk("service", "ivr", "simulate", "1").stdout
    assert desk("service", "ivr", "simulate", "3", json=True).json["self_service"] == "账单查询"
    bad = tmp_path / "bad.toml"
    bad.write_text('prompt = "x"\noptions.1 = { queue = "没有" }\n', encoding="utf-8")
    result = desk("service", "ivr", "load", str(bad))
    assert result.exit_code == 1 and "menu.options.1.queue: no queue '没有'" in result.stderr
    assert "[1] 投诉 → queue 投诉" in desk("service", "ivr", "show").stdout


def test_an_away_agent_is_not_rung_and_a_transfer_routes_again(desk):
    desk("service", "agent", "state", "alice", "away")
    offered = desk("service", "call", "event", "offered", "t-1", "--queue", "咨询", "--at", "2026-11-03T09:00:00", json=True).json
    assert (offered["action"], offered["agent"]) == ("ring", "bob")
    desk("service", "call", "event", "answered", "t-1", "--at", "2026-11-03T09:00:05")
    moved = desk("service", "call", "event", "transferred", "t-1", "--queue", "投诉", "--at", "2026-11-03T09:01:00", json=True).json
    assert (moved["action"], moved["call"]["queue"], moved["call"]["transfers"]) == ("queue", "投诉", 1)
    back = desk("service", "agent", "state", "alice", "available", "--at", "2026-11-03T09:02:00", json=True).json
    assert back["offered_call"]["call_ref"] == "t-1"
    assert desk("service", "agent", "list", json=True).json[1]["state"] == "available"  # bob was freed by the transfer
