"""Work units queued per user and served round-robin per user, as quiggeldy does.

Each user has a FIFO queue; the users with queued work take turns, one unit each, in the
order they first had work. A user with 1000 queued units therefore delays another user's
single unit by at most one unit per other backlogged user, never by 1000.

>>> q = FairQueue()
>>> for i in range(3): q.push("ada", f"a{i}")
>>> q.push("bob", "b0")
>>> q.order()
['a0', 'b0', 'a1', 'a2']
>>> [q.pop()[1] for _ in range(4)]
['a0', 'b0', 'a1', 'a2']
>>> q.pop() is None
True
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable


class FairQueue:
    """Per-user FIFO queues served round-robin. Not thread-safe: the caller holds a lock."""

    def __init__(self) -> None:
        self._queues: OrderedDict[Hashable, deque[str]] = OrderedDict()  # rotation order: next user first
        self._owner: dict[str, Hashable] = {}

    def __len__(self) -> int:
        return len(self._owner)

    def __contains__(self, unit: str) -> bool:
        return unit in self._owner

    def push(self, user: Hashable, unit: str, front: bool = False) -> None:
        """Queue ``unit`` at the end of ``user``'s queue (at its head with ``front``, for a unit
        that must run again); a user new to the rotation joins at its end."""
        if unit in self._owner:
            raise ValueError(f"unit {unit!r} is queued already")
        queue = self._queues.setdefault(user, deque())
        queue.appendleft(unit) if front else queue.append(unit)
        self._owner[unit] = user

    def pop(self) -> tuple[Hashable, str] | None:
        """The next unit, ``(user, unit)``, and that user goes to the end of the rotation."""
        if not self._queues:
            return None
        user, queue = next(iter(self._queues.items()))
        unit = queue.popleft()
        del self._owner[unit]
        if queue:
            self._queues.move_to_end(user)
        else:
            del self._queues[user]
        return user, unit

    def remove(self, unit: str) -> bool:
        """Take a queued unit out (cancelled); False if it is not queued."""
        user = self._owner.pop(unit, None)
        if user is None:
            return False
        queue = self._queues[user]
        queue.remove(unit)
        if not queue:
            del self._queues[user]
        return True

    def order(self) -> list[str]:
        """Every queued unit in the order ``pop`` would return them if nothing changed."""
        queues = [list(q) for q in self._queues.values()]
        out: list[str] = []
        for turn in range(max((len(q) for q in queues), default=0)):
            out.extend(q[turn] for q in queues if turn < len(q))
        return out

    def positions(self) -> dict[str, int]:
        """Each queued unit's position: 0 runs next."""
        return {unit: i for i, unit in enumerate(self.order())}

    def backlog(self) -> dict[Hashable, int]:
        """Queued units per user."""
        return {user: len(q) for user, q in self._queues.items()}
