"""The core's outbox channels: real SMTP e-mail, file channels, SVG charts."""

import xml.etree.ElementTree as ElementTree
from email.header import decode_header, make_header

import pytest

from crmcore.charts import bar_chart, funnel_chart, grid_chart
from crmcore.services.outbox import deliver_pending


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Collect(Message):
        def handle_message(self, message):
            received.append(message)

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", received
    finally:
        controller.stop()


def test_email_messages_are_sent_through_the_configured_smtp_server(crm, smtp_server):
    url, received = smtp_server
    crm.config.smtp_url, crm.config.smtp_sender = url, "crm@example.com"
    with crm.unit_of_work() as uow:
        uow.outbox.put("email", "zhangwei@example.com", "春季特惠", "张伟，您好！")
    assert deliver_pending(crm) == {"sent": 1, "retry": 0, "failed": 0}
    (message,) = received
    assert message["To"] == "zhangwei@example.com" and message["From"] == "crm@example.com"
    assert str(make_header(decode_header(message["Subject"]))) == "春季特惠" and "张伟，您好！" in message.get_payload(decode=True).decode("utf-8")


def test_without_smtp_email_and_sms_go_to_development_files(crm, tmp_path):
    crm.config.outbox_dir = str(tmp_path)
    with crm.unit_of_work() as uow:
        uow.outbox.put("sms", "13800138000", None, "验证码 1234")
    deliver_pending(crm)
    assert "验证码 1234" in next((tmp_path / "sms").iterdir()).read_text(encoding="utf-8")


def test_charts_are_well_formed_svg_with_their_labels():
    for svg in (bar_chart("销售", ["张伟", "李娜"], [3, 5]), funnel_chart("漏斗", ["发送", "打开"], [100, 40]),
                grid_chart("RFM", ["R1", "R2"], ["F1", "F2"], [[1, 2], [3, 4]])):
        root = ElementTree.fromstring(svg)
        assert root.tag.endswith("svg")
    assert "打开: 40 (40%)" in funnel_chart("漏斗", ["发送", "打开"], [100, 40])
