"""Which room's frame raises a live `concurrent` alert. Watching douyin:official (authorized for the person)
beside two rooms restreaming it, the official room's frames raised the alert, so its `room`, `url` and
evidence crop named the rights holder's own broadcast rather than a room to act on."""

from __future__ import annotations

from impersonation_cli.pipeline.watch import raises_concurrent

PLACES = ["douyin:fan1", "douyin:official", "kuaishou:fan2"]


def test_an_authorized_room_leaves_the_alert_to_an_unauthorized_one() -> None:
    authorized = {"douyin:official"}
    assert not raises_concurrent("douyin:official", PLACES, authorized)
    assert raises_concurrent("douyin:fan1", PLACES, authorized)


def test_rooms_all_authorized_still_raise_it() -> None:
    simulcast = ["douyin:backup", "douyin:official"]
    assert raises_concurrent("douyin:official", simulcast, set(simulcast))
    assert raises_concurrent("douyin:fan1", PLACES, set())
