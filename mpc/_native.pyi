# Type stub of the C extension. Each area keeps its own section; keep signatures in sync with C.
from typing_extensions import Buffer

__version__: str
OPENSSL_VERSION: str
STATUS_VALUE: int
STATUS_TYPE: int
STATUS_SIGNATURE: int
STATUS_TAG: int
STATUS_PROOF: int
STATUS_POINT: int
STATUS_DECRYPT: int
STATUS_OVERFLOW: int
STATUS_PROTOCOL: int
STATUS_INTERNAL: int
STATUS_NOMEM: int

# --- core ---
def set_error_map(m: dict[int, type[BaseException]], /) -> None: ...
def cpu_features() -> dict[str, bool]: ...
def set_portable(on: bool, /) -> None: ...
def ct_equal(a: Buffer, b: Buffer, /) -> bool: ...

# --- sm3 ---
SM3_DIGEST_SIZE: int
SM3_BLOCK_SIZE: int

def sm3(data: Buffer, /) -> bytes: ...
def hmac_sm3(key: Buffer, data: Buffer, /) -> bytes: ...
def sm3_kdf(z: Buffer, length: int, /) -> bytes: ...

class SM3Context:
    digest_size: int
    block_size: int
    name: str
    def __init__(self, data: Buffer | None = ...) -> None: ...
    def update(self, data: Buffer, /) -> None: ...
    def copy(self) -> SM3Context: ...
    def digest(self) -> bytes: ...

# --- sm4 ---
SM4_KEY_SIZE: int
SM4_BLOCK_SIZE: int
SM4_GCM_TAG_SIZE: int

class SM4GCMContext:
    def __init__(self, key: Buffer) -> None: ...
    def encrypt(self, nonce: Buffer, data: Buffer, aad: Buffer | None, /) -> bytes: ...
    def decrypt(self, nonce: Buffer, data: Buffer, aad: Buffer | None, /) -> bytes: ...

def sm4_ecb_encrypt(key: Buffer, data: Buffer, /) -> bytes: ...
def sm4_ecb_decrypt(key: Buffer, data: Buffer, /) -> bytes: ...
def sm4_cbc_encrypt(key: Buffer, iv: Buffer, data: Buffer, /) -> bytes: ...
def sm4_cbc_decrypt(key: Buffer, iv: Buffer, data: Buffer, /) -> bytes: ...
def sm4_ctr(key: Buffer, counter: Buffer, data: Buffer, /) -> bytes: ...
def ghash(h: Buffer, data: Buffer, /) -> bytes: ...

# --- sm2 ---

# --- ec ---

# --- paillier ---

# --- ot ---

# --- sm2core ---

# --- merkle ---
