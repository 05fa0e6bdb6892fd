"""The `synth` command: generate, assets, preview, stats, split."""
from __future__ import annotations

import logging

import click

from .errors import cli_errors


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Make viewpoint-correct synthetic floor-object datasets in PASCAL VOC format."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(message)s")
