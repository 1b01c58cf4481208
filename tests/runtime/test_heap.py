"""The heap setting around the k-mer counting pass: set, and reset even when the pass fails."""
import pytest

from seqfcn.runtime import heap


class _Libc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return 1


def test_mapped_blocks_sets_and_resets_the_threshold(monkeypatch):
    libc = _Libc()
    monkeypatch.setattr(heap, "_libc", lambda: libc)
    with heap.mapped_blocks():
        assert libc.calls == [(-3, 128 * 1024)]
    with pytest.raises(RuntimeError), heap.mapped_blocks(1 << 20):
        raise RuntimeError("the pass failed")
    assert libc.calls == [(-3, 128 * 1024), (-3, 32 << 20), (-3, 1 << 20), (-3, 32 << 20)]


def test_mapped_blocks_is_a_no_op_without_glibc(monkeypatch):
    monkeypatch.setattr(heap, "_libc", lambda: None)
    with heap.mapped_blocks():
        pass


def test_the_real_libc_accepts_the_setting():
    libc = heap._libc()
    if libc is None:
        pytest.skip("not glibc")
    assert libc.mallopt(heap.M_MMAP_THRESHOLD, heap.GLIBC_MAX_THRESHOLD) == 1
