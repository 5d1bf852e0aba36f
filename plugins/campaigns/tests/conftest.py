"""Fixtures of the campaigns plugin's tests."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from crmcore.testing import Factories

# the tests import their helpers module (uniquely named) from this folder
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def crm_plugins():
    return ["campaigns"]


MARKETING_CHANNELS = ("email", "sms", "phone", "mail")


class ConsentingFactories(Factories):
    """The core's factories; customers made here agreed to marketing on
    every consent channel (a campaign's audience), unless ``consent=`` says
    otherwise: ``False`` for none, or the channels granted."""

    def customer(self, *, actor=None, consent=True, **fields):
        customer = super().customer(actor=actor, **fields)
        channels = MARKETING_CHANNELS if consent is True else (consent or ())
        if channels:
            with self.crm.unit_of_work() as uow:
                uow.consents.record_many([(customer.id, "marketing", channel, True) for channel in channels],
                                         method="form", evidence="test")
        return customer


@pytest.fixture
def make(crm):
    return ConsentingFactories(crm)


@pytest.fixture
def smtp_server(crm):
    """A local aiosmtpd server the CRM's e-mail channel delivers to; yields
    the list of messages it received."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Collect(Message):
        def handle_message(self, message):
            received.append(message)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    crm.config.smtp_url, crm.config.smtp_sender = f"smtp://127.0.0.1:{port}", "marketing@example.com"
    try:
        yield received
    finally:
        controller.stop()


@pytest.fixture
def service(crm):
    """Run a function with the campaigns service in one unit of work:
    ``service(lambda s: s.preview(...), actor=None)``."""

    def call(function, actor=None):
        with crm.unit_of_work(actor=actor) as uow:
            return function(uow.service("campaigns"))

    return call
