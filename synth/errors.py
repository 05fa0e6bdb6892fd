"""The one error type for bad user input, and the CLI wrapper that turns it into exit code 2."""
from __future__ import annotations

import functools
import logging
import sys
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)


class InputError(Exception):
    """Bad user input: the message is one line naming the file and the problem."""


def cli_errors(func: F) -> F:
    """Wrap a click command so an InputError prints one line and exits with code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            logging.shutdown()
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]
