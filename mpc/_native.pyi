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
OT_SESSION_ID_SIZE: int
OT_KEY_SIZE: int
OT_POINT_SIZE: int
OT_TAG_SIZE: int
OT_MAX_SLOTS: int
OT_MAX_SLOT_SIZE: int
OT_MAX_BATCH: int

def ot_np_sender_setup() -> tuple[bytes, bytes]: ...
def ot_np_sender_keys(sid: Buffer, secret: Buffer, pk0s: Buffer, offset: int, /) -> bytes: ...
def ot_np_receiver_choose(
    sid: Buffer, public: Buffer, choices: Buffer, offset: int, /
) -> tuple[bytes, bytes]: ...
def ot_pair_encrypt(sid: Buffer, keys: Buffer, m0s: Buffer, m1s: Buffer, offset: int, /) -> bytes: ...
def ot_pair_decrypt(sid: Buffer, keys: Buffer, choices: Buffer, cts: Buffer, offset: int, /) -> bytes: ...
def ot_nofn_encrypt(sid: Buffer, keys: Buffer, slots: Buffer, slot_size: int, /) -> bytes: ...
def ot_nofn_decrypt(sid: Buffer, keys: Buffer, index: int, record: Buffer, /) -> bytes: ...

OT_CIPHER_AES: int
OT_CIPHER_SM4: int
OT_KKRT_WIDTH: int

def ot_transpose(data: Buffer, nrows: int, ncols: int, path: int = ..., /) -> bytes: ...
def ot_ext_recv(
    cipher: int, k0s: Buffer, k1s: Buffer, block_offset: int, corr: Buffer, m: int, /
) -> tuple[bytes, bytes]: ...
def ot_ext_send(cipher: int, keys: Buffer, s: Buffer, block_offset: int, u: Buffer, /) -> bytes: ...
def ot_iknp_recv(
    cipher: int,
    k0s: Buffer,
    k1s: Buffer,
    block_offset: int,
    choice_bits: Buffer,
    hash_key: Buffer,
    index_offset: int,
    m_out: int,
    keep_t: bool,
    /,
) -> tuple[bytes, bytes, bytes]: ...
def ot_iknp_send(
    cipher: int,
    keys: Buffer,
    s: Buffer,
    block_offset: int,
    u: Buffer,
    hash_key: Buffer,
    index_offset: int,
    m_out: int,
    keep_q: bool,
    /,
) -> tuple[bytes, bytes, bytes]: ...
def ot_tccr(cipher: int, key: Buffer, rows: Buffer, offset: int, delta: Buffer, /) -> bytes: ...
def ot_kos_combine(cipher: int, seed: Buffer, rows: Buffer, bits: Buffer, /) -> tuple[bytes, bytes]: ...
def ot_clmul128(a: Buffer, b: Buffer, /) -> bytes: ...
def ot_kkrt_code(cipher: int, keys: Buffer, items: Buffer, tag: int, /) -> bytes: ...
def ot_kkrt_bins(cipher: int, hkey: Buffer, items: Buffer, nbins: int, /) -> bytes: ...
def ot_kkrt_eval(
    cipher: int,
    keys: Buffer,
    hkey: Buffer,
    nbins: int,
    nstash: int,
    qrows: Buffer,
    s: Buffer,
    items: Buffer,
    outlen: int,
    /,
) -> bytes: ...
def ot_kkrt_hash_rows(rows: Buffer, outlen: int, /) -> bytes: ...
def ot_unique16(items: Buffer, /) -> bytes: ...
def ot_match(table: Buffer, queries: Buffer, length: int, /) -> bytes: ...
def ot_cuckoo(
    cipher: int, hkey: Buffer, items: Buffer, nbins: int, max_stash: int, seed: int, /
) -> tuple[bytes, bytes, bytes]: ...

# --- sm2core ---

# --- merkle ---
