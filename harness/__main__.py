"""`python -m xharness ...`: the same command line as the `xharness` script (launchers such as torchrun use this form)."""

from xharness.cli import main

if __name__ == "__main__":
    main(prog_name="xharness")
