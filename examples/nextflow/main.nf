#!/usr/bin/env nextflow
// Scan a genome for motifs in shards, and correct paired reads: scattered count -> merge ->
// scattered correct -> merge per mate (DSL2).
//
//   nextflow run examples/nextflow/main.nf --outdir results
//
// Results: results/hits.bed (identical to one unsharded `seqfcn scan`) and
// results/corrected_1.fastq.gz, corrected_2.fastq.gz (identical to one unsharded
// `seqfcn correct R1 R2`). The same steps as examples/snakemake (which the test suite runs).
nextflow.enable.dsl = 2

params.genome         = "${projectDir}/../../data/lambda/lambda_virus.fa"
params.motifs         = "${projectDir}/../../seqfcn/resources/motifs/JASPAR2024_CORE_vertebrates_non-redundant.meme"
params.motif_ids      = "MA0004.1 MA0069.1 MA0071.1"
params.thresh         = 1e-4
params.scan_shards    = 2
params.reads_r1       = "${projectDir}/../../data/illumina/test_1.fastq.gz"
params.reads_r2       = "${projectDir}/../../data/illumina/test_2.fastq.gz"
params.model          = "${projectDir}/../../seqfcn/resources/models/kmer_illumina"
params.count_shards   = 2
params.correct_shards = 4
params.outdir         = "results"

include { SEQFCN_SCAN_SHARD; SEQFCN_COUNT; SEQFCN_CORRECT_SHARD } from './modules/seqfcn.nf'
include { SEQFCN_MERGE as MERGE_SCAN; SEQFCN_MERGE as MERGE_SPECTRUM } from './modules/seqfcn.nf'
include { SEQFCN_MERGE as MERGE_R1; SEQFCN_MERGE as MERGE_R2 } from './modules/seqfcn.nf'

workflow {
    scan_shards = Channel.of(1..params.scan_shards).map { i -> tuple(i, params.scan_shards) }
    scanned = SEQFCN_SCAN_SHARD(file(params.genome), file(params.motifs), params.motif_ids, params.thresh,
                                scan_shards)
    // scan shards name themselves, so their order does not matter; sort anyway for readability
    MERGE_SCAN(scanned.toSortedList { a, b -> a[0] <=> b[0] }.map { l -> l.collect { it[1] } }, "hits.bed")

    r1 = file(params.reads_r1)
    r2 = file(params.reads_r2)
    model = file(params.model)
    count_shards = Channel.of(1..params.count_shards).map { i -> tuple(i, params.count_shards) }
    counted = SEQFCN_COUNT(r1, r2, model, count_shards)
    spectrum = MERGE_SPECTRUM(counted.toSortedList { a, b -> a[0] <=> b[0] }.map { l -> l.collect { it[1] } },
                              "sample.kmers")
    read_shards = Channel.of(1..params.correct_shards).map { i -> tuple(i, params.correct_shards) }
    corrected = SEQFCN_CORRECT_SHARD(r1, r2, model, spectrum.first(), read_shards)
    // each mate on its own; shards (with their manifests) in any order, sorted for readability
    sorted = corrected.toSortedList { a, b -> a[0] <=> b[0] }
    MERGE_R1(sorted.map { l -> l.collect { it[1] }.flatten() }, "corrected_1.fastq.gz")
    MERGE_R2(sorted.map { l -> l.collect { it[2] }.flatten() }, "corrected_2.fastq.gz")
}
