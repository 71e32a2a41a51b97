"""Wallet checksums for every chain: published test vectors, addresses built here from random
keys, and bad checksums refused (and still recognised as wallet-shaped, to be counted)."""

from __future__ import annotations

import random

import base58
import bech32m
import pytest

from taskforce.cases import wallets
from taskforce.cases.wallets import Chain, Wallet, check, looks_like_wallet, validate

# BIP 173 / BIP 350 mainnet vectors (the reference implementation's VALID_ADDRESS, bc only).
BIP_VALID = [
    "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
    "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
    "BC1SW50QGDZ25J",
    "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
]
# BIP 350's INVALID_ADDRESS list, with the reason each is there.
BIP_INVALID = [
    "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",  # invalid HRP
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # bech32 for v1
    "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",  # testnet, bech32 for v2
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",  # bech32 for v16
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",  # bech32m for v0
    "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",  # testnet
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",  # bad char in checksum
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",  # witness version 17
    "bc1pw5dgrnzv",  # program of 1 byte
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",  # 41 bytes
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",  # v0 program of 16 bytes
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",  # mixed case
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",  # > 4 padding bits
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",  # non-zero padding
    "bc1gmk9yu",  # empty data
]
# EIP-55's examples (all mixed case, checksummed).
EIP55 = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]
# The Monero project's published donation address (standard, network byte 18).
MONERO_DONATION = (
    "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYB"
    "b98uNbr2VBBEt7f2wfn3RVGQBEP3A"
)


def flip(address: str, at: int) -> str:
    """The address with one character replaced by another of the same alphabet and case."""
    c = address[at]
    swap = {"a": "b", "b": "c", "q": "p", "p": "q", "A": "B", "B": "C", "1": "2", "2": "3"}
    return address[:at] + swap.get(c, "a" if c.islower() else "A") + address[at + 1 :]


@pytest.mark.parametrize("address", BIP_VALID)
def test_bip173_and_bip350_valid_addresses(address: str) -> None:
    assert check(address) == Wallet(Chain.BTC, address.lower())


@pytest.mark.parametrize("address", BIP_INVALID)
def test_bip350_invalid_addresses_are_refused(address: str) -> None:
    assert check(address) is None


def test_taproot_is_accepted_and_lower_cased() -> None:
    taproot = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
    assert validate(taproot.upper()).address == taproot


@pytest.mark.parametrize("address", EIP55)
def test_eip55_examples(address: str) -> None:
    wallet = validate(address)
    assert wallet == Wallet(Chain.ETH, address.lower())
    assert wallets.eip55(address[2:].lower()) == address[2:]


def test_eip55_wrong_case_is_refused() -> None:
    broken = "0x" + EIP55[0][2:].swapcase()
    # swapcase of a mixed-case address is still mixed case, and every letter is now wrong
    assert check(broken) is None
    assert looks_like_wallet(broken)
    with pytest.raises(wallets.WalletError, match="EIP-55"):
        validate(broken)


def test_ethereum_without_checksum_is_kept_and_marked() -> None:
    lower = EIP55[0].lower()
    assert check(lower) == Wallet(Chain.ETH, lower, checksummed=False)
    assert check("0x" + lower[2:].upper()) == Wallet(Chain.ETH, lower, checksummed=False)


def test_monero_published_address() -> None:
    assert check(MONERO_DONATION) == Wallet(Chain.XMR, MONERO_DONATION)


@pytest.mark.parametrize(
    ("network", "key_bytes", "length"), [(18, 64, 95), (42, 64, 95), (19, 72, 106)]
)
def test_monero_built_from_random_keys(network: int, key_bytes: int, length: int) -> None:
    rng = random.Random(network)
    address = wallets.monero_address(network, rng.randbytes(key_bytes))
    assert len(address) == length
    assert address[0] == ("8" if network == 42 else "4")
    assert check(address) == Wallet(Chain.XMR, address)
    assert wallets.monero_b58encode(wallets.monero_b58decode(address)) == address
    broken = flip(address, 50)
    assert check(broken) is None
    assert looks_like_wallet(broken)


def test_monero_wrong_network_byte_is_refused() -> None:
    testnet = wallets.monero_address(53, bytes(64))  # testnet: not a mainnet address
    assert check(testnet) is None


@pytest.mark.parametrize(
    ("version", "chain", "first"),
    [
        (0x00, Chain.BTC, "1"),
        (0x05, Chain.BTC, "3"),  # Bitcoin's P2SH, and Litecoin's legacy one: read as Bitcoin
        (0x30, Chain.LTC, "L"),
        (0x32, Chain.LTC, "M"),
        (0x1E, Chain.DOGE, "D"),
        (0x16, Chain.DOGE, "9A"),
    ],
)
def test_base58check_chains_from_random_hashes(version: int, chain: Chain, first: str) -> None:
    rng = random.Random(version)
    for _ in range(20):
        address = base58.b58encode_check(bytes([version]) + rng.randbytes(20)).decode()
        assert address[0] in first
        assert check(address) == Wallet(chain, address)
        broken = flip(address, 10)
        assert check(broken) is None
        assert looks_like_wallet(broken)


def test_base58check_with_a_foreign_version_is_refused() -> None:
    # Version 0x6F is Bitcoin testnet ('m'/'n'): not a prefix this hub reads.
    testnet = base58.b58encode_check(bytes([0x6F]) + bytes(20)).decode()
    assert check(testnet) is None


def test_litecoin_bech32() -> None:
    address = bech32m.encode("ltc", 0, bytes(range(20)))
    assert check(address.upper()) == Wallet(Chain.LTC, address)
    assert check(address[:-1] + ("q" if address[-1] != "q" else "p")) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "0x" + "ab" * 19,
        "4" + "A" * 93,
        "1" * 60,
        "bc1",
        "0x" + "g" * 40,
        "DocumentationOfTheMembersArea",  # 29 base58 letters starting D: not 34 long
        "Abcdefghijkmnopqrstuvwxyz23456789",  # 33
    ],
)
def test_not_wallets(text: str) -> None:
    assert check(text) is None
    assert not looks_like_wallet(text)


def test_rules_name_the_chains() -> None:
    with pytest.raises(wallets.WalletError) as caught:
        validate("hello")
    for name in ("Bitcoin", "Litecoin", "Dogecoin", "Ethereum", "Monero"):
        assert name in str(caught.value)
