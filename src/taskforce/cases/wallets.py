"""Cryptocurrency addresses whose checksums hold: one rule for the whole hub.

A wallet is only worth recording (as a case selector, as an indicator found on a page) if it is
an address someone can actually pay, so every chain's own checksum is verified and strings that
merely look like addresses are refused. Pure: no database, no network, no clock.

Decisions that are not obvious:

* Bitcoin segwit addresses follow BIP 173 (bech32, witness v0) and BIP 350 (bech32m, v1+ such
  as Taproot `bc1p…`) through the `bech32m` package; a validator that only knows bech32 rejects
  every Taproot address.
* A `3…` address is Pay-to-Script-Hash with version byte 0x05 on both Bitcoin and Litecoin: the
  bytes are identical, so nothing in the string tells the chains apart. It is recorded as
  Bitcoin. Litecoin moved its P2SH to `M…` (0x32) in 2017, and since an address is matched by
  its text, not its chain, a Litecoin `3…` still meets the same address held anywhere else.
* Ethereum addresses in mixed case carry an EIP-55 checksum (Keccak-256 of the lower-case hex)
  and must match it. All-lower and all-upper addresses carry no checksum: they are kept (most
  pages and block explorers print them lower-case) and marked `checksummed=False`. Every
  Ethereum address is stored lower-case, as case selectors always have been.
* Monero addresses use Monero's own base58 (8-byte blocks) and a Keccak-256 checksum; standard
  (`4…`, 95 characters), subaddress (`8…`, 95) and integrated (`4…`, 106) mainnet addresses are
  accepted, by their network byte (18, 42, 19).
* bc1 and ltc1 addresses are lower-cased (bech32 is case-insensitive but must not mix case);
  base58 addresses are kept exactly as written (base58 is case-sensitive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import base58
import bech32m
from eth_hash.auto import keccak

__all__ = ["Chain", "Wallet", "WalletError", "check", "looks_like_wallet", "validate"]


class Chain(StrEnum):
    """The chains an address is checked for (the hub's one list; `commerce.kinds` re-exports
    it)."""

    BTC = "btc"
    ETH = "eth"
    LTC = "ltc"
    DOGE = "doge"
    XMR = "xmr"


CHAINS_RULE = (
    "must be a Bitcoin (1..., 3..., bc1...), Litecoin (L..., M..., ltc1...), Dogecoin (D..., "
    "A..., 9...), Ethereum (0x...) or Monero (4..., 8...) address"
)

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_SET = frozenset(_BASE58)
_BASE58_INDEX = {c: i for i, c in enumerate(_BASE58)}

# base58check version byte -> (chain, name for messages); 0x05 is Bitcoin's and Litecoin's P2SH.
_LEGACY_VERSIONS: dict[int, Chain] = {
    0x00: Chain.BTC,
    0x05: Chain.BTC,
    0x30: Chain.LTC,
    0x32: Chain.LTC,
    0x1E: Chain.DOGE,
    0x16: Chain.DOGE,
}
_LEGACY_FIRST: dict[str, Chain] = {
    "1": Chain.BTC,
    "3": Chain.BTC,
    "L": Chain.LTC,
    "M": Chain.LTC,
    "D": Chain.DOGE,
    "A": Chain.DOGE,
    "9": Chain.DOGE,
}
_CHAIN_NAMES = {
    Chain.BTC: "Bitcoin",
    Chain.LTC: "Litecoin",
    Chain.DOGE: "Dogecoin",
    Chain.ETH: "Ethereum",
    Chain.XMR: "Monero",
}
_SEGWIT_HRP = {"bc": Chain.BTC, "ltc": Chain.LTC}

_BECH32_SET = frozenset(bech32m.codecs.CHARSET)
_ETH_RE = re.compile(r"0[xX][0-9a-fA-F]{40}")

# Monero: network byte -> address kind; full 8-byte blocks encode to 11 characters.
_XMR_NETWORK = {18: "standard", 42: "subaddress", 19: "integrated"}
_XMR_LENGTHS = {95: 69, 106: 77}  # characters -> decoded bytes
_XMR_BLOCK_CHARS = (0, 2, 3, 5, 6, 7, 9, 10, 11)  # bytes in a block -> characters


class WalletError(ValueError):
    """The text is not an address on a chain this hub knows; `str(error)` says which rule."""


@dataclass(frozen=True)
class Wallet:
    """An address whose checksum holds, in its normalised form."""

    chain: Chain
    address: str
    checksummed: bool = True  # False only for an all-lower/all-upper Ethereum address


def check(text: str) -> Wallet | None:
    """The wallet `text` is, or None: for extraction, which counts rather than explains."""
    try:
        return validate(text)
    except WalletError:
        return None


def looks_like_wallet(text: str) -> bool:
    """Whether `text` has the shape of an address (prefix, alphabet, length), checksum aside:
    a string that looks like one and fails `check` is counted as rejected, never kept."""
    if _ETH_RE.fullmatch(text):
        return True
    lower = text.lower()
    for hrp in _SEGWIT_HRP:
        if lower.startswith(hrp + "1"):
            data = lower[len(hrp) + 1 :]
            return 14 <= len(text) <= 90 and all(c in _BECH32_SET for c in data)
    if not text or any(c not in _BASE58_SET for c in text):
        return False
    if text[0] == "1":  # version 0x00: leading zero bytes make it shorter
        return 26 <= len(text) <= 34
    if text[0] in _LEGACY_FIRST:  # any other version byte of 21 + 4 bytes: 34 characters
        return len(text) == 34
    return text[0] in "48" and len(text) in _XMR_LENGTHS


def validate(text: str) -> Wallet:
    """The wallet `text` is, or WalletError naming the rule it breaks (for the selector form)."""
    if _ETH_RE.fullmatch(text):
        return _ethereum(text)
    lower = text.lower()
    for hrp, chain in _SEGWIT_HRP.items():
        if lower.startswith(hrp + "1"):
            return _segwit(text, hrp, chain)
    if text and all(c in _BASE58_SET for c in text):
        if text[0] in "48" and len(text) in _XMR_LENGTHS:
            return _monero(text)
        if text[0] in _LEGACY_FIRST and 25 <= len(text) <= 35:
            return _legacy(text)
    raise WalletError(CHAINS_RULE)


def _legacy(text: str) -> Wallet:
    name = _CHAIN_NAMES[_LEGACY_FIRST[text[0]]]
    try:
        payload = base58.b58decode_check(text)
    except ValueError:
        raise WalletError(f"{name} address checksum is wrong") from None
    chain = _LEGACY_VERSIONS.get(payload[0]) if len(payload) == 21 else None
    if chain is None or _CHAIN_NAMES[chain] != name:
        raise WalletError(f"is not a {name} mainnet address (wrong version or length)")
    return Wallet(chain, text)


def _segwit(text: str, hrp: str, chain: Chain) -> Wallet:
    """BIP 173 (bech32, witness v0) and BIP 350 (bech32m, v1+: Taproot)."""
    prefix = hrp + "1"
    if text.lower() != text and text.upper() != text:
        raise WalletError(f"{prefix} address must not mix upper and lower case")
    address = text.lower()
    data = address[len(prefix) :]
    if len(address) > 90 or len(data) < 7 or any(c not in _BECH32_SET for c in data):
        raise WalletError(f"is not a valid {prefix} address")
    try:
        bech32m.codecs.bech32_decode(address)
    except bech32m.DecodeError:
        raise WalletError(f"{prefix} address checksum is wrong") from None
    try:
        bech32m.decode(hrp, address)
    except (bech32m.DecodeError, IndexError):
        raise WalletError(f"is not a valid {prefix} address") from None
    return Wallet(chain, address)


def _ethereum(text: str) -> Wallet:
    """EIP-55: in a mixed-case address, a letter is upper-case exactly where the Keccak-256 of
    the lower-case hex has a nibble of 8 or more."""
    digits = text[2:]
    lower = digits.lower()
    if digits in (lower, digits.upper()):
        return Wallet(Chain.ETH, "0x" + lower, checksummed=False)
    if digits != eip55(lower):
        raise WalletError("Ethereum address checksum (EIP-55 mixed case) is wrong")
    return Wallet(Chain.ETH, "0x" + lower)


def eip55(lower_hex: str) -> str:
    """The EIP-55 mixed-case spelling of 40 lower-case hex digits (without `0x`)."""
    digest = keccak(lower_hex.encode("ascii")).hex()
    return "".join(
        c.upper() if c.isalpha() and int(h, 16) >= 8 else c
        for c, h in zip(lower_hex, digest, strict=False)
    )


def _monero(text: str) -> Wallet:
    try:
        raw = monero_b58decode(text)
    except ValueError:
        raise WalletError("is not a valid Monero address") from None
    if len(raw) != _XMR_LENGTHS[len(text)] or keccak(raw[:-4])[:4] != raw[-4:]:
        raise WalletError("Monero address checksum is wrong")
    kind = _XMR_NETWORK.get(raw[0])
    if kind is None or (kind == "integrated") != (len(text) == 106):
        raise WalletError("is not a Monero mainnet address (wrong network byte)")
    return Wallet(Chain.XMR, text)


def monero_b58decode(text: str) -> bytes:
    """Monero's base58: 11-character blocks of 8 bytes each, the last block shorter."""
    out = bytearray()
    for start in range(0, len(text), 11):
        block = text[start : start + 11]
        size = _XMR_BLOCK_CHARS.index(len(block)) if len(block) in _XMR_BLOCK_CHARS else -1
        if size <= 0:
            raise ValueError("bad block length")
        number = 0
        for c in block:
            number = number * 58 + _BASE58_INDEX[c]
        if number >> (8 * size):
            raise ValueError("block overflow")
        out += number.to_bytes(size, "big")
    return bytes(out)


def monero_b58encode(data: bytes) -> str:
    """The inverse of `monero_b58decode` (tests and the synthetic shops build addresses)."""
    parts = []
    for start in range(0, len(data), 8):
        block = data[start : start + 8]
        number = int.from_bytes(block, "big")
        chars = []
        for _ in range(_XMR_BLOCK_CHARS[len(block)]):
            number, digit = divmod(number, 58)
            chars.append(_BASE58[digit])
        parts.append("".join(reversed(chars)))
    return "".join(parts)


def monero_address(network_byte: int, keys: bytes) -> str:
    """A Monero address from its network byte and its 64 (or 72, integrated) key bytes."""
    body = bytes([network_byte]) + keys
    return monero_b58encode(body + keccak(body)[:4])
