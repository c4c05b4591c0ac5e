"""A delivery's timeout covers its attempt, not its wait for a free connection: with more
webhooks than connections, a slow but healthy receiver gets each notification once."""

from __future__ import annotations

from emulator import Emulator
from emulator.receiver import Receiver


def test_attempts_waiting_for_a_connection_do_not_time_out() -> None:
    with Receiver() as receiver, Emulator(delivery_connections=2, delivery_timeout=0.8) as emulator:
        receiver.respond_with(*[(200, 0.5)] * 6)
        for n in range(6):
            emulator.client.create_webhook("gigapay", "T", {"url": receiver.url_for(f"/{n}"),
                                                            "events": ["Payout.created"]}, scope="i")
        sent = emulator.client.fire("gigapay", "Payout.created", wait=True, timeout=30)
        assert len(receiver.received) == 6
    assert [d["status"] for d in sent] == ["delivered"] * 6
    assert all(d["attempt_count"] == 1 for d in sent)
