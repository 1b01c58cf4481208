from __future__ import annotations

import numpy as np
import pytest
import torch

from seqfcn.nn.checkpoint import save_model
from seqfcn.sequence.encode import one_hot, reverse_complement
from seqfcn.errors import RegionError, SeqfcnError
from seqfcn.io.intervals import read_bedgraph
from seqfcn.nn.models import create_model
from seqfcn.motifs.scan_model import SiteCaller, call_sites, scan_model, scan_model_tables
from seqfcn.runtime.inference import StrandMerged
from seqfcn.interpret.predict import predict_genome_tracks

CHROMS = {"chrA": 2300, "chrB": 1100}


def _dna(n: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), n))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scan")
    seqs = {c: _dna(n, i) for i, (c, n) in enumerate(CHROMS.items())}
    fasta = tmp / "g.fa"
    fasta.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    rc_fasta = tmp / "rc.fa"
    rc_fasta.write_text("".join(f">{c}\n{reverse_complement(s)}\n" for c, s in seqs.items()))
    torch.manual_seed(0)
    # forward-only first layer: the two strands really differ, so the merge matters
    model = create_model("motif_scanner", n_motifs=4, motif_width=9, n_outputs=2, channels=8, n_layers=2,
                         strand="forward")
    model_dir = save_model(model, tmp / "model")
    model.eval()
    return tmp, seqs, fasta, rc_fasta, model, model_dir


def _whole(model, seq, output=0, merge="mean"):
    x = torch.from_numpy(one_hot(seq))[None]
    with torch.no_grad():
        return StrandMerged(model, output, merge)(x)[0, 0].numpy()


def test_call_sites_hand_made():
    t = np.array([0.0, 0.6, 0.9, 0.6, 0.0, 0.7, 0.7, 0.0, 0.55, 0.4, 0.95, 0.2])
    # maxima >= 0.5: 2 (0.9), 5 (plateau 0.7, left end), 8 (0.55), 10 (0.95)
    np.testing.assert_array_equal(call_sites(t, 0.5, 0), [2, 5, 8, 10])
    # NMS within 2: 10 kept, 8 suppressed (|10-8| = 2), 2 kept, 5 kept (|5-2| = 3)
    np.testing.assert_array_equal(call_sites(t, 0.5, 2), [2, 5, 10])
    np.testing.assert_array_equal(call_sites(t, 0.5, 3), [2, 10])
    np.testing.assert_array_equal(call_sites(t, 0.92, 3), [10])
    # ties: the leftmost wins; NaN never a site
    np.testing.assert_array_equal(call_sites(np.array([0, 1.0, 0, 1.0, 0]), 0.5, 5), [1])
    np.testing.assert_array_equal(call_sites(np.array([np.nan, 0.9, np.nan]), 0.5, 1), [1])
    assert call_sites(np.zeros(0), 0.5, 3).size == 0


def _brute_sites(track, threshold, min_distance):
    """The definition, literally: plateau-aware local maxima, then greedy NMS by a full scan."""
    v = [(-np.inf if np.isnan(x) else float(x)) for x in track]
    cands = []
    for i, x in enumerate(v):
        if not np.isfinite(x) or x < threshold or (i > 0 and v[i - 1] >= x):
            continue
        j = i
        while j + 1 < len(v) and v[j + 1] == x:
            j += 1
        if j + 1 == len(v) or v[j + 1] < x:
            cands.append(i)
    kept = []
    for i in sorted(cands, key=lambda i: (-v[i], i)):
        if all(abs(i - k) > min_distance for k in kept):
            kept.append(i)
    return sorted(kept)


def _random_track(rng, n):
    """Values from a few levels (plateaus and ties), with NaN runs."""
    t = rng.choice([0.1, 0.5, 0.6, 0.7, 0.9], n).astype(np.float32)
    t = np.repeat(t, rng.integers(1, 6, n))[:n]
    for _ in range(3):
        a = int(rng.integers(0, n))
        t[a : a + int(rng.integers(0, 8))] = np.nan
    return t


@pytest.mark.parametrize("seed", range(30))
def test_streamed_sites_equal_the_whole_track_for_any_cut(seed):
    """Fed in random pieces (plateaus and clusters cut anywhere), the caller gives exactly the
    whole-track answer, which is the definition's (a brute-force oracle)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    track = _random_track(rng, n)
    threshold, d = float(rng.choice([0.0, 0.5, 0.65])), int(rng.integers(0, 12))
    whole = call_sites(track, threshold, d)
    assert whole.tolist() == _brute_sites(track, threshold, d)
    n_cuts = min(n - 1, int(rng.integers(0, 30)))
    cuts = np.sort(rng.choice(np.arange(1, n), size=n_cuts, replace=False)) if n > 1 else []
    caller, got, values = SiteCaller(threshold, d), [], []
    for a, b in zip([0, *cuts], [*cuts, n]):
        p, v = caller.feed(int(a), track[a:b])
        got += p.tolist()
        values += v.tolist()
    p, v = caller.close()
    got += p.tolist()
    values += v.tolist()
    assert got == whole.tolist()
    np.testing.assert_array_equal(values, track[whole].astype(np.float64))


def test_a_caller_refuses_a_gap():
    caller = SiteCaller(0.5, 2)
    caller.feed(0, np.zeros(10))
    with pytest.raises(SeqfcnError):
        caller.feed(11, np.zeros(3))


def _predicted(fasta, model_dir, tmp, name, **options):
    """The merged probability tracks ``seqfcn predict`` writes (NaN where not predicted)."""
    path = tmp / f"{name}.bedGraph"
    predict_genome_tracks(fasta, model_dir, path, activation="sigmoid", **options)
    return read_bedgraph(path, chrom_sizes=CHROMS)


def test_sites_equal_the_sites_of_the_predicted_track(setup):
    """The streamed scan calls exactly the sites of the whole track predict writes, which
    equals a whole-chromosome run of the strand-merged model."""
    tmp, seqs, fasta, _, model, model_dir = setup
    sites = scan_model(fasta, model_dir, window=300, batch_size=3, threshold=0.0, min_distance=9)
    tracks = _predicted(fasta, model_dir, tmp, "w300", window=300, outputs=[0])
    for chrom, seq in seqs.items():
        np.testing.assert_allclose(tracks[chrom], _whole(model, seq), rtol=0, atol=2e-6)
        mine = sites[sites["chrom"] == chrom]
        np.testing.assert_array_equal(mine["summit"].to_numpy(), call_sites(tracks[chrom], 0.0, 9))
        np.testing.assert_allclose(mine["score"], tracks[chrom][mine["summit"]], atol=1e-6)
    assert list(sites.columns) == ["chrom", "start", "end", "name", "score", "strand", "summit"]
    assert (sites["end"] - sites["start"]).max() == 9 and set(sites["strand"]) == {"."}
    assert len(sites) > 10
    # a second output channel and the max merge, and a window that cuts elsewhere
    s1 = scan_model(fasta, model_dir, window=170, output=1, merge="max", threshold=0.3, min_distance=5)
    whole = _whole(model, seqs["chrB"], 1, "max")
    np.testing.assert_array_equal(s1[s1["chrom"] == "chrB"]["summit"], _brute_sites(whole, 0.3, 5))


def test_site_tables_stream_in_pieces_with_running_names(setup):
    """Tables of at most 4 rows: together the one table, names site_1.. running across them;
    no site at all is one empty table with the columns."""
    tmp, seqs, fasta, _, model, model_dir = setup
    whole = scan_model(fasta, model_dir, window=300, threshold=0.2, min_distance=3)
    parts = list(scan_model_tables(fasta, model_dir, window=300, threshold=0.2, min_distance=3, rows_per_table=4))
    assert len(parts) == -(-len(whole) // 4) and all(len(p) == 4 for p in parts[:-1]) and len(whole) > 12
    import pandas as pd

    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    assert whole["name"].tolist() == [f"site_{i + 1}" for i in range(len(whole))]
    none = list(scan_model_tables(fasta, model_dir, threshold=1.0))
    assert len(none) == 1 and none[0].empty and list(none[0].columns) == list(whole.columns)


def test_a_site_stream_leaves_grad_mode_and_files_alone(setup):
    """The caller's loop body keeps autograd on while tables stream; a stream that is never
    read opens no file (the genome is opened by the first table, closed after the last)."""
    import os

    tmp, seqs, fasta, _, model, model_dir = setup
    for _ in scan_model_tables(fasta, model_dir, window=300, threshold=0.2, rows_per_table=2):
        assert torch.is_grad_enabled()
        break
    assert torch.is_grad_enabled()
    if os.path.isdir("/proc/self/fd"):
        def genome_files() -> int:  # open descriptors on the FASTA (or its index)
            out = 0
            for fd in os.listdir("/proc/self/fd"):
                try:
                    out += os.readlink(f"/proc/self/fd/{fd}").startswith(str(fasta))
                except OSError:
                    pass
            return out

        before = genome_files()
        unread = [scan_model_tables(fasta, model_dir) for _ in range(5)]
        assert genome_files() == before and len(unread) == 5
        first = next(unread[0])  # reading opens the genome; finishing the stream closes it
        assert len(first) > 0 and genome_files() > before
        list(unread[0])
        assert genome_files() == before


def test_strand_symmetry(setup):
    """The reverse-complemented genome gives the mirrored sites (no ties in these tracks)."""
    tmp, seqs, fasta, rc_fasta, model, model_dir = setup
    fwd = scan_model(fasta, model_dir, window=400, threshold=0.3, min_distance=0)
    rev = scan_model(rc_fasta, model_dir, window=400, threshold=0.3, min_distance=0)
    for chrom, n in CHROMS.items():
        a = fwd[fwd["chrom"] == chrom]
        b = rev[rev["chrom"] == chrom]
        assert sorted(n - 1 - b["summit"]) == a["summit"].tolist()
        np.testing.assert_allclose(sorted(b["score"]), sorted(a["score"]), atol=2e-6)


def test_regions_and_shards(setup):
    tmp, seqs, fasta, _, model, model_dir = setup
    tracks = _predicted(fasta, model_dir, tmp, "full", window=250, outputs=[0])
    part = scan_model(fasta, model_dir, window=250, threshold=0.2, min_distance=4,
                      regions=["chrA:101-400", ("chrA", 350, 700), ("chrB", 1000, None)])
    want = [("chrA", 100 + p) for p in call_sites(tracks["chrA"][100:700], 0.2, 4)]
    want += [("chrB", 1000 + p) for p in call_sites(tracks["chrB"][1000:], 0.2, 4)]
    assert list(zip(part["chrom"], part["summit"])) == want and len(want) > 3
    # three shards: each calls the sites of its own stretch of the track
    for i in range(3):
        shard_sites = scan_model(fasta, model_dir, window=250, shard=(i, 3), threshold=0.2, min_distance=4)
        from seqfcn.runtime.inference import span_tiles

        tiles = span_tiles([(c, 0, n) for c, n in CHROMS.items()], CHROMS, 250, 0, (i, 3))
        want = []
        for chrom in CHROMS:
            mine = [t for t in tiles if t.chrom == chrom]
            if mine:
                a, b = mine[0].core_start, mine[-1].core_end
                want += [(chrom, a + p) for p in call_sites(tracks[chrom][a:b], 0.2, 4)]
        assert list(zip(shard_sites["chrom"], shard_sites["summit"])) == want


def test_user_errors(setup):
    tmp, seqs, fasta, _, model, model_dir = setup
    with pytest.raises(SeqfcnError):
        scan_model(fasta, model_dir, threshold=1.5)
    with pytest.raises(SeqfcnError):
        scan_model(fasta, model_dir, output=5)
    with pytest.raises(RegionError):
        scan_model(fasta, model_dir, regions=["chrZ:1-10"])
    with pytest.raises(RegionError):
        scan_model(fasta, model_dir, regions=[("chrB", 1000, 5000)])
    with pytest.raises(RegionError):  # raised by the call, before any table is asked for
        scan_model_tables(fasta, model_dir, regions=["chrZ:1-10"])


def test_cli_streamed_scan_bad_base_is_one_line_and_writes_nothing(setup, tmp_path, capsys):
    """A bad character in a later tile (earlier tiles scanned, the temporary output open): one
    line naming file, record and position, exit 2, no output file and no temporary left."""
    from seqfcn.cli import main

    _, _, _, _, _, model_dir = setup
    seq = list(_dna(3000, 9))
    seq[2345] = "*"
    (tmp_path / "bad.fa").write_text(">chrZ\n" + "".join(seq) + "\n")
    out = tmp_path / "sites.bed"
    code = main(["scan", str(tmp_path / "bad.fa"), "--model", str(model_dir), "--batch-size", "400",
                 "--site-threshold", "0.0", "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "bad.fa" in err and "chrZ" in err and "2345" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.fa", "bad.fa.fai"]
