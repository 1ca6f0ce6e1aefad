"""A cheap copy for aggregates whose state is flat.

The application's aggregate cache hands out a copy on every load, so commands cannot corrupt
the cached original. `copy.deepcopy` walks every UUID and datetime through `__reduce_ex__`,
which was the largest single cost of a cached load. Aggregates that mix this in promise that
their attributes are immutable values (UUID, datetime, str, int, bool, None, frozen events) or
dicts/lists/sets of such values, so copying containers one level deep is a deep copy.
"""

from __future__ import annotations

from typing import Any


class FlatState:
    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        clone = object.__new__(type(self))
        clone.__dict__.update(
            {
                name: value.copy() if isinstance(value, dict | list | set) else value
                for name, value in self.__dict__.items()
            }
        )
        return clone
