"""Experiments, torch-free: ablate (training regimes x seeds on one image budget), demo (the
whole loop on the embedded pack) and runlog (runs/index.csv)."""
