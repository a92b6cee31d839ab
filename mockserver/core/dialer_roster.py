"""The dialer's agents and the calls waiting for them.

Agents are store documents (collection ``ryng:agents``, keyed by username): id, username, number, state
(``available``, ``on-call``, ``wrap-up``), the call they are on and since when they are free. Waiting
calls sit in priority heaps, one per set of eligible agents (``*`` for any agent); the heaps are an index
rebuilt from the stored calls, never the source of truth.
"""

from __future__ import annotations

import bisect
import heapq
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mockserver.core.fakes import Fakes
from mockserver.core.store import Document, StateStore

AGENTS = "ryng:agents"
ANY = "*"
DEFAULT_TEAM_SIZE = 5
FIRST_AGENT_ID = 31


class Roster:
    def __init__(self, store: StateStore, seed: int) -> None:
        self.store = store
        self.seed = seed
        self._available = FreeAgents()

    def load(self) -> None:
        self._available.clear()
        for agent in self.agents():
            if agent["state"] == "available":
                self._available.add(agent["username"], agent["free_since"], agent["id"])

    def remote_agent(self, username: str, agent: Document | None) -> None:
        """Another process of a shared store changed an agent: keep who is available in step."""
        if agent is not None and agent["state"] == "available":
            self._available.add(username, agent["free_since"], agent["id"])
        else:
            self._available.discard(username)

    def seed_default(self, configured: Iterable[Mapping[str, Any]], team_size: int, fakes: Fakes) -> None:
        """The roster from the config file, else a seeded team; only when the store holds no agents."""
        if self.store.count(AGENTS):
            return
        entries = list(configured)
        if entries:
            for entry in entries:
                self.add(str(entry["username"]), entry.get("number"), entry.get("id"), free_since=0.0)
            return
        for _ in range(team_size):
            first, last = fakes.first_name(), fakes.last_name()
            username = fakes.email(first, last)
            while self.get(username) is not None:
                username = fakes.email(first, f"{last}{fakes.integer(2, 99)}")
            self.add(username, fakes.phone(), None, free_since=0.0)

    def add(
        self, username: str, number: Any = None, agent_id: Any = None, *, free_since: float = 0.0
    ) -> Document:
        if agent_id is None:
            agent_id = FIRST_AGENT_ID + self.store.count(AGENTS)
            taken = {a["id"] for a in self.agents()}
            while agent_id in taken:
                agent_id += 1
        agent: Document = {
            "id": int(agent_id),
            "username": username,
            "number": str(number) if number else number_for(self.seed, username),
            "state": "available",
            "call": None,
            "free_since": free_since,
            "handled": 0,
        }
        self.store.put(AGENTS, username, agent)
        self._available.add(username, free_since, agent["id"])
        return agent

    def get(self, username: str) -> Document | None:
        return self.store.get(AGENTS, username)

    def by_id(self, agent_id: int) -> Document | None:
        return next((a for a in self.agents() if a["id"] == agent_id), None)

    def agents(self) -> list[Document]:
        return sorted(self.store.values(AGENTS), key=lambda a: a["id"])

    def usernames(self) -> list[str]:
        return [a["username"] for a in self.agents()]

    def available(self) -> list[str]:
        """Free agents, longest idle first."""
        return self._available.ordered()

    def available_among(self, usernames: Iterable[str]) -> list[str]:
        """Those of these agents who are free, longest idle first."""
        return self._available.ordered_among(usernames)

    def is_available(self, username: str) -> bool:
        return username in self._available

    def occupy(self, username: str, call_id: int, state: str = "on-call") -> Document:
        agent = self.store.get(AGENTS, username)
        assert agent is not None
        agent["state"] = state
        agent["call"] = call_id
        self.store.put(AGENTS, username, agent)
        self._available.discard(username)
        return agent

    def set_state(self, username: str, state: str) -> None:
        agent = self.store.get(AGENTS, username)
        if agent is not None and agent["state"] != state:
            agent["state"] = state
            self.store.put(AGENTS, username, agent)

    def release(self, username: str, now: float, *, handled: bool) -> None:
        agent = self.store.get(AGENTS, username)
        if agent is None:
            return
        agent["state"] = "available"
        agent["call"] = None
        agent["free_since"] = now
        if handled:
            agent["handled"] += 1
        self.store.put(AGENTS, username, agent)
        self._available.add(username, now, agent["id"])


class FreeAgents:
    """The free agents in the order they take calls (longest idle first, then lowest id), kept sorted as
    agents come and go: reading the order costs nothing per busy agent, and no dispatch sorts."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[float, int, str]] = {}
        self._order: list[tuple[float, int, str]] = []

    def clear(self) -> None:
        self._keys.clear()
        self._order.clear()

    def add(self, username: str, free_since: float, agent_id: int) -> None:
        self.discard(username)
        key = self._keys[username] = (free_since, agent_id, username)
        bisect.insort(self._order, key)

    def discard(self, username: str) -> None:
        key = self._keys.pop(username, None)
        if key is not None:
            del self._order[bisect.bisect_left(self._order, key)]

    def __contains__(self, username: object) -> bool:
        return username in self._keys

    def __len__(self) -> int:
        return len(self._order)

    def ordered(self) -> list[str]:
        return [key[2] for key in self._order]

    def ordered_among(self, usernames: Iterable[str]) -> list[str]:
        """Those of these agents who are free, in the same order."""
        keys = self._keys
        return [key[2] for key in sorted(keys[u] for u in usernames if u in keys)]


def number_for(seed: int, username: str) -> str:
    """A stable Indian mobile number for an agent the config did not give one."""
    rng = random.Random(f"ryng-agent:{seed}:{username}")
    return f"+91{rng.choice('6789')}{rng.randrange(10**9):09d}"


def pool_key(eligible: list[str] | None) -> str:
    if not eligible:
        return ANY
    return eligible[0] if len(eligible) == 1 else "\n".join(sorted(set(eligible)))


class Pools:
    """Waiting calls by the set of agents that may take them; biggest priority first, then oldest."""

    def __init__(self) -> None:
        # One int per waiting call, -priority * 2**40 + callID: the smallest is the biggest priority, then
        # the oldest (ids grow with age); an int is a third of a tuple, and a campaign may hold 1,000,000.
        self._heaps: dict[str, list[int]] = {}
        self._by_agent: dict[str, set[str]] = {}
        self._size = 0

    def clear(self) -> None:
        self._heaps.clear()
        self._by_agent.clear()
        self._size = 0

    def push(self, call: Mapping[str, Any]) -> None:
        key = pool_key(call.get("eligible"))
        heap = self._heaps.get(key)
        if heap is None:
            heap = self._heaps[key] = []
            if key != ANY:
                for username in key.split("\n"):
                    self._by_agent.setdefault(username, set()).add(key)
        heapq.heappush(heap, -int(call["priority"]) * _ID_SPAN + int(call["callID"]))
        self._size += 1

    def take(self, username: str, waiting: Callable[[int], bool]) -> int | None:
        """The best waiting call this agent may take, removed from its pool."""
        best: tuple[int, list[int]] | None = None
        heaps = self._heaps
        # ANY first: a call sits in one pool only, so the order of the pools never decides a tie
        for key in (ANY, *self._by_agent.get(username, ())):
            heap = heaps.get(key)
            while heap and not waiting(heap[0] & _ID_MASK):
                heapq.heappop(heap)
                self._size -= 1
            if heap and (best is None or heap[0] < best[0]):
                best = (heap[0], heap)
            elif heap is not None and not heap:
                del heaps[key]  # only pools that hold calls are kept (see ``agents_with_calls``)
        if best is None:
            return None
        heapq.heappop(best[1])
        self._size -= 1
        return best[0] & _ID_MASK

    def anyone_may_take(self) -> bool:
        """Whether calls any agent may take are waiting."""
        return bool(self._heaps.get(ANY))

    def agents_with_calls(self) -> set[str]:
        """The agents named by pools that hold calls."""
        named: set[str] = set()
        for key, heap in self._heaps.items():
            if heap and key != ANY:
                named.update(key.split("\n"))
        return named

    def may_take(self, username: str) -> bool:
        """Whether a pool this agent may take from holds anything (perhaps only calls no longer waiting)."""
        heaps = self._heaps
        return bool(heaps.get(ANY)) or any(heaps.get(key) for key in self._by_agent.get(username, ()))

    def waiting(self) -> int:
        """Entries held (a cancelled call's stays until a take finds it no longer waiting)."""
        return self._size


_ID_SPAN = 1 << 40
_ID_MASK = _ID_SPAN - 1
