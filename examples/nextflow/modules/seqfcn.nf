// seqfcn steps as Nextflow DSL2 processes. Each runs the `seqfcn` command (on PATH,
// e.g. `pip install seqfcn` in the task environment or a container with it).

process SEQFCN_SCAN_SHARD {
    tag "shard ${shard}/${nshards}"
    cpus 1

    input:
    path genome
    path motifs
    val motif_ids
    val thresh
    tuple val(shard), val(nshards)

    output:
    tuple val(shard), path("scan.shard${shard}.bed")

    script:
    """
    seqfcn scan ${genome} --motifs ${motifs} --motif ${motif_ids} --thresh ${thresh} \\
        --shard ${shard}/${nshards} --threads ${task.cpus} -q -o scan.shard${shard}.bed
    """
}

process SEQFCN_CORRECT_SHARD {
    tag "shard ${shard}/${nshards}"
    cpus 2

    input:
    path reads
    path model
    tuple val(shard), val(nshards)

    output:
    tuple val(shard), path("corrected.shard${shard}.fastq")

    script:
    def sharding = nshards > 1 ? "--shard ${shard}/${nshards}" : ""
    """
    seqfcn correct ${reads} --model ${model} ${sharding} --threads ${task.cpus} -q \\
        -o corrected.shard${shard}.fastq
    """
}

// Merge shard files; `shards` must be in shard order 1..n (reads are re-interleaved).
process SEQFCN_MERGE {
    publishDir params.outdir, mode: 'copy'

    input:
    path shards
    val name

    output:
    path "${name}"

    script:
    """
    seqfcn merge -q ${shards} -o ${name}
    """
}
