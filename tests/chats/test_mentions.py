"""Which identifiers of a chat could become selectors (`chats.mentions`): an author's own
account where it is one, and what the messages say."""

from __future__ import annotations

from taskforce.cases.selectors import SelectorKind as K
from taskforce.chats.kinds import Author
from taskforce.chats.mentions import Candidate, in_text, of_author


def test_a_whatsapp_author_that_is_a_number_is_a_phone_read_in_the_agency_country() -> None:
    assert of_author(Author("020 7946 0958", "whatsapp"), "GB") == [
        Candidate(K.PHONE, "+442079460958", None, "+442079460958", "author")
    ]
    assert of_author(Author("+44 20 7946 0958", "whatsapp", "Sam"), None)[0].key == (
        "+442079460958"
    )


def test_a_whatsapp_contact_name_is_no_account() -> None:
    assert of_author(Author("Coach Dave", "whatsapp"), "GB") == []
    assert of_author(Author("Mum", "whatsapp"), "GB") == []


def test_a_telegram_author_is_its_account_id_on_telegram() -> None:
    [found] = of_author(Author("user123456789", "telegram", "Fox"), "GB")
    assert (found.kind, found.key, found.origin) == (
        K.USERNAME,
        "telegram:user123456789",
        "author",
    )


def test_pseudonymous_ids_are_not_proposed_unless_a_platform_is_known() -> None:
    assert of_author(Author("0a1b2c3d4e5f", "pan12"), "GB") == []
    assert of_author(Author("lily", "csv"), "GB") == []
    assert of_author(Author("lily", "plain"), "GB") == []
    # the import named the platform (a CSV's platform column, --platform kik)
    assert of_author(Author("Lily.Rose", "kik"), "GB")[0].key == "kik:lily.rose"
    assert of_author(Author("Lily@Example.com", "email"), "GB")[0].key == "lily@example.com"


def test_in_text_reads_bare_handles_only_where_the_platform_uses_them() -> None:
    text = "ask @fox_den or add me on snap bob_22"
    on_telegram = in_text(text, "GB", platform="telegram")
    assert [c.key for c in on_telegram] == ["telegram:fox_den", "snapchat:bob_22"]
    assert {c.origin for c in on_telegram} == {"text"}
    # on WhatsApp an @mention is an address-book name: only the named platform's handle
    assert [c.key for c in in_text(text, "GB", platform="whatsapp")] == ["snapchat:bob_22"]
    assert [c.key for c in in_text(text, "GB")] == ["snapchat:bob_22"]
