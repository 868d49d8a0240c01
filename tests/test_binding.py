from __future__ import annotations

from mpc import __version__, _binding


def test_native_version_matches_package() -> None:
    assert _binding.lib.__version__ == __version__


def test_portable_switch_round_trips() -> None:
    detected = _binding.cpu_features()
    _binding.set_portable(True)
    assert not any(_binding.cpu_features().values())
    _binding.set_portable(False)
    assert _binding.cpu_features() == detected


def test_ct_equal() -> None:
    assert _binding.ct_equal(b"abc", b"abc")
    assert not _binding.ct_equal(b"abc", b"abd")
    assert not _binding.ct_equal(b"abc", b"ab")


def test_sizes_come_from_c() -> None:
    assert (_binding.SM3_DIGEST_SIZE, _binding.SM4_KEY_SIZE, _binding.SM4_GCM_TAG_SIZE) == (32, 16, 16)
