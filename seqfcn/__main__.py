"""``python -m seqfcn`` runs the command-line interface."""
from seqfcn.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
