"""Rule parameters: one frozen dataclass of non-negative ints. The field order is part of the
state format (parameters are stored in state cells by field index, so tampering with a parameter
changes the state root): append new fields, never reorder."""

from __future__ import annotations

from dataclasses import dataclass, fields

from incentive.points import INT64_MAX

__all__ = ["DEFAULT_PARAMS", "PARAM_IDS", "Params"]


@dataclass(frozen=True, slots=True)
class Params:
    """Rule parameters. Points are whole points; times are seconds of witnessed checkpoint time;
    "period" is the incentive period. ``ruleset`` picks the rule implementation, so that the
    ledger's rule *version* can be a plain revision counter (every rule_change raises it, also
    for a parameter-only change) while replay always runs the code each revision was made for."""

    period_seconds: int = 86_400
    evaluation_fee: int = 10
    evaluation_quota: int = 100_000
    record_reward: int = 20
    record_reward_cap: int = 200_000
    holding_periods: int = 7
    pool_share_cap: int = 5_000_000
    corroboration_reward: int = 5
    corroboration_cap: int = 50_000
    activity_bonus: int = 100
    starting_grant: int = 100_000
    dispute_penalty: int = 1_000
    ruleset: int = 1  # which implementation in incentive.rules.RULESETS runs these parameters

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"rule parameter {f.name} must be an int")
            if not 0 <= v <= INT64_MAX:
                raise ValueError(f"rule parameter {f.name} must be between 0 and 2^63 - 1")
        if self.period_seconds < 1:
            raise ValueError("rule parameter period_seconds must be at least 1")
        if self.ruleset < 1:
            raise ValueError("rule parameter ruleset must be at least 1")

    def values(self) -> tuple[int, ...]:
        """The parameters in field order (field index i + 1 in the state cells)."""
        return tuple(getattr(self, f.name) for f in fields(self))

    @classmethod
    def from_values(cls, values: tuple[int, ...] | list[int]) -> Params:
        names = [f.name for f in fields(cls)]
        if len(values) > len(names):
            raise ValueError(f"too many rule parameters: {len(values)} > {len(names)}")
        return cls(**dict(zip(names, values, strict=False)))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULT_PARAMS = Params()

#: parameter name → the id a rule_change entry's ``param_ids`` uses (field index + 1)
PARAM_IDS: dict[str, int] = {f.name: i for i, f in enumerate(fields(Params), start=1)}
