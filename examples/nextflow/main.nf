#!/usr/bin/env nextflow
// Scan a genome for motifs in shards and correct reads with seqfcn (DSL2).
//
//   nextflow run examples/nextflow/main.nf --outdir results
//
// Results: results/hits.bed (identical to one unsharded `seqfcn scan`) and
// results/corrected.fastq. Set --correct_shards N (>1) only when `seqfcn correct --help`
// lists --shard.
nextflow.enable.dsl = 2

params.genome         = "${projectDir}/../../data/lambda/lambda_virus.fa"
params.motifs         = "${projectDir}/../../data/motifs/JASPAR2024_CORE_vertebrates_non-redundant.meme"
params.motif_ids      = "MA0004.1 MA0069.1 MA0071.1"
params.thresh         = 1e-4
params.scan_shards    = 2
params.reads          = "${projectDir}/../../data/samtools/ex1.fastq"
params.model          = "${projectDir}/../../data/models/ex1_illumina"
params.correct_shards = 1
params.outdir         = "results"

include { SEQFCN_SCAN_SHARD; SEQFCN_CORRECT_SHARD } from './modules/seqfcn.nf'
include { SEQFCN_MERGE as MERGE_SCAN; SEQFCN_MERGE as MERGE_READS } from './modules/seqfcn.nf'

workflow {
    scan_shards = Channel.of(1..params.scan_shards).map { i -> tuple(i, params.scan_shards) }
    scanned = SEQFCN_SCAN_SHARD(file(params.genome), file(params.motifs), params.motif_ids, params.thresh,
                                scan_shards)
    // scan shards name themselves, so their order does not matter; sort anyway for readability
    MERGE_SCAN(scanned.toSortedList { a, b -> a[0] <=> b[0] }.map { l -> l.collect { it[1] } }, "hits.bed")

    read_shards = Channel.of(1..params.correct_shards).map { i -> tuple(i, params.correct_shards) }
    corrected = SEQFCN_CORRECT_SHARD(file(params.reads), file(params.model), read_shards)
    // read shards must be merged in shard order 1..n
    MERGE_READS(corrected.toSortedList { a, b -> a[0] <=> b[0] }.map { l -> l.collect { it[1] } },
                "corrected.fastq")
}
