"""Test-suite settings: hermetic runs, no persistent compilation cache unless asked for."""

import os

os.environ.setdefault("JAXRL_COMPILE_CACHE", "0")
