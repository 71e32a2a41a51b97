"""The one finder of contact identifiers in free text (`cases.contacts`): what a chat message
or a page holds, normalised as a selector would be, with hostile text costing linear time."""

from __future__ import annotations

import pytest

from taskforce.cases.contacts import Contact, find
from taskforce.cases.selectors import SelectorKind as K

WALLET = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"  # BIP-173 test vector: checksum holds
BAD_WALLET = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr"  # one character off


def keys(found: list[Contact]) -> list[tuple[str, str]]:
    return [(c.kind.value, c.key) for c in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my snap is lily.rose22", ("snapchat:lily.rose22")),
        ("add me on insta @Lily_Rose", ("instagram:lily_rose")),
        ("discord: fox#1234", ("discord:fox#1234")),
        ("discord username = new.fox", ("discord:new.fox")),
        ("@lily_22 on tiktok, it's quicker", ("tiktok:lily_22")),
        ("kik: lily_22", ("kik:lily_22")),
        ("telegram is where I am: @fox_den", ("telegram:fox_den")),
        ("add me on snap lily_22", ("snapchat:lily_22")),
        # other languages: the verb as the separator, or the platform then the @handle
        ("mein snap ist lily.rose22", ("snapchat:lily.rose22")),
        ("mon snap c'est lily.rose22", ("snapchat:lily.rose22")),
        ("mi insta es lily_rose", ("instagram:lily_rose")),
        ("voeg me toe op insta @lily_rose", ("instagram:lily_rose")),
        ("@lily_rose op snap", ("snapchat:lily_rose")),
        # links that name an account
        ("t.me/lilyrose22", ("telegram:lilyrose22")),
        ("https://www.instagram.com/lily.rose/", ("instagram:lily.rose")),
        ("tiktok.com/@lily", ("tiktok:lily")),
        ("snapchat.com/add/lily-rose", ("snapchat:lily-rose")),
    ],
)
def test_a_handle_is_found_where_its_platform_is_named(text: str, expected: str) -> None:
    assert keys(find(text, "GB")) == [("username", expected)]


@pytest.mark.parametrize(
    "text",
    [
        "my insta is private lol",
        "on snap tonight?",
        "my snap is down again",
        "hey @bob see you",  # no platform named, none given
        "mail me at lily@example.com",  # an e-mail's @ is no handle
        "instagram.com/p/Cx12abc",  # a post, not an account
    ],
)
def test_no_handle_without_a_platform_or_with_an_everyday_word(text: str) -> None:
    assert [c for c in find(text, "GB") if c.kind is K.USERNAME] == []


def test_the_platform_named_nearest_the_handle_wins() -> None:
    found = find("my snap is lily.rose22 and insta @lily_rose", "GB")
    assert keys(found) == [
        ("username", "snapchat:lily.rose22"),
        ("username", "instagram:lily_rose"),
    ]


def test_a_bare_handle_is_an_account_of_the_platform_the_text_was_written_on() -> None:
    [found] = find("ask @Fox_Den, he knows", "GB", platform="telegram")
    assert (found.value, found.platform, found.key) == ("fox_den", "telegram", "telegram:fox_den")
    assert found.raw == "@Fox_Den"


def test_phone_numbers_national_in_the_agency_country_international_anywhere() -> None:
    text = "ring 020 7946 0958 or +31 20 123 4567 after 10:30 on 2024-03-01"
    assert keys(find(text, "GB")) == [("phone", "+442079460958"), ("phone", "+31201234567")]
    # with no country, a national number cannot be read: only the international one is found
    assert keys(find(text, None)) == [("phone", "+31201234567")]
    # a number that is not valid in its country's plan is dropped, not stored wrong
    assert find("call +44 7700 900123", "GB") == []


def test_whatsapp_links_and_signal_links_to_a_number_are_that_number() -> None:
    found = find("wa.me/442079460958 or signal.me/#p/+442079460959", None)
    assert keys(found) == [("phone", "+442079460958"), ("phone", "+442079460959")]


def test_emails_urls_and_wallets_are_normalised_and_checked() -> None:
    text = (
        f"Lily.Rose@Example.COM, see https://Example.com/a/../page?x=1. and example.org/shop "
        f"pay {WALLET} not {BAD_WALLET}"
    )
    found = find(text, "GB")
    assert keys(found) == [
        ("email", "lily.rose@example.com"),
        ("url", "https://example.com/page?x=1"),
        ("url", "http://example.org/shop"),
        ("crypto_wallet", WALLET),
    ]
    email = found[0]
    assert email.raw == text[email.start : email.end] == "Lily.Rose@Example.COM"


def test_a_telegram_invite_is_a_url_and_account_links_are_not_urls_too() -> None:
    found = find("t.me/lilyrose22 and https://t.me/joinchat/AbCdEfGhIjKlMn", None)
    assert keys(found) == [
        ("username", "telegram:lilyrose22"),
        ("url", "https://t.me/joinchat/AbCdEfGhIjKlMn"),
    ]


def test_session_ids_are_usernames_on_session() -> None:
    session_id = "05" + "ab" * 32
    assert keys(find(f"session: {session_id}", None)) == [("username", f"session:{session_id}")]


def test_each_identifier_once_at_its_first_place() -> None:
    found = find("snap @lily_22 ... again snap @LILY_22", None)
    assert keys(found) == [("username", "snapchat:lily_22")]
    assert found[0].start == 5


@pytest.mark.parametrize(
    "hostile",
    [
        "@a" * 500_000,
        "a" * 1_000_000,
        "1 " * 500_000,
        "a.b/" * 250_000,
        "snap is " * 125_000,
        "snap @ab " * 110_000,
        "x@y." * 250_000,
        "http://a" * 125_000,
        "+4" * 500_000,
    ],
)
def test_a_megabyte_of_hostile_text_is_read_and_bounded(hostile: str) -> None:
    """Each pattern is bounded and each kind of candidate capped: the finder comes back (in
    about a tenth of a second per megabyte here) with at most MAX_CONTACTS values."""
    found = find(hostile, "GB")
    assert len(found) <= 1_000
