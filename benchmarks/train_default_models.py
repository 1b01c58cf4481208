"""Train the default read-correction model shipped in seqfcn/resources/models/ (reference-trained mode).

    python benchmarks/train_default_models.py                    # seqfcn/resources/models/ex1_illumina
    python benchmarks/train_default_models.py --genome data/lambda/lambda_virus.fa \\
        --error-model illumina --window 100 --out /tmp/lambda_corrector --steps 3000

Reference-trained mode: random windows of the genome (both strands), corrupted by an
Illumina error model (by default *fitted* to real reads aligned to the genome:
per-cycle qualities, error rate per quality, substitution matrix, N rate), with 15%
of the input bases hidden (:class:`seqfcn.correction.selftrain.MaskedInputs`); a small
:class:`~seqfcn.nn.models.ReadCorrector` learns to predict the true base. The model
is saved with :func:`seqfcn.correction.model_files.save_corrector` (safetensors + JSON).

The shipped ``seqfcn/resources/models/ex1_illumina`` was made by the first command above
(defaults: data/samtools/ex1.fa, error model fitted from data/samtools/ex1.bam,
window 36, 64 channels, 3 dilated layers, stem kernel 9, 5000 steps of 64 windows, 25% hidden bases,
lr 1e-2, seed 0) and corrects data/samtools/ex1.fastq / ex1.bam out of the box::

    seqfcn correct data/samtools/ex1.fastq --model seqfcn/resources/models/ex1_illumina -o ex1.corrected.fastq
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from seqfcn.correction.model_files import save_corrector
from seqfcn.correction.selftrain import MaskedInputs
from seqfcn.correction.training import train_corrector
from seqfcn.training.simulate import make_error_model
from seqfcn.sequence.encode import QUALITY_CAP
from seqfcn.training.datasets import CorruptedWindows, GenomeWindows
from seqfcn.nn.models import count_parameters, create_model

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--genome", default=str(ROOT / "data/samtools/ex1.fa"))
    ap.add_argument("--error-model", default=f"fitted:{ROOT / 'data/samtools/ex1.bam'}",
                    help="illumina, ont, fitted:BAM (aligned to --genome) or a .json")
    ap.add_argument("--out", default=str(ROOT / "seqfcn/resources/models/ex1_illumina"))
    ap.add_argument("--window", type=int, default=36)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--stem-kernel", type=int, default=9)
    ap.add_argument("--gap-class", action="store_true", help="5 outputs (for ONT error models)")
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--mask-rate", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    t0 = time.time()
    error_model = make_error_model(args.error_model, reference=args.genome)
    windows = GenomeWindows(args.genome, args.window, args.steps * args.batch_size, seed=args.seed)
    dataset = MaskedInputs(CorruptedWindows(windows, error_model, qmax=QUALITY_CAP, seed=args.seed + 1),
                           args.mask_rate, seed=args.seed + 2)
    torch.manual_seed(args.seed)
    model = create_model("read_corrector", channels=args.channels, n_layers=args.layers,
                         stem_kernel=args.stem_kernel, n_outputs=5 if args.gap_class else 4)
    model, result = train_corrector(dataset, model, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                                    device=args.device, seed=args.seed)
    if result.get("stop_reason") not in ("completed", "early_stopping"):
        raise SystemExit(f"training stopped early ({result.get('stop_reason')}); nothing saved")
    meta = {
        "task": "correct", "mode": "reference-trained", "genome": Path(args.genome).name,
        "error_model": args.error_model.replace(str(ROOT) + "/", ""), "window": args.window,
        "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "mask_rate": args.mask_rate,
        "seed": args.seed, "train_loss": result.get("train_loss"), "train_seconds": round(time.time() - t0, 1),
        "command": "python benchmarks/train_default_models.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k not in ("threads", "device")
            and str(v) != str(ap.get_default(k))),
    }
    save_corrector(model, args.out, metadata=meta)
    print(f"saved {args.out}: {count_parameters(model)} parameters, receptive field {model.receptive_field}, "
          f"train loss {result.get('train_loss')}, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
