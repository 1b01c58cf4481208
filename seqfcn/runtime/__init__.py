"""Running models over genomes: device choice, exact tiling, inference with a loaded model,
shard and merge machinery, and distributed (torchrun) runs."""
