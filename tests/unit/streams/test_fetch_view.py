"""What the worker reads of its consumer's connections (streams/app.py ``FetchView``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from streams.app import FetchView


def _view(conns: dict[Any, Any] | None) -> FetchView:
    def ensure() -> Any:
        if conns is None:
            raise RuntimeError("consumer not started")
        return SimpleNamespace(_client=SimpleNamespace(_conns=conns))

    app = SimpleNamespace(
        consumer=SimpleNamespace(_thread=SimpleNamespace(_ensure_consumer=ensure))
    )
    return FetchView(app, "t")  # type: ignore[arg-type]


class Conn:
    def __init__(self, up: bool) -> None:
        self.up = up

    def connected(self) -> bool:
        return self.up


def test_connected_while_any_connection_is_open() -> None:
    assert _view({(1, 0): Conn(False), (1, 1): Conn(True)}).broker_connected() is True


def test_not_connected_when_every_connection_closed_or_none_is_left() -> None:
    assert _view({(1, 0): Conn(False)}).broker_connected() is False
    assert _view({}).broker_connected() is False


def test_unknown_when_the_consumer_cannot_be_read() -> None:
    assert _view(None).broker_connected() is None
