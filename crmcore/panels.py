"""What a plugin shows about one customer in ``crm customer show``."""

from __future__ import annotations

from typing import Any

from attrs import define, field


@define
class Panel:
    """``name`` keys the panel in JSON; ``lines`` is its plain-text form
    (derived from ``data`` when not given); ``template`` renders it on the
    web customer page (``"<plugin>/…"``, given ``panel`` and ``customer``)."""

    name: str
    title: str
    data: dict[str, Any] = field(factory=dict)
    lines: list[str] | None = None
    template: str | None = None

    def text_lines(self) -> list[str]:
        if self.lines is not None:
            return self.lines
        return [f"{key}: {value}" for key, value in self.data.items()]
