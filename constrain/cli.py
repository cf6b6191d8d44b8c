"""The `constrain` command line."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from . import cli_generate
from .testing.cli_commands import add_commands as add_testing_commands
from .testing.cli_commands import run as run_testing_command


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the `constrain` command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="constrain", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="constrained sampling from a random model, no download")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("-n", "--samples", type=int, default=3)
    cli_generate.add_commands(commands)
    add_testing_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        run_demo(sys.stdout, seed=args.seed, samples=args.samples)
        return 0
    if args.command in ("generate", "compile"):
        return cli_generate.run(args)
    return run_testing_command(args)


if __name__ == "__main__":
    sys.exit(main())
