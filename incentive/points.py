"""Points and counters: one sparse map of integer state cells with int64 bounds.

Every piece of incentive state is an integer *cell* addressed by ``(namespace, a, b)``: member
balances, the treasury, the period's fee pool, minted and burned totals, quota counters, the
vesting queue, open disputes and the rule-parameter schedule. Cells that are zero are absent, so
two states are equal exactly when their maps are equal and the state root
(:mod:`incentive.stateroot`) is canonical.

A key packs as one Python int ``ns << 172 | b << 81 | a`` (``a``, ``b`` in [0, 2⁶⁴)) because int keys
hash faster than tuples. The odd shifts matter: CPython hashes an int as its value mod 2⁶¹ − 1, so
a field at shift s is multiplied by 2^(s mod 61); with a at 0, b at 81 ≡ 20 and ns at 172 ≡ 50 the
hashes of keys with a < 2²⁰, b < 2³⁰ are distinct and their low bits vary (the 128/64 layout gave
8 · a + b + 64 · ns and long dict probe chains). The canonical bytes of a cell (state root) are
``ns ‖ a ‖ b`` regardless.

Conservation: points move between accounts, or are minted (grants, vested rewards, bonuses) or
burned (dispute penalties). ``Σ balances + treasury + pool == minted − burned`` always holds;
:meth:`Book.check_conservation` verifies it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from incentive.exceptions import PointsOverflow

__all__ = [
    "B_SHIFT",
    "INT64_MAX",
    "INT64_MIN",
    "KEY_BURNED",
    "KEY_MINTED",
    "KEY_POOL",
    "KEY_TREASURY",
    "NS",
    "NS_SHIFT",
    "TREASURY",
    "Book",
    "check_int64",
    "key",
    "split_key",
]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
_U64 = 1 << 64
NS_SHIFT = 172
B_SHIFT = 81

#: the name under which the treasury account is shown (it is the cell ``(NS.TREASURY, 0, 0)``)
TREASURY = "treasury"


class NS:
    """Namespaces of state cells. The numbers are part of the state-root format: never renumber."""

    BALANCE = 1  # a = member: spendable points (may be negative only through a dispute penalty)
    TREASURY = 2  # integer-division remainders and capped excess
    POOL = 3  # fees paid in the current period, shared at period close
    SUPPLY = 4  # a = 0: points minted, a = 1: points burned (both non-negative, cumulative)
    MEMBER = 5  # a = member: 1 enrolled, 2 removed
    ACTIVE_TAGS = 6  # a = member: platform-attested active distinct tags
    QUOTA_USED = 7  # a = member: evaluations this period
    FEES_PAID = 8  # a = member: fees this period (excluded from its own pool share)
    ACTIVE = 9  # a = member: 1 when it contributed or evaluated this period
    RECORD_ACCRUED = 10  # a = member: record rewards accrued this period (cap)
    PENDING_COUNT = 12  # a = member, b = upload height: rewarded records not yet vested
    PENDING_RATE = 13  # (member, height): points per record
    PENDING_VEST = 14  # (member, height): period at whose close the reward vests
    PENDING_FROZEN = 15  # (member, height): open disputes against records of that upload
    DISPUTE = 16  # a = dispute id: 1 open, 2 upheld, 3 dismissed
    DISPUTE_MEMBER = 17  # a = dispute id: the contributor disputed
    DISPUTE_HEIGHT = 18  # a = dispute id: upload height of the disputed record
    DISPUTE_FROZE = 19  # a = dispute id: 1 when filing froze a pending reward
    CLOCK = 20  # a = 0 period index, 1 period start time, 2 last checkpoint time, 3 admin threshold
    CORROBORATED = 21  # a = period: 1 once that period's corroboration entry was applied
    UPLOADER = 22  # a = upload height: contributing member + 1 (disputes and revokes name heights)
    PARAMS = 30  # a = activation height, b = field index (0 = version, 1… = Params fields)
    LIFETIME = 40  # a = member, b = LIFETIME_*: cumulative statistics shown by `riskshare points`


LIFETIME_RECORDS = 0
LIFETIME_EVALUATIONS = 1  # closed periods only (the current one is in QUOTA_USED)
LIFETIME_VESTED = 2
LIFETIME_CLAWED_BACK = 3
LIFETIME_POOL_SHARE = 4
LIFETIME_BONUS = 5
LIFETIME_REVOKED = 6
LIFETIME_FEES = 7  # closed periods only (the current one is in FEES_PAID)


def key(ns: int, a: int = 0, b: int = 0) -> int:
    """The packed key of cell ``(ns, a, b)``."""
    if not (0 <= ns < 256 and 0 <= a < _U64 and 0 <= b < _U64):
        raise ValueError("state cell key out of range")
    return (ns << NS_SHIFT) | (b << B_SHIFT) | a


def split_key(k: int) -> tuple[int, int, int]:
    """``(ns, a, b)`` of a packed key."""
    return k >> NS_SHIFT, k & (_U64 - 1), (k >> B_SHIFT) & (_U64 - 1)


KEY_TREASURY = key(NS.TREASURY)
KEY_POOL = key(NS.POOL)
KEY_MINTED = key(NS.SUPPLY, 0)
KEY_BURNED = key(NS.SUPPLY, 1)

_POINT_NS = frozenset({NS.BALANCE, NS.TREASURY, NS.POOL})
#: namespaces whose keys the engine indexes so that period close can iterate them
INDEXED_NS = frozenset(
    {
        NS.BALANCE,
        NS.MEMBER,
        NS.ACTIVE_TAGS,
        NS.QUOTA_USED,
        NS.FEES_PAID,
        NS.ACTIVE,
        NS.RECORD_ACCRUED,
        NS.PENDING_VEST,
        NS.PARAMS,
    }
)


def check_int64(value: int, what: str = "value") -> int:
    """``value`` if it is an int in int64, else ``TypeError`` / ``ValueError``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{what} must fit in int64")
    return value


class Book:
    """The cell map with atomic, overflow-checked updates.

    :meth:`apply` takes additive deltas and either applies all of them or, if any resulting cell
    would leave int64, raises :class:`PointsOverflow` having changed nothing. Changed keys are
    reported to ``on_change(key, new_value)`` (the state tree) and namespace indexes are kept for
    the namespaces period close iterates.
    """

    __slots__ = ("_cells", "_index", "_listeners")

    def __init__(self) -> None:
        self._cells: dict[int, int] = {}
        self._index: dict[int, set[int]] = {ns: set() for ns in INDEXED_NS}
        self._listeners: list[dict[int, int]] = []

    # -- reading ---------------------------------------------------------------------------
    @property
    def cells(self) -> Mapping[int, int]:
        return self._cells

    def get(self, k: int) -> int:
        return self._cells.get(k, 0)

    def keys_in(self, ns: int) -> list[int]:
        """Sorted keys of an indexed namespace."""
        return sorted(self._index[ns])

    def items(self) -> Iterator[tuple[int, int]]:
        return iter(sorted(self._cells.items()))

    def __len__(self) -> int:
        return len(self._cells)

    def balance(self, member: int) -> int:
        return self._cells.get((NS.BALANCE << NS_SHIFT) | member, 0)

    @property
    def treasury(self) -> int:
        return self._cells.get(KEY_TREASURY, 0)

    @property
    def pool(self) -> int:
        return self._cells.get(KEY_POOL, 0)

    @property
    def minted(self) -> int:
        return self._cells.get(KEY_MINTED, 0)

    @property
    def burned(self) -> int:
        return self._cells.get(KEY_BURNED, 0)

    def points_in_accounts(self) -> int:
        """Σ balances + treasury + pool."""
        total = 0
        for k in self._index[NS.BALANCE]:
            total += self._cells[k]
        return total + self.treasury + self.pool

    def check_conservation(self) -> None:
        """Raise ``AssertionError`` unless accounts hold exactly minted − burned points."""
        held, supply = self.points_in_accounts(), self.minted - self.burned
        if held != supply:
            raise AssertionError(f"points not conserved: accounts hold {held}, minted - burned = {supply}")

    # -- writing ---------------------------------------------------------------------------
    def subscribe(self, sink: dict[int, int]) -> None:
        """Every later change ``key → new value`` is also written into ``sink`` (a dirty map)."""
        self._listeners.append(sink)

    def apply(self, deltas: Mapping[int, int]) -> None:
        """Add every delta atomically: all of them, or (on :class:`PointsOverflow`) none."""
        cells = self._cells
        get = cells.get
        new: list[tuple[int, int, int]] = []
        for k, d in deltas.items():
            if d:
                old = get(k, 0)
                v = old + d
                if v > INT64_MAX or v < INT64_MIN:
                    raise PointsOverflow(k, v)
                new.append((k, v, old))
        index = self._index
        for k, v, old in new:
            if v:
                cells[k] = v
                if not old:
                    ix = index.get(k >> NS_SHIFT)
                    if ix is not None:
                        ix.add(k)
            else:
                del cells[k]
                ix = index.get(k >> NS_SHIFT)
                if ix is not None:
                    ix.discard(k)
        for sink in self._listeners:
            for k, v, _ in new:
                sink[k] = v

    def _commit(self, changed: list[tuple[int, int]]) -> None:
        """Write final values (no overflow check: callers validated them)."""
        self.apply({k: v - self._cells.get(k, 0) for k, v in changed})

    def load(self, cells: Mapping[int, int]) -> None:
        """Replace the whole map (restoring a snapshot); every cell is reported as changed."""
        for k, v in cells.items():
            check_int64(v, "state cell")
            split_key(k)
        removed = [(k, 0) for k in self._cells if k not in cells]
        self._commit(removed + [(k, v) for k, v in cells.items() if v])

    def _set_unchecked(self, k: int, v: int) -> None:
        """Overwrite one cell bypassing the rules: only tamper tests use this."""
        self._commit([(k, v)])


def conserved_supply(cells: Mapping[int, int]) -> tuple[int, int]:
    """(points held in accounts, minted − burned) of a raw cell map."""
    held = sum(v for k, v in cells.items() if (k >> NS_SHIFT) in _POINT_NS)
    return held, cells.get(KEY_MINTED, 0) - cells.get(KEY_BURNED, 0)
