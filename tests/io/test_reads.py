"""read_reads over FASTQ/FASTA/SAM/BAM/CRAM (real data + hand-built SAM), writers, errors."""
from __future__ import annotations

import gzip
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest

from seqfcn.errors import InputFormatError, SeqfcnError, SequenceError
from seqfcn.io.read_writers import BamWriter, FastqWriter, open_read_writer
from seqfcn.io.reads import Read, read_reads

DATA = Path(__file__).resolve().parents[2] / "data"
EX1_FASTQ = DATA / "samtools" / "ex1.fastq"
EX1_BAM = DATA / "samtools" / "ex1.bam"
ILLUMINA_FQ = DATA / "illumina" / "test_1.fastq.gz"
ILLUMINA_BAM = DATA / "illumina" / "sarscov2_illumina_test.bwa.bam"


@pytest.fixture
def ex1_fa(tmp_path: Path) -> Path:
    dest = tmp_path / "ex1.fa"
    shutil.copyfile(DATA / "samtools" / "ex1.fa", dest)
    return dest


@pytest.fixture(scope="module")
def ex1_fastq_reads() -> list[Read]:
    return list(read_reads(EX1_FASTQ))


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- reading
def test_fastq_records_exact(ex1_fastq_reads: list[Read]) -> None:
    reads = ex1_fastq_reads
    assert len(reads) == 3307
    first = reads[0]
    assert first.name == "B7_591:4:96:693:509/1"
    assert first.sequence == "CACTAGTGGCTCATTGTAAATGTGTGGTTTAACTCG"
    # '<' = Q27, ';' = Q26, '5' = Q20, ':' = Q25, '7' = Q22
    expected = [27] * 15 + [26] + [27] * 9 + [20] + [27] * 5 + [26, 25, 27, 26, 22]
    assert first.qualities.dtype == np.uint8
    np.testing.assert_array_equal(first.qualities, expected)
    assert first.comment == "" and first.ref_bases is None and first.segment is None
    assert reads[-1].name == "EAS114_26:7:37:79:581/1"


def test_gzip_fastq_with_comments() -> None:
    reads = list(read_reads(ILLUMINA_FQ))
    assert len(reads) == 100
    first = reads[0]
    assert first.name == "ERR5069949.2151832"
    assert first.comment == "NS500628:121:HK3MMAFX2:2:21208:10793:15304/1"
    assert len(first.sequence) == 150 and first.sequence.startswith("TCATAAACCAAAGCACTCAC")
    assert first.qualities[:7].tolist() == [32] * 6 + [36]  # 'A' = Q32, 'E' = Q36
    assert reads[-1].name == "ERR5069949.2415814"


def test_bam_ref_bases_for_known_cigars(ex1_fa: Path) -> None:
    reads = list(read_reads(EX1_BAM, reference=ex1_fa))
    assert len(reads) == 3307
    by_key = {(r.name, r.segment.cigarstring): r for r in reads}
    unmapped = [r for r in reads if r.segment.is_unmapped]
    assert len(unmapped) == 36 and all(r.ref_bases is None and r.ref_positions is None for r in unmapped)
    for read in reads:
        if read.ref_bases is not None:
            assert len(read.ref_bases) == len(read.sequence) == read.ref_positions.shape[0]

    # 18M5I12M at seq1:271 (1-based); samtools faidx seq1:271-288 and seq1:289-300
    ins = by_key["EAS218_4:1:48:9:409", "18M5I12M"]
    assert ins.reference_name == "seq1" and ins.segment.reference_start == 270
    assert ins.ref_bases == "GTTTAGTGCCTTTGTTCA" + "-----" + "ACCCCCTTGCAA"
    np.testing.assert_array_equal(
        ins.ref_positions, list(range(270, 288)) + [-1] * 5 + list(range(288, 300))
    )
    # 9M1D26M at seq2:432, reverse strand; seq2:432-440 then seq2:442-467 (C at 441 deleted)
    dele = by_key["EAS1_95:4:176:971:874", "9M1D26M"]
    assert dele.reference_name == "seq2" and dele.is_reverse
    assert dele.ref_bases == "TAAAATCAG" + "AAGAGAAAAGCATACAGTCATCTATA" == dele.sequence
    np.testing.assert_array_equal(dele.ref_positions, list(range(431, 440)) + list(range(441, 467)))


def test_md_tags_give_the_same_ref_bases_as_the_reference(tmp_path: Path) -> None:
    ref = tmp_path / "sars.fa"
    shutil.copyfile(DATA / "sarscov2" / "MN908947.3.fasta", ref)
    from_md = list(read_reads(ILLUMINA_BAM))
    from_ref = list(read_reads(ILLUMINA_BAM, reference=ref))
    assert len(from_md) == 200
    assert all(r.ref_bases is not None for r in from_md)
    assert [r.ref_bases for r in from_md] == [r.ref_bases for r in from_ref]
    # first record: 150M at 128 with MD 76G36C36 -> exactly two mismatches
    first = from_ref[0]
    diffs = [i for i, (a, b) in enumerate(zip(first.sequence, first.ref_bases)) if a != b]
    assert diffs == [76, 76 + 1 + 36]


@pytest.mark.parametrize("bam", [ILLUMINA_BAM, DATA / "sarscov2" / "MT007544_ont.minimap2.bam"])
def test_ref_bases_agree_with_nm_tags(tmp_path: Path, bam: Path) -> None:
    """Mismatches between sequence and ref_bases plus inserted and deleted bases = the aligner's NM."""
    ref = tmp_path / "sars.fa"
    shutil.copyfile(DATA / "sarscov2" / "MN908947.3.fasta", ref)
    checked = 0
    for read in read_reads(bam, reference=ref):
        if read.ref_bases is None:
            continue
        seq = np.frombuffer(read.sequence.encode(), np.uint8)
        under = np.frombuffer(read.ref_bases.encode(), np.uint8)
        on_ref = (under != ord("-")) & (under != ord("."))
        np.testing.assert_array_equal(on_ref, read.ref_positions >= 0)
        indels = sum(n for op, n in read.segment.cigartuples if op in (1, 2))
        assert int((seq[on_ref] != under[on_ref]).sum()) + indels == read.segment.get_tag("NM"), read.name
        checked += 1
    assert checked == {ILLUMINA_BAM: 200}.get(bam, 203)


def test_reference_must_match_the_header(tmp_path: Path) -> None:
    sam, _ = _tiny_alignment(tmp_path)
    other = tmp_path / "other.fa"
    other.write_text(">chrT\nACGT\n")
    with pytest.raises(InputFormatError, match="chrT is 4 bp there, 20 bp in the header"):
        list(read_reads(sam, reference=other))


def _tiny_alignment(tmp_path: Path, suffix: str = ".sam") -> tuple[Path, Path]:
    """Reference "AACCggTTAACCGGTTAACC" and four records: insertion + soft/hard clip + deletion
    with a mismatch (and MD), a secondary copy, a supplementary copy, an unmapped read."""
    ref = tmp_path / "tiny_ref.fa"
    ref.write_text(">chrT\nAACCggTTAACCGGTTAACC\n")
    header = {"HD": {"VN": "1.6", "SO": "unsorted"}, "SQ": [{"SN": "chrT", "LN": 20}]}
    path = tmp_path / f"tiny{suffix}"
    with pysam.AlignmentFile(str(path), "wb" if suffix == ".bam" else "wh", header=header) as out:
        for name, flag in (("r1", 0), ("r1", 256), ("r1", 2048)):
            seg = pysam.AlignedSegment(out.header)
            seg.query_name = name
            seg.flag = flag
            seg.reference_id = 0
            seg.reference_start = 3
            seg.mapping_quality = 60
            seg.cigarstring = "3H2S3M1I2M1D2M"
            seg.query_sequence = "TTCGGATTAG"
            seg.query_qualities = pysam.qualitystring_to_array("ABCDEFGHIJ")
            seg.set_tag("MD", "5^A1C0")
            seg.set_tag("XY", 7)
            out.write(seg)
        seg = pysam.AlignedSegment(out.header)
        seg.query_name = "u1"
        seg.flag = 4
        seg.reference_id = -1
        seg.reference_start = -1
        seg.query_sequence = "ACGT"
        seg.query_qualities = pysam.qualitystring_to_array("IIII")
        out.write(seg)
    return path, ref


def test_hand_built_sam_insertion_and_soft_clip(tmp_path: Path) -> None:
    sam, ref = _tiny_alignment(tmp_path)
    for reference in (ref, None):  # from the FASTA, then from the MD tag
        reads = list(read_reads(sam, reference=reference))
        assert [r.name for r in reads] == ["r1", "r1", "r1", "u1"]
        r1 = reads[0]
        assert r1.sequence == "TTCGGATTAG"
        assert r1.ref_bases == "..CGG-TTAC"
        np.testing.assert_array_equal(r1.ref_positions, [-1, -1, 3, 4, 5, -1, 6, 7, 9, 10])
        np.testing.assert_array_equal(r1.qualities, np.arange(32, 42))
        assert r1.reference_name == "chrT" and r1.segment.get_tag("XY") == 7
        assert reads[3].reference_name is None and reads[3].ref_bases is None
    primary = list(read_reads(sam, primary_only=True))
    assert [r.segment.flag for r in primary] == [0, 4]


def test_cram_needs_and_uses_reference(tmp_path: Path) -> None:
    bam, ref = _tiny_alignment(tmp_path, ".bam")
    cram = tmp_path / "tiny.cram"
    pysam.view("-C", "-T", str(ref), "-o", str(cram), str(bam), catch_stdout=False)
    with pytest.raises(SeqfcnError, match="needs the reference"):
        read_reads(cram)
    reads = list(read_reads(cram, reference=ref))
    assert [r.name for r in reads] == ["r1", "r1", "r1", "u1"]
    assert reads[0].sequence == "TTCGGATTAG" and reads[0].ref_bases == "..CGG-TTAC"


def test_stdin_fastq_and_bam(monkeypatch: pytest.MonkeyPatch) -> None:
    for path, count, last in ((ILLUMINA_FQ, 100, "ERR5069949.2415814"), (EX1_BAM, 3307, "EAS114_26:7:37:79:581")):
        with open(path, "rb") as handle:
            monkeypatch.setattr(sys, "stdin", handle)
            reads = list(read_reads("-"))
        assert len(reads) == count and reads[-1].name == last


def test_fasta_reads_have_no_qualities(tmp_path: Path) -> None:
    path = tmp_path / "reads.fa"
    path.write_text(">a first read\nACGT\nAC\n>b\nGG\n")
    reads = list(read_reads(path))
    assert [(r.name, r.comment, r.sequence, r.qualities) for r in reads] == [
        ("a", "first read", "ACGTAC", None),
        ("b", "", "GG", None),
    ]
    with pytest.raises(SequenceError, match="no qualities"):
        with FastqWriter(tmp_path / "out.fq") as writer:
            writer.write(reads[0])
    with FastqWriter(tmp_path / "out.fa") as writer:
        for read in reads:
            writer.write(read)
    assert (tmp_path / "out.fa").read_text() == ">a first read\nACGTAC\n>b\nGG\n"
    assert "out.fq" not in _listing(tmp_path)


# --------------------------------------------------------------------------- errors
def test_truncated_gzip_is_an_input_error(tmp_path: Path) -> None:
    data = ILLUMINA_FQ.read_bytes()
    cut = tmp_path / "cut.fastq.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFormatError, match="truncated") as info:
        list(read_reads(cut))
    assert str(cut) in str(info.value) and "\n" not in str(info.value)


def test_truncated_bam_is_an_input_error(tmp_path: Path) -> None:
    data = EX1_BAM.read_bytes()
    cut = tmp_path / "cut.bam"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFormatError, match="truncated") as info:
        list(read_reads(cut))
    assert str(cut) in str(info.value)


def test_quality_length_mismatch_names_the_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.fq"
    bad.write_text("@r1 ok\nACGT\n+\nIIII\n@r2\nACGTA\n+\nIII\n@r3\nAC\n+\nII\n")
    with pytest.raises(InputFormatError) as info:
        list(read_reads(bad))
    assert info.value.record == "r2" and "record #2" in str(info.value) and str(bad) in str(info.value)


def test_not_a_read_file(tmp_path: Path) -> None:
    bad = tmp_path / "table.txt"
    bad.write_text("hello world\n")
    with pytest.raises(InputFormatError, match="not a FASTQ"):
        read_reads(bad)
    with pytest.raises(SeqfcnError, match="no such file"):
        read_reads(tmp_path / "missing.fq")
    with pytest.raises(SeqfcnError, match="unknown read format"):
        read_reads(EX1_FASTQ, fmt="genbank")


# --------------------------------------------------------------------------- writing
@pytest.mark.parametrize("name", ["out.fastq", "out.fq.gz"])
def test_fastq_round_trip(tmp_path: Path, name: str, ex1_fastq_reads: list[Read]) -> None:
    reads = ex1_fastq_reads[:500] + [Read("with_comment", "ACGTN", np.array([0, 10, 20, 40, 93], np.uint8), "x y")]
    out = tmp_path / name
    with open_read_writer(out, EX1_FASTQ) as writer:
        assert isinstance(writer, FastqWriter)
        for read in reads:
            writer.write(read)
    assert (out.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    back = list(read_reads(out))
    assert [(r.name, r.comment, r.sequence) for r in back] == [(r.name, r.comment, r.sequence) for r in reads]
    for a, b in zip(back, reads):
        np.testing.assert_array_equal(a.qualities, b.qualities)
    assert _listing(tmp_path) == [name]


def test_bam_to_fastq_restores_sequencing_orientation(tmp_path: Path, ex1_fastq_reads: list[Read]) -> None:
    original = {r.name: r for r in ex1_fastq_reads}
    out = tmp_path / "from_bam.fq"
    reads = list(read_reads(EX1_BAM))
    with FastqWriter(out) as writer:
        for read in reads:
            writer.write(read)
    written = list(read_reads(out))
    assert len(written) == 3307 and sum(r.is_reverse for r in reads) > 1000
    for bam_read, read in zip(reads, written):
        mate = "/1" if bam_read.segment.is_read1 else "/2"
        source = original[read.name + mate]
        assert read.sequence == source.sequence
        np.testing.assert_array_equal(read.qualities, source.qualities)


def test_bam_round_trip_keeps_records_and_adds_pg(tmp_path: Path) -> None:
    reads = list(read_reads(EX1_BAM))
    before = [(r.name, r.segment.flag, r.segment.reference_start, r.segment.cigarstring,
               r.segment.next_reference_start, r.segment.get_tags()) for r in reads]
    # change one read's sequence/qualities and tag it, as a corrector would
    changed = reads[10]
    changed.segment.set_tag("OQ", pysam.qualities_to_qualitystring(changed.segment.query_qualities))
    changed.sequence = "A" * len(changed.sequence)
    changed.qualities = np.full(len(changed.sequence), 40, np.uint8)
    out = tmp_path / "out.bam"
    pg = {"ID": "seqfcn", "PN": "seqfcn", "VN": "0.1.0", "CL": "seqfcn correct"}
    with open_read_writer(out, EX1_BAM, pg=pg) as writer:
        assert isinstance(writer, BamWriter)
        for read in reads:
            writer.write(read)
    back = list(read_reads(out))
    after = [(r.name, r.segment.flag, r.segment.reference_start, r.segment.cigarstring,
              r.segment.next_reference_start, r.segment.get_tags()) for r in back]
    assert len(after) == 3307
    assert after[:10] == before[:10] and after[11:] == before[11:]
    assert back[10].sequence == changed.sequence and back[10].qualities.tolist() == [40] * len(changed.sequence)
    assert back[10].segment.has_tag("OQ")
    header = pysam.AlignmentFile(str(out)).header.to_dict()
    assert header["SQ"] == [{"SN": "seq1", "LN": 1575}, {"SN": "seq2", "LN": 1584}]
    assert header["PG"][-1] == {**pg, "PP": "samtools.1"}
    assert _listing(tmp_path) == ["out.bam"]


def test_writer_choice_and_sam_output(tmp_path: Path) -> None:
    sam_out = tmp_path / "out.txt"
    reads = list(read_reads(EX1_BAM))[:3]
    with open_read_writer(sam_out, EX1_BAM, fmt="sam") as writer:
        for read in reads:
            writer.write(read)
    text = sam_out.read_text().splitlines()
    assert text[0].startswith("@HD") and len([t for t in text if not t.startswith("@")]) == 3
    with open_read_writer(tmp_path / "plain.out", ILLUMINA_FQ) as writer:  # unknown name → like the input
        assert isinstance(writer, FastqWriter)
    unaligned = tmp_path / "unaligned.bam"
    with open_read_writer(unaligned, ILLUMINA_FQ) as writer:  # FASTQ in, BAM out: unmapped records
        writer.write(list(read_reads(ILLUMINA_FQ))[0])
    (rec,) = list(read_reads(unaligned))
    assert rec.name == "ERR5069949.2151832" and rec.segment.is_unmapped and len(rec.sequence) == 150


@pytest.mark.parametrize("name", ["boom.fq.gz", "boom.bam"])
def test_writer_leaves_no_file_on_exception(tmp_path: Path, name: str) -> None:
    reads = list(read_reads(EX1_BAM))[:5]
    with pytest.raises(RuntimeError, match="stop"):
        with open_read_writer(tmp_path / name, EX1_BAM) as writer:
            for read in reads:
                writer.write(read)
            raise RuntimeError("stop")
    assert _listing(tmp_path) == []
    with open_read_writer(tmp_path / name, EX1_BAM) as writer:
        writer.write(reads[0])
    assert _listing(tmp_path) == [name]
    assert oct(os.stat(tmp_path / name).st_mode & 0o777) != oct(0o600)


def test_fastq_from_gzip_writer_is_standard_gzip(tmp_path: Path) -> None:
    out = tmp_path / "x.fq.gz"
    with FastqWriter(out) as writer:
        writer.write(Read("q", "ACG", np.array([30, 31, 32], np.uint8)))
    assert gzip.decompress(out.read_bytes()) == b"@q\nACG\n+\n?@A\n"


def test_gzip_write_error_is_one_seqfcn_error_and_leaves_no_file(tmp_path, monkeypatch):
    """Compression runs on a thread, so a full disk shows at close(): a SeqfcnError naming the
    file, the temporary removed, nothing published."""
    import errno
    import gzip

    import numpy as np

    from seqfcn.errors import SeqfcnError
    from seqfcn.io.read_writers import FastqWriter
    from seqfcn.io.reads import Read

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gzip.GzipFile, "write", full)
    writer = FastqWriter(tmp_path / "out.fq.gz")
    writer.write(Read("r1", "ACGT", np.full(4, 30, np.uint8)))
    with pytest.raises(SeqfcnError, match="No space left"):
        writer.close()
    assert list(tmp_path.iterdir()) == []


def test_sam_records_off_the_sq_lines_read_quietly(tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog) -> None:
    """art_illumina's SAM names each reference by the whole FASTA header in @SQ and by its first
    word in the records: htslib would warn "unrecognized reference name" for every record;
    seqfcn says it once and reads every record."""
    sam = tmp_path / "art.sam"
    sam.write_text("@HD\tVN:1.4\n@SQ\tSN:chr1 first chromosome\tLN:100\n" + "".join(
        f"r{i}\t0\tchr1\t{i + 1}\t60\t4M\t*\t0\t0\tACGT\tIIII\n" for i in range(5)))
    with caplog.at_level("WARNING", logger="seqfcn"):
        reads = list(read_reads(sam))
    assert [r.name for r in reads] == [f"r{i}" for i in range(5)] and reads[0].sequence == "ACGT"
    assert "unrecognized reference" not in capfd.readouterr().err
    assert sum("not in the @SQ lines" in m for m in caplog.messages) == 1
    assert pysam.set_verbosity(3) == 3  # htslib's verbosity is back to its default
