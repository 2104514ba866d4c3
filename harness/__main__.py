"""`python -m xharness ...` runs the command line (what torchrun and accelerate launch need: `torchrun ... -m xharness eval ...`)."""

from xharness.cli import main

if __name__ == "__main__":
    main()
