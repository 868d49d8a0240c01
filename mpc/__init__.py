"""riskshare's MPC engine: SM2/SM3/SM4, OPRF, OT, Paillier and the protocols built on them.

Public recipes live in the modules named after them (``mpc.sm3``, ``mpc.sm4``, ``mpc.sm2``, ...);
raw primitives live under ``mpc.hazmat``. Only ``mpc._binding`` imports the C extension.
"""

from mpc._version import __version__

__all__ = ["__version__"]
