import sys

from pipeline.cli import main

# Guarded: the sweep's worker processes (multiprocessing's spawn) import the main module again.
if __name__ == "__main__":
    sys.exit(main())
