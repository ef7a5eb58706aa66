"""Validate the stochastic simulator (tianshan.sim.stochastic) against BSSA14.

Prints, as markdown on stdout, median RotD50 PGA and PGV of seeded simulations
for M 4-7 and Rjb 10-200 km beside the BSSA14 median (OpenQuake hazardlib),
the ln ratio, the BSSA14 total sigma and whether |ln ratio| <= sigma.
See tianshan.sim.gmpe_validation for the geometry and the choices.

    .venv/bin/python benchmarks/validate_sim_gmpe.py [--n 50] [--seed 2003] [--source brune]
"""

from __future__ import annotations

import argparse
import sys
import time

from tianshan.sim import stochastic
from tianshan.sim.gmpe_validation import to_markdown, validation_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="realisations per cell")
    parser.add_argument("--seed", type=int, default=2003)
    parser.add_argument("--source", choices=("default", "brune"), default="default",
                        help="default: Atkinson & Silva (2000) two-corner; brune: BRUNE_100BAR")
    args = parser.parse_args(argv)
    params = stochastic.DEFAULT if args.source == "default" else stochastic.BRUNE_100BAR
    t0 = time.perf_counter()
    rows = validation_table(n_realisations=args.n, seed=args.seed, params=params)
    elapsed = time.perf_counter() - t0
    n_pass = sum(r.passed for r in rows)
    worst = max(rows, key=lambda r: abs(r.ln_ratio) / r.sigma)
    print(f"## Stochastic simulation vs BSSA14 (source: {params.source.value}, "
          f"{args.n} realisations per cell, seed {args.seed})\n")
    print(to_markdown(rows))
    print(f"{n_pass}/{len(rows)} cells within one BSSA14 sigma; worst |ln ratio|/sigma = "
          f"{abs(worst.ln_ratio) / worst.sigma:.2f} ({worst.imt}, M{worst.mw:.0f}, "
          f"{worst.rjb_km:.0f} km); {elapsed:.1f} s")
    return 0 if n_pass == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
