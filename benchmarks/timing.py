"""Whole-process timing for the benchmarks: GNU ``/usr/bin/time`` around one command."""
from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path


def run(cmd: list, *, log: Path | None = None, env: dict | None = None) -> dict:
    """Run ``cmd`` (items made strings) under GNU time: ``{"seconds", "peak_mb"}`` (wall, ``%M``).

    (``wait4`` from this Python process would count the pre-``exec`` copy of the parent in
    the child's maximum RSS, so a small external ``time`` measures instead.) Its standard
    output goes to ``log`` and its standard error to ``log`` + ``.err`` (or both are dropped);
    ``env`` is added to this environment. A failure raises with the end of its error output."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        err_path = Path(f"{log}.err") if log else None
        with open(log or os.devnull, "w") as out, open(err_path or os.devnull, "w") as err:
            proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", tf.name, *map(str, cmd)], stdout=out,
                                  stderr=err, env={**os.environ, **(env or {})})
        if proc.returncode != 0:
            tail = err_path.read_text()[-2000:] if err_path else ""
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{tail}")
        wall, kb = tf.read().split()[-2:]
    return {"seconds": round(float(wall), 2), "peak_mb": round(int(kb) / 1024, 1)}
