"""Run deep, call-heavy work with room on CPython's frame stack (works around CPython gh-142183).

CPython 3.11 to 3.13 keep the frames of Python functions on a per-thread stack made of chunks of
16 KiB. A call that does not fit in the current chunk maps a new one; the return that empties it
unmaps it again. Code that keeps calling across that boundary (a recursive schema walk at just the
wrong depth) pays an mmap, a few page faults and a munmap per call. Where the boundary falls depends
on how deep the caller already is, so the same work can be fast in one process and slow in another:
building GitHub's REST description in a worker process took 1.1 million extra page faults, 7 s of
system time in a 20 s run, and none when run from a shallower frame. CPython 3.14 keeps a spare
chunk instead (python/cpython#142183); older versions need the work to start with room to spare.

`with_room(fn, *args)` calls ``fn`` from a frame that declares ``ROOM_SLOTS`` slots of evaluation
stack it never uses. CPython gives such a frame a chunk of its own, twice its size rounded up to a
power of two, so the frames of everything ``fn`` calls, down to far beyond Python's default
recursion limit, land in the unused half of that chunk and cross no boundary. The declared slots
are never written, so they cost address space, not memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["ROOM_SLOTS", "with_room"]

P = ParamSpec("P")
R = TypeVar("R")

# 2**20 slots of 8 bytes: the frame asks for 8 MiB, gets a 16 MiB chunk, and leaves about 8 MiB to
# the frames below it (tens of thousands of frames; Python's default recursion limit is 1,000).
ROOM_SLOTS = 1 << 20


def with_room(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """``fn(*args, **kwargs)``, called from a frame with a stack chunk of its own (see the module)."""
    return fn(*args, **kwargs)


# The frame size is read from the code object; the evaluation loop only ever uses the few slots
# the body needs, so a larger declared size changes nothing but where the next frames go.
with_room.__code__ = with_room.__code__.replace(
    co_stacksize=with_room.__code__.co_stacksize + ROOM_SLOTS
)
