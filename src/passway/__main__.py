"""``python -m passway``: the same command line as ``passway``."""

from passway.cli import main

if __name__ == "__main__":
    main(prog_name="passway")
