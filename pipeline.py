"""The `pipeline` command: train, evaluate, compare-real, ablate, predict, export, runs, demo.

Thin orchestration over `synth` and `detector`: each command parses its flags and calls a
library function that tests call too. Heavy imports (torch) happen inside the commands so
that the detections-only paths start fast.
"""
from __future__ import annotations

import logging

import click

from synth.errors import cli_errors


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Train and diagnose YOLOv3 detectors on synthetic floor-object data."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(message)s")


if __name__ == "__main__":
    main()
