"""Motif files → (4, w) probability matrices (MEME, JASPAR, TRANSFAC) and their errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqfcn.resources import MOTIFS
from seqfcn.errors import InputFormatError
from seqfcn.io.motifs import Motif, detect_format, read_motifs

DATA = Path(__file__).resolve().parents[2] / "data" / "motifs"
JASPAR_MEME = MOTIFS["jaspar2024"].path
TANGER_MEME = DATA / "tangermeme_test.meme"

JASPAR_TEXT = """>MA0004.1 Arnt
A  [ 4 19  0  0  0  0 ]
C  [16  0 20  0  0  0 ]
G  [ 0  1  0 20  0 20 ]
T  [ 0  0  0  0 20  0 ]
>MA0006.1 Ahr::Arnt
A  [ 3  0  0  0  0  0 ]
C  [ 8  0 23  0  0  0 ]
G  [ 2 23  0 23  0 24 ]
T  [11  1  1  1 24  0 ]
"""

TRANSFAC_TEXT = """VV  TRANSFAC MATRIX TABLE
XX
//
AC  M00001
XX
ID  V$MYOD_01
XX
NA  MyoD
XX
P0      A      C      G      T
01      1      2      2      0      S
02      2      1      2      0      R
03      3      0      1      1      A
04      0      5      0      0      C
XX
//
"""

MEME_HEAD = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"


def test_jaspar_meme_file() -> None:
    motifs = read_motifs(JASPAR_MEME)
    assert len(motifs) == 879
    arnt = motifs[0]
    assert (arnt.id, arnt.name, arnt.nsites, arnt.width) == ("MA0004.1", "Arnt", 20, 6)
    expected = np.array(
        [[0.2, 0.95, 0, 0, 0, 0], [0.8, 0, 1, 0, 0, 0], [0, 0.05, 0, 1, 0, 1], [0, 0, 0, 0, 1, 0]]
    )
    np.testing.assert_allclose(arnt.pfm, expected, atol=1e-12)
    for m in motifs:
        assert m.pfm.dtype == np.float64 and m.pfm.shape == (4, m.width)
        np.testing.assert_allclose(m.pfm.sum(axis=0), 1.0, atol=1e-12)


def test_meme_probabilities_keep_full_precision() -> None:
    motifs = read_motifs(TANGER_MEME)
    assert len(motifs) == 12
    first = motifs[0]
    assert first.id == first.name == "MEOX1_homeodomain_1" and first.nsites == 200
    # Biopython alone would round 0.30190 * 200 to 60 counts (0.30)
    np.testing.assert_allclose(first.pfm[:, 0], np.array([0.30190, 0.23459, 0.32856, 0.13495]) / 1.0, atol=1e-9)


def test_jaspar_and_transfac(tmp_path: Path) -> None:
    jas = tmp_path / "two.jaspar"
    jas.write_text(JASPAR_TEXT)
    motifs = read_motifs(jas)
    assert [(m.id, m.name, m.nsites) for m in motifs] == [("MA0004.1", "Arnt", 20), ("MA0006.1", "Ahr::Arnt", 24)]
    np.testing.assert_allclose(motifs[1].pfm[:, 0], [3 / 24, 8 / 24, 2 / 24, 11 / 24])
    tf = tmp_path / "m.transfac"
    tf.write_text(TRANSFAC_TEXT)
    (myod,) = read_motifs(tf)
    assert (myod.id, myod.name, myod.width, myod.nsites) == ("V$MYOD_01", "MyoD", 4, 5)
    np.testing.assert_allclose(myod.pfm[:, 2], [0.6, 0.0, 0.2, 0.2])
    # the content decides when the extension does not
    other = tmp_path / "noext"
    other.write_text(TRANSFAC_TEXT)
    assert detect_format(other) == "transfac"
    assert isinstance(read_motifs(other)[0], Motif)
    pfm = tmp_path / "single.pfm"
    pfm.write_text("4 19 0\n16 0 20\n0 1 0\n0 0 0\n")
    (single,) = read_motifs(pfm)
    np.testing.assert_allclose(single.pfm[:, 1], [0.95, 0, 0.05, 0])


def test_meme_without_nsites_uses_default_and_renormalises_rounding(tmp_path: Path) -> None:
    path = tmp_path / "x.meme"
    path.write_text(MEME_HEAD + "MOTIF m1 alt1\nletter-probability matrix: alength= 4 w= 2\n0.5 0.5 0 0\n"
                    "0.249 0.249 0.249 0.249\n")
    (m,) = read_motifs(path)
    assert (m.id, m.name, m.nsites) == ("m1", "alt1", 20)
    np.testing.assert_allclose(m.pfm[:, 1], 0.25)  # rounding in the file (sum 0.996) is renormalised


@pytest.mark.parametrize("row, total", [("0.05 0.05 0.05 0.05", "0.2"), ("0.5 0.5 0.5 0.5", "2")])
def test_meme_row_not_probabilities_is_refused(tmp_path: Path, row: str, total: str) -> None:
    """Defect 7 of the reliability issue: rows summing to 0.2 or 2.0 were renormalised silently."""
    path = tmp_path / "x.meme"
    path.write_text(MEME_HEAD + f"MOTIF m1\nletter-probability matrix: alength= 4 w= 2\n0.5 0.5 0 0\n{row}\n")
    with pytest.raises(InputFormatError, match=f"sums to {total}") as err:
        read_motifs(path)
    assert str(path) in str(err.value) and "'m1'" in str(err.value)


@pytest.mark.parametrize(
    "body, needle",
    [
        ("MOTIF bad1\nletter-probability matrix: alength= 4 w= 2\n0.5 0.5 0\n0.25 0.25 0.25 0.25\n", "bad1"),
        ("MOTIF bad2\nletter-probability matrix: alength= 4 w= 3\n0.5 0.5 0 0\n0.25 0.25 0.25 0.25\n\n", "bad2"),
        ("MOTIF bad3\nletter-probability matrix: alength= 4 w= 1\n0.5 x 0 0\n", "bad3"),
        ("MOTIF bad4\nletter-probability matrix: alength= 4 w= 1\n0 0 0 0\n", "bad4"),
    ],
)
def test_malformed_meme_names_file_and_motif(tmp_path: Path, body: str, needle: str) -> None:
    path = tmp_path / "broken.meme"
    path.write_text(MEME_HEAD + body)
    with pytest.raises(InputFormatError) as err:
        read_motifs(path)
    assert str(path) in str(err.value) and needle in str(err.value)


def test_malformed_jaspar_and_unknown_files(tmp_path: Path) -> None:
    path = tmp_path / "broken.jaspar"
    path.write_text(JASPAR_TEXT.replace("19", "x"))
    with pytest.raises(InputFormatError, match="broken.jaspar"):
        read_motifs(path)
    junk = tmp_path / "junk.txt"
    junk.write_text("hello world\n")
    with pytest.raises(InputFormatError, match="cannot tell the motif format"):
        read_motifs(junk)
    with pytest.raises(InputFormatError, match="no such motif file"):
        read_motifs(tmp_path / "missing.meme")
    with pytest.raises(InputFormatError, match="unknown motif format"):
        read_motifs(JASPAR_MEME, fmt="homer")
