"""`kontrakt.stackroom`: work started with room never thrashes CPython's frame-stack chunks."""

from __future__ import annotations

import resource
import sys
import threading
from collections.abc import Callable

import pytest

from kontrakt.stackroom import with_room

CALLS = 2_000  # calls of a leaf function at each depth


def _leaf() -> int:
    return 1


def _at_depth(depth: int) -> int:
    """Call `_leaf` CALLS times from ``depth`` frames down: at one of these depths (whichever
    the caller's stack puts on a chunk boundary) every call maps and unmaps a chunk."""
    if depth:
        return _at_depth(depth - 1)
    return sum(_leaf() for _ in range(CALLS))


def _sweep() -> int:
    return sum(_at_depth(depth) for depth in range(600))


def _faults_in_fresh_thread(work: Callable[[], int]) -> int:
    """Minor page faults while ``work`` runs in a new thread (whose frame stack starts empty)."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    thread.start()
    thread.join()
    assert result == [600 * CALLS]
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_returns_the_value_and_passes_arguments() -> None:
    assert with_room(divmod, 17, 5) == (3, 2)
    assert with_room(sorted, [3, 1, 2], reverse=True) == [3, 2, 1]


def test_exceptions_pass_through_with_their_traceback() -> None:
    def fail() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError) as caught:
        with_room(fail)
    assert caught.traceback[-1].name == "fail"


def test_deep_recursion_still_works_inside() -> None:
    def down(n: int) -> int:
        return n if n == 0 else 1 + down(n - 1)

    assert with_room(down, 900) == 900


def test_calls_across_a_chunk_boundary_cost_no_page_faults_with_room() -> None:
    with_room_faults = _faults_in_fresh_thread(lambda: with_room(_sweep))
    assert with_room_faults < CALLS // 2
    if sys.version_info < (3, 14):
        # The same work without room: at least one depth sits on a boundary and every call
        # there maps a fresh chunk (CPython 3.14 keeps a spare chunk, python/cpython#142183).
        assert _faults_in_fresh_thread(_sweep) > CALLS
