"""The exceptions of the MPC engine. Programmer errors stay TypeError / ValueError."""

from __future__ import annotations


class RiskshareError(Exception):
    """Base class of every domain error raised by riskshare."""


class InternalError(RiskshareError):
    """A native library (OpenSSL, GMP) failed unexpectedly; carries its error text."""


class InvalidSignature(RiskshareError):
    """A signature did not verify."""


class InvalidTag(RiskshareError):
    """AEAD authentication failed (wrong key, nonce, data or associated data)."""


class InvalidProof(RiskshareError):
    """A zero-knowledge or Merkle proof did not verify."""


class InvalidPoint(RiskshareError, ValueError):
    """An encoded point is malformed, off the curve or the point at infinity."""


class DecryptionError(RiskshareError):
    """A public-key ciphertext (SM2, Paillier) was rejected."""


class InvalidEnvelope(RiskshareError):
    """A digital envelope could not be opened; one error for every cause (no oracle)."""


class PaillierOverflow(RiskshareError, OverflowError):
    """A Paillier plaintext or result left the encodable range."""


class ProtocolAbort(RiskshareError):
    """A protocol peer sent a message that fails a check; the run is over."""


class ProtocolStateError(RiskshareError):
    """A protocol step was called out of order or twice."""


class InvalidRecord(RiskshareError, ValueError):
    """A risk record or one of its fields (subject ID, category, amount, date) is invalid."""


class InvalidIndexOperation(RiskshareError, ValueError):
    """An index operation does not apply: unknown or duplicate entry, wrong tombstone secret,
    unauthorised freeze/unfreeze/remove, or a malformed operation."""


class PaillierKeyMismatch(RiskshareError, ValueError):
    """A Paillier ciphertext or key belongs to a different public key (checked by modulus)."""


class MalformedMessage(ProtocolAbort, ValueError):
    """A protocol message has the wrong framing or length; the run is over."""


class InvalidSubmission(ProtocolAbort, ValueError):
    """A statistics submission or seed share fails a check: malformed or truncated bytes, a bad
    signature, the wrong round, statistic, member or number of ciphertexts."""


class StatisticsRefused(RiskshareError):
    """A statistics step the rules forbid: a second round for one statistic and period, a release
    over a submission list that differs from the ledger's, fewer than k submissions, a cell
    released twice."""
