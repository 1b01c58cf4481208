"""Content fingerprints (seqfcn.io.fingerprint): what a file holds, whatever its name."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from seqfcn.errors import SeqfcnError
from seqfcn.io.fingerprint import RecordHasher, file_fingerprint


def test_file_fingerprint_follows_content_not_name(tmp_path: Path) -> None:
    a, b = tmp_path / "a.fq", tmp_path / "b.fq"
    a.write_bytes(b"@r\nACGT\n+\nIIII\n")
    b.write_bytes(b"@r\nACGA\n+\nIIII\n")  # the same size, one base differs
    copy = tmp_path / "sub" / "other_name.fq"
    copy.parent.mkdir()
    shutil.copy(a, copy)
    os.utime(copy, (0, 0))  # another time stamp too
    fa = file_fingerprint(a)
    assert len(fa) == 16 and int(fa, 16) >= 0
    assert file_fingerprint(copy) == fa
    assert file_fingerprint(b) != fa


def test_file_fingerprint_sees_both_edges_of_a_large_file(tmp_path: Path) -> None:
    data = bytearray(b"A" * 5000)
    (tmp_path / "x").write_bytes(bytes(data))
    data[-1:] = b"C"  # beyond the first edge: the last edge sees it
    (tmp_path / "y").write_bytes(bytes(data))
    assert file_fingerprint(tmp_path / "x", edge=1024) != file_fingerprint(tmp_path / "y", edge=1024)
    (tmp_path / "z").write_bytes(b"A" * 5001)  # one byte longer: the size is hashed
    assert file_fingerprint(tmp_path / "x", edge=1024) != file_fingerprint(tmp_path / "z", edge=1024)


def test_file_fingerprint_of_a_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(SeqfcnError, match="nope.fq: cannot read"):
        file_fingerprint(tmp_path / "nope.fq")


def test_record_hasher_depends_on_records_and_their_order() -> None:
    def digest(*records: tuple) -> str:
        hasher = RecordHasher()
        for record in records:
            hasher.update(*record)
        return hasher.hexdigest()

    one, two = ("r1", "ACGT", b"IIII"), ("r2", "GG", None)
    assert digest(one, two) == digest(one, two) and len(digest(one)) == 16
    assert digest(one, two) != digest(two, one)
    assert digest(("ab", "c")) != digest(("a", "bc"))  # field boundaries count
    assert digest(("r", "AC", None)) != digest(("r", "AC", b""))
