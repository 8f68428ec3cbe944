"""Standard vs depthwise-separable MobileNets: train, quantize and analyse them, generate TFLM
firmware for the Arduino Nano 33 BLE Sense, and measure it in QEMU or on the board.

Each subcommand lives in its own `pipeline.commands.<name>` module (add_arguments, run); only the
chosen one is imported, so `tinyml analyze` does not pay for importing TensorFlow."""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys

from pipeline import __version__
from pipeline.errors import PipelineError

# name -> one-line help. The module pipeline.commands.<name> defines add_arguments(parser) and run(args).
COMMANDS = {
    "run": "build, train, quantize and analyse the model zoo; write the report",
    "analyze": "per-layer MACs, params, weights and arena of any int8 .tflite",
    "firmware": "generate the firmware's model sources from a .tflite",
    "emulate": "build the firmware for QEMU's Cortex-M4 and measure instructions and arena",
    "flash": "build and upload the firmware to a Nano 33 BLE Sense",
    "measure": "read benchmark results over serial (board, Renode, QEMU) into the report",
    "sweep": "sweep a design space: prune, train, emulate, and the Pareto front per board",
}


class OneLineParser(argparse.ArgumentParser):
    """argparse's errors as one line (no usage block), like every other error of the tool."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = OneLineParser(prog="tinyml", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--version", action="version", version=f"tinyml {__version__} (Python {sys.version.split()[0]})"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, help_text in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # only the chosen command's module is imported
            module = importlib.import_module(f"pipeline.commands.{name}")
            module.add_arguments(cmd)
            cmd.set_defaults(handler=module.run)
    return parser


WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except PipelineError as exc:
        print(f"tinyml {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tinyml {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head`: stop quietly, as other CLI tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # a write outside write_atomic (a plot, a build tree): still one line
        if exc.errno not in WRITE_ERRORS:
            raise
        where = exc.filename or "a file"
        print(
            f"tinyml {args.command}: error: cannot write {where}: {exc.strerror}: free some space or "
            "check permissions and run again",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
