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

// Count share i of n of the k-mers of both mates (reads-spectrum models); SEQFCN_MERGE joins
// the shares into exactly the one-process spectrum, which every correct shard reuses.
process SEQFCN_COUNT {
    tag "shard ${shard}/${nshards}"
    cpus 1

    input:
    path r1
    path r2
    path model
    tuple val(shard), val(nshards)

    output:
    tuple val(shard), path("sample.${shard}.kmers")

    script:
    """
    seqfcn count ${r1} ${r2} --model ${model} --shard ${shard}/${nshards} --threads ${task.cpus} -q \
        -o sample.${shard}.kmers
    """
}

// Correct shard i of n of the pairs (round-robin by pair), both mates in step, with the spectrum.
process SEQFCN_CORRECT_SHARD {
    tag "shard ${shard}/${nshards}"
    cpus 1

    input:
    path r1
    path r2
    path model
    path spectrum
    tuple val(shard), val(nshards)

    output:
    // each shard with its manifest (NAME.seqfcn-shard.json), which `seqfcn merge` checks
    tuple val(shard), path("corrected.shard${shard}_1.fastq.gz*"), path("corrected.shard${shard}_2.fastq.gz*")

    script:
    """
    seqfcn correct ${r1} ${r2} --model ${model} --spectrum ${spectrum} --shard ${shard}/${nshards} \\
        --threads ${task.cpus} -q -o corrected.shard${shard}_1.fastq.gz corrected.shard${shard}_2.fastq.gz
    """
}

// Merge shard files (any order: each records its shard index); read shards come with their
// manifests (*.seqfcn-shard.json), staged beside them and not named on the command line.
process SEQFCN_MERGE {
    publishDir params.outdir, mode: 'copy'

    input:
    path shards
    val name

    output:
    path "${name}"

    script:
    """
    seqfcn merge -q ${[shards].flatten().findAll { !it.name.endsWith('.seqfcn-shard.json') }.join(' ')} -o ${name}
    """
}
