"""Errors of the incentive layer. Programmer errors (a wrong type, an out-of-order height) stay
``TypeError`` / ``ValueError``; a rule refusing an event is an :class:`Outcome`, not an exception,
on the engine's public surface."""

from __future__ import annotations

from mpc.exceptions import RiskshareError


class IncentiveError(RiskshareError):
    """Base class of the incentive layer's domain errors."""


class PointsOverflow(IncentiveError, OverflowError):
    """A balance or counter would leave the signed 64-bit range; nothing was changed."""

    def __init__(self, key: int, value: int) -> None:
        super().__init__(f"value {value} of state cell {key:#x} is outside int64")
        self.key = key
        self.value = value


class RuleRejected(IncentiveError):
    """Raised inside a rule function to refuse an event; the engine turns it into a rejected
    :class:`~incentive.rules.Outcome` and changes nothing. ``code`` is a stable snake_case word."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class StateDivergence(IncentiveError):
    """Replay produced a different state root than the one recorded (tampered state, a tampered
    rule parameter, or a rule bug); ``height`` is the first height where they differ, if known."""

    def __init__(self, message: str, height: int | None = None) -> None:
        super().__init__(message)
        self.height = height
