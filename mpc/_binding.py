"""The only importer of the C extension ``mpc._native``.

At import it checks that the compiled module matches the package version (a stale build raises
ImportError naming the fix), installs the map from C status codes to exception classes, and
re-exports the size constants read from C so that Python and C cannot drift. Wrappers in the
public modules validate types, call these functions and return bytes.
"""

from __future__ import annotations

from mpc import exceptions as _exc
from mpc._version import __version__

try:
    from mpc import _native as lib
except ImportError as e:  # pragma: no cover - exercised only on a broken install
    raise ImportError(
        f"riskshare's C extension mpc._native is not built or cannot load ({e}); run `make build`"
    ) from e

if getattr(lib, "__version__", None) != __version__:  # pragma: no cover - stale build
    raise ImportError(
        f"riskshare's C extension is stale: built for {getattr(lib, '__version__', '?')}, "
        f"package is {__version__}; run `make build`"
    )

__all__ = [
    "MERKLE_HASH_SIZE",
    "MERKLE_SHA256",
    "MERKLE_SM3",
    "OPENSSL_VERSION",
    "SM2_POINT_COMPRESSED_SIZE",
    "SM2_POINT_SIZE",
    "SM2_SCALAR_SIZE",
    "SM2_UID_MAX",
    "SM3_BLOCK_SIZE",
    "SM3_DIGEST_SIZE",
    "SM4_BLOCK_SIZE",
    "SM4_GCM_TAG_SIZE",
    "SM4_KEY_SIZE",
    "SM2Curve",
    "SM2Key",
    "cpu_features",
    "ct_equal",
    "lib",
    "set_portable",
]

lib.set_error_map(
    {
        lib.STATUS_VALUE: ValueError,
        lib.STATUS_TYPE: TypeError,
        lib.STATUS_SIGNATURE: _exc.InvalidSignature,
        lib.STATUS_TAG: _exc.InvalidTag,
        lib.STATUS_PROOF: _exc.InvalidProof,
        lib.STATUS_POINT: _exc.InvalidPoint,
        lib.STATUS_DECRYPT: _exc.DecryptionError,
        lib.STATUS_OVERFLOW: _exc.PaillierOverflow,
        lib.STATUS_PROTOCOL: _exc.ProtocolAbort,
        lib.STATUS_INTERNAL: _exc.InternalError,
    }
)

OPENSSL_VERSION: str = lib.OPENSSL_VERSION
SM3_DIGEST_SIZE: int = lib.SM3_DIGEST_SIZE
SM3_BLOCK_SIZE: int = lib.SM3_BLOCK_SIZE
SM4_KEY_SIZE: int = lib.SM4_KEY_SIZE
SM4_BLOCK_SIZE: int = lib.SM4_BLOCK_SIZE
SM4_GCM_TAG_SIZE: int = lib.SM4_GCM_TAG_SIZE
# merkle
MERKLE_HASH_SIZE: int = lib.MERKLE_HASH_SIZE
MERKLE_SM3: int = lib.MERKLE_SM3
MERKLE_SHA256: int = lib.MERKLE_SHA256

# --- sm2 ---
from mpc._native import SM2Curve, SM2Key  # noqa: E402  (opaque handle types for mpc.sm2)

SM2_SCALAR_SIZE: int = lib.SM2_SCALAR_SIZE
SM2_POINT_SIZE: int = lib.SM2_POINT_SIZE
SM2_POINT_COMPRESSED_SIZE: int = lib.SM2_POINT_COMPRESSED_SIZE
SM2_UID_MAX: int = lib.SM2_UID_MAX


def cpu_features() -> dict[str, bool]:
    """The CPU features the native dispatch uses now (all False under ``set_portable(True)``)."""
    return lib.cpu_features()


def set_portable(on: bool) -> None:
    """Force the portable C paths (tests run both) or go back to the detected CPU features."""
    lib.set_portable(on)


def ct_equal(a: bytes, b: bytes) -> bool:
    """Constant-time equality of two byte strings (length is not secret)."""
    return lib.ct_equal(a, b)
