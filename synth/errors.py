"""What both CLIs (`synth`, `pipeline`) share: the one error type for bad user input, the
click group that turns it into exit code 2, and how they log."""
from __future__ import annotations

import logging
import sys

import click


class InputError(Exception):
    """Bad user input: the message is one line naming the file and the problem."""


class CommandGroup(click.Group):
    """The group of both CLIs (`synth`, `pipeline`): an InputError raised by any command
    prints `error: MESSAGE` as one line on stderr and exits with code 2 (no traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            logging.shutdown()
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)


def setup_logging(verbose: bool) -> None:
    """Plain messages on stderr; debug under -v (for both `synth` and `pipeline`)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(message)s")
    for noisy in ("matplotlib", "PIL"):  # their debug output drowns ours under -v
        logging.getLogger(noisy).setLevel(logging.WARNING)
