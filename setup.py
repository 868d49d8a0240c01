"""Build of the one C extension, mpc._native (everything else is in pyproject.toml)."""

from __future__ import annotations

import os
import re
from glob import glob
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "mpc" / "_version.py").read_text()).group(1)  # type: ignore[union-attr]

# -Werror is on by default so warnings fail the build in `make test`; RISKSHARE_CFLAGS adds flags.
cflags = ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fno-strict-aliasing"]
cflags += os.environ.get("RISKSHARE_CFLAGS", "").split()

setup(
    ext_modules=[
        Extension(
            "mpc._native",
            sources=sorted(glob("mpc/_native/*.c")),
            depends=sorted(glob("mpc/_native/*.h")),
            include_dirs=["mpc/_native"],
            libraries=["crypto", "gmp"],
            define_macros=[("RS_NATIVE_VERSION", f'"{VERSION}"')],
            extra_compile_args=cflags,
        )
    ],
)
