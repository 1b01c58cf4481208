#!/usr/bin/env bash
# Retrain data/models/kmer_illumina on whole bacterial genomes (issue #12, Deliver 6).
#
#   bash benchmarks/train_kmer_illumina.sh WORKDIR [OUT]
#
# Needs Debian's kleborate-examples, art-nextgen-simulation-tools and samtools. Three
# complete Klebsiella pneumoniae genomes (Kp1084, MGH78578, NTUH-K2044) are the training
# genomes; HS11286, the benchmark genome, is never used. The two sequencing profiles are
# error models fitted (`fitted:BAM`) to art_illumina's HiSeq 2500 (150 bp) and MiSeq v3
# (250 bp) reads of Kp1084 aligned at their true positions, plus two parametric Illumina
# models (150 bp, mean quality falling from 38 to 12 and to 25: worse and better runs). Each
# of the 4 x 3 (profile, coverage) samples is a whole genome (round robin over the three) with
# its own spectrum and Poisson, GC-biased coverage (the default --gc-bias 0.5,0.15); the
# network learns on the reads the spectrum walk leaves weak (what it
# sees in `seqfcn correct`), at most 40,000 of them per sample, plus a quarter as many reads
# as they came. About 10 min and 6.5 GB on 2 CPU threads.
set -euo pipefail
work=${1:?usage: train_kmer_illumina.sh WORKDIR [OUT]}
out=${2:-$work/kmer_illumina}
repo=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python}
mkdir -p "$work" && cd "$work"
src=/usr/share/doc/kleborate/examples/data
for g in Klebs_Kp1084 MGH78578 NTUH-K2044; do
    # short record names: art writes the whole FASTA header as the SAM reference name
    [ -s "$g.fa" ] || xz -dc "$src/$g.fna.xz" | sed 's/^>\([^ ]*\).*/>\1/' > "$g.fa"
done
for p in "HS25 150 450 21 hs25" "MSv3 250 600 22 miseq250"; do
    set -- $p
    [ -s "fit_$5.bam" ] || {
        art_illumina -ss "$1" -i Klebs_Kp1084.fa -p -l "$2" -f 5 -m "$3" -s 30 -rs "$4" \
            -ir 0 -ir2 0 -dr 0 -dr2 0 -sam -o "fit_$5_" > /dev/null
        samtools view -b -o "fit_$5.bam" "fit_$5_.sam" && rm -f "fit_$5_"*
    }
done
echo '{"model": {"channels": 16, "n_layers": 4}}' > C.json
"$py" -m seqfcn train --task correct --evidence reads \
    --genome Klebs_Kp1084.fa MGH78578.fa NTUH-K2044.fa \
    --error-model "fitted:fit_hs25.bam;fitted:fit_miseq250.bam;illumina:q_end=12;illumina:q_end=25" \
    --coverages 8,25,50 --max-train-reads 40000 --steps 10000 --threads 2 --seed 1 \
    --config C.json --out "$out"
