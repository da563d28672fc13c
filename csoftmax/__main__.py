"""Command line: ``python -m csoftmax info``."""
import argparse
import sys

from . import show_config


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csoftmax",
                                     description="csoftmax command-line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print the version, kernel in use and threads")
    args = parser.parse_args(argv)
    if args.command == "info":
        show_config()
    return 0


if __name__ == "__main__":
    sys.exit(main())
