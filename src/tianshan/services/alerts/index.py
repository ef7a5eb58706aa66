"""Subscribers indexed by grid cell, so an alert touches only the clients near its area.

A fan-out worker keeps every open client in a :class:`SubscriberIndex`: clients without a
region filter in one set, filtered clients in every ``cell_deg`` grid cell their filter's
bounding box covers (filters wider than ``max_cells`` cells in a short "wide" list checked
for every alert). For an alert, :meth:`SubscriberIndex.candidates` returns the unfiltered
clients, the clients of the cells the alert area's box covers and the wide ones, each once,
in a stable order; the worker then runs the exact test
(:func:`tianshan.products.alerts.area.intersects`) once per distinct filter among the
candidates. So the cost of an alert grows with the clients near it, not with every client
of the worker: when each phone subscribes with its own position (all filters distinct), a
province-wide worker does not run a geometry test per connection per alert.

Cells are the same as the MQTT cell topics (:func:`tianshan.products.alerts.area.region_cells`):
south-west corner at integer multiples of ``cell_deg``. Membership is by bounding box, a
superset of the exact shape, so the index never loses a client the exact test would keep.
"""

from __future__ import annotations

import math
from typing import Hashable, Iterable

from tianshan.core.errors import DomainError


class SubscriberIndex:
    """Clients (any hashable) by the grid cells their filter covers; see the module docstring."""

    def __init__(self, cell_deg: float = 1.0, max_cells: int = 400) -> None:
        if not cell_deg > 0:
            raise DomainError(f"cell_deg: must be > 0, got {cell_deg}")
        if max_cells < 1:
            raise DomainError(f"max_cells: must be >= 1, got {max_cells}")
        self.cell_deg = cell_deg
        self.max_cells = max_cells
        self.everyone: dict[Hashable, None] = {}   # no filter: every alert
        self.wide: dict[Hashable, None] = {}       # filter covers more than max_cells cells
        self.cells: dict[tuple[int, int], dict[Hashable, None]] = {}
        self._where: dict[Hashable, tuple] = {}

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._where

    def _cell_range(self, bbox) -> tuple[range, range]:
        d = self.cell_deg
        return (range(math.floor(bbox.south_deg / d), math.floor(bbox.north_deg / d) + 1),
                range(math.floor(bbox.west_deg / d), math.floor(bbox.east_deg / d) + 1))

    def add(self, key: Hashable, flt) -> None:
        """Put ``key`` under filter ``flt`` (None: every alert); replaces its previous filter."""
        self.remove(key)
        if flt is None:
            self.everyone[key] = None
            self._where[key] = ("all",)
            return
        rows, cols = self._cell_range(flt.bbox())
        if len(rows) * len(cols) > self.max_cells:
            self.wide[key] = None
            self._where[key] = ("wide",)
            return
        cells = tuple((i, j) for i in rows for j in cols)
        for cell in cells:
            members = self.cells.get(cell)
            if members is None:
                members = self.cells[cell] = {}
            members[key] = None
        self._where[key] = ("cells", cells)

    def remove(self, key: Hashable) -> None:
        where = self._where.pop(key, None)
        if where is None:
            return
        if where[0] == "all":
            self.everyone.pop(key, None)
        elif where[0] == "wide":
            self.wide.pop(key, None)
        else:
            for cell in where[1]:
                members = self.cells.get(cell)
                if members is not None:
                    members.pop(key, None)
                    if not members:
                        del self.cells[cell]

    def candidates(self, area) -> Iterable[Hashable]:
        """Every key whose filter may meet ``area`` (an AlertArea; None: all keys), each once.

        Order: unfiltered clients, then by cell, then wide filters (stable between alerts).
        """
        if area is None:
            return list(self._where)
        out: dict[Hashable, None] = dict(self.everyone)
        rows, cols = self._cell_range(area.bbox())
        if len(rows) * len(cols) > len(self.cells):  # huge area: walk the occupied cells instead
            for (i, j), members in self.cells.items():
                if i in rows and j in cols:
                    out.update(members)
        else:
            cells = self.cells
            for i in rows:
                for j in cols:
                    members = cells.get((i, j))
                    if members:
                        out.update(members)
        out.update(self.wide)
        return out
