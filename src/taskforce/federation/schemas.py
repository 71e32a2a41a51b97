"""What nodes send each other (`/federation/v1/*`) and what the admin pages and API read."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from taskforce.cases import wallets
from taskforce.cases.selectors import SelectorKind
from taskforce.core.errors import Invalid
from taskforce.core.sharing import SharingLevel
from taskforce.federation import blinding, pdq
from taskforce.federation.blinding import KeyFamily


class Hello(BaseModel):
    """`GET /federation/v1/hello`: who answers, and whom it recognised."""

    node_id: uuid.UUID
    name: str
    country: str
    time: datetime
    peer: uuid.UUID  # the caller, as this node knows it


class DirectoryAgency(BaseModel):
    """An agency as every member already sees it: its 24/7 contact point and partners."""

    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=2, max_length=2)
    kind: str = Field(max_length=24)
    timezone: str = Field(max_length=64)
    contact_desk: str = Field(max_length=200)
    contact_phone: str = Field(max_length=32)
    contact_email: str = Field(max_length=320)
    partners: list[str] = Field(default_factory=list, max_length=1000)


class Directory(BaseModel):
    """`GET /federation/v1/directory`: this node's active agencies."""

    node_id: uuid.UUID
    agencies: list[DirectoryAgency] = Field(max_length=10_000)


class PeerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    country: str
    url: str
    fingerprint: str
    state: str
    created_at: datetime
    removed_at: datetime | None
    last_contact_at: datetime | None
    last_error: str | None
    directory_synced_at: datetime | None
    key_holder: bool
    # the status of the sync of its feed (written by the sync; empty: never synced)
    synced_at: datetime | None
    feed_seq: int
    feed_head: int
    sync_error: str | None
    sync_failures: int
    next_sync_at: datetime | None


class ProfileUpdate(BaseModel):
    """What may cross to a peer, replaced whole. Empty lists: nothing crosses."""

    model_config = ConfigDict(extra="forbid")

    kinds: list[str] = Field(default_factory=list, max_length=50)
    """Selector types (`email`, `phone`, ...) or `all`."""
    levels: list[str] = Field(default_factory=list, max_length=3)
    """Sharing levels: `red`, `amber`, `green`."""
    green_plaintext: bool = False
    release_required: bool = True


class ProfileRead(BaseModel):
    """A peer's profile and what it means in words (`set` false: no profile, nothing
    crosses)."""

    peer_id: uuid.UUID
    set: bool
    kinds: list[str]
    levels: list[str]
    green_plaintext: bool
    release_required: bool
    updated_at: datetime | None
    updated_by: str | None
    description: list[str]


class OprfEvaluate(BaseModel):
    """A batch of blinded selectors for the key holder: base64 of 32-byte ristretto255
    elements (RFC 9497 BlindedElement), nothing of the values themselves."""

    epoch: int = Field(ge=1, le=999_999)
    blinded: list[str] = Field(min_length=1, max_length=blinding.MAX_BATCH)
    key: KeyFamily = KeyFamily.EXACT
    """which of the epoch's keys: `exact` (selectors) or `pdq-chunk` (chunks of PDQ hashes,
    with a budget of their own)."""


class OprfEvaluated(BaseModel):
    epoch: int
    key: KeyFamily = KeyFamily.EXACT
    evaluated: list[str]
    """base64 of the evaluated elements, in the order of `blinded`."""
    proof: str
    """base64 of the batch's DLEQ proof (c, s), 64 bytes."""


class OprfKey(BaseModel):
    epoch: int
    public_key: str
    """base64 of the epoch's 32-byte ristretto255 public key."""
    current: bool
    pdq_chunk_public_key: str | None = None
    """base64 of the epoch's PDQ-chunk key; none for an epoch made before that key existed."""


def encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def decode_elements(items: list[str]) -> list[bytes]:
    """The blinded elements of a request, or `Invalid` naming the first bad one."""
    decoded: list[bytes] = []
    for index, item in enumerate(items):
        try:
            raw = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != blinding.ELEMENT_BYTES:
            raise Invalid(f"blinded[{index}]", "base64 of a 32-byte ristretto255 element")
        decoded.append(raw)
    return decoded


class FeedUpsert(BaseModel):
    """A feed entry that adds or changes one selector the origin publishes to this node."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["upsert"]
    ref: str = Field(min_length=1, max_length=36)
    kind: SelectorKind
    form: Literal["token", "plaintext", "pdq-chunks"]
    epoch: int | None = Field(default=None, ge=1, le=999_999)
    value: str = Field(min_length=1, max_length=2200)
    level: SharingLevel
    agency_id: uuid.UUID
    details: dict[str, str] = Field(default_factory=dict, max_length=20)

    @model_validator(mode="after")
    def _pdq_as_chunks(self) -> FeedUpsert:
        """A PDQ hash crosses as chunk tokens (or GREEN plaintext), nothing else does."""
        chunked = self.form == pdq.FORM
        if chunked != (self.kind == SelectorKind.PDQ and self.form != "plaintext"):
            raise ValueError("form: pdq-chunks is the form of PDQ selectors, and theirs only")
        if chunked and (self.epoch is None or pdq.decode_tokens(self.value) is None):
            raise ValueError(f"value: {pdq.CHUNKS} base64 chunk tokens and their epoch")
        return self


class FeedWithdraw(BaseModel):
    """A tombstone: the selector under `ref` is no longer published to this node."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["withdraw"]
    ref: str = Field(min_length=1, max_length=36)


class FeedWatch(BaseModel):
    """A feed entry that adds or changes one wallet of the origin's GREEN watch list (its
    withdrawal is a `FeedWithdraw` of the same ref). The address must be one whose checksum
    holds on the chain named; it is kept as this node normalises it."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["watch"]
    ref: str = Field(min_length=1, max_length=36)
    chain: wallets.Chain
    address: str = Field(min_length=1, max_length=128)
    reason: str = Field(max_length=500)
    agency_id: uuid.UUID  # an agency of the origin's directory
    agency: str = Field(min_length=1, max_length=32)  # its code, as the list shows it

    @model_validator(mode="after")
    def _a_wallet(self) -> FeedWatch:
        wallet = wallets.check(self.address)
        if wallet is None or wallet.chain != self.chain:
            raise ValueError(f"address: not a {self.chain.value} wallet whose checksum holds")
        return self


FeedBody = Annotated[FeedUpsert | FeedWithdraw | FeedWatch, Field(discriminator="op")]
FEED_BODY: TypeAdapter[FeedUpsert | FeedWithdraw | FeedWatch] = TypeAdapter(FeedBody)


class FeedEntryIn(BaseModel):
    seq: int
    body: str = Field(max_length=10_000)
    prev_hash: str = Field(min_length=64, max_length=64)
    hash: str = Field(min_length=64, max_length=64)


class FeedPage(BaseModel):
    """`GET /federation/v1/feed`: a signed page of the feed the origin publishes to the
    recipient."""

    origin: uuid.UUID
    recipient: uuid.UUID
    after_seq: int
    entries: list[FeedEntryIn] = Field(max_length=5_000)
    head: int
    next: int | None
    signature: str = Field(max_length=200)


class PdqConfirm(BaseModel):
    """A peer asks the owner of a PDQ entry whether its candidate hash is a hit: the ref the
    owner published to it, and the asking node's own hash (a disclosure to the owner)."""

    model_config = ConfigDict(extra="forbid")

    ref: str = Field(min_length=1, max_length=36)
    candidate: str = Field(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")


class PdqConfirmed(BaseModel):
    """hit, and the distance on a hit only: a no-hit says nothing more."""

    hit: bool
    distance: int | None = None


# --- cross-node hits and release requests -----------------------------------------------------


class ContactRead(BaseModel):
    """The other agency's 24/7 contact point, from the peer's directory."""

    desk: str
    phone: str
    email: str
    timezone: str


class ReleaseRead(BaseModel):
    """A release request as the caller may see it: the released details only to the person who
    asked (on the requesting node) and to the owning agency (on the owner's)."""

    id: uuid.UUID
    direction: str  # outgoing | incoming
    state: str  # pending | approved | refused
    node: str
    ref: str
    created_at: datetime
    requester: str
    reason: str
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    details: dict[str, str] | None  # None: nothing released, or not to the caller
    released_to_caller: bool
    delivered_at: datetime | None
    delivery_error: str | None
    case_id: uuid.UUID | None = None  # incoming: the owning case (its agency decides)
    case_reference: str | None = None


class RemoteHitRead(BaseModel):
    """A cross-node hit: this node's side in full, the other side as the peer's entry allows."""

    id: uuid.UUID
    type: str
    created_at: datetime
    case_id: uuid.UUID
    case_reference: str
    case_title: str
    selector_value: str
    node: str
    node_country: str
    statement: str  # "An agency on node X holds a matching e-mail selector."
    disclosure: str  # blind | details (released up front by the peer's profile)
    agency_name: str | None
    contact: ContactRead
    details: dict[str, Any] | None
    level: str | None
    acknowledged_at: datetime | None
    withdrawn_at: datetime | None
    releases: list[ReleaseRead]


class ReleaseAskCreate(BaseModel):
    """An investigator's request to release a cross-node hit's details."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=3,
        max_length=2000,
        description="why the details are needed (at least 3 characters)",
    )


class ReleaseDecide(BaseModel):
    """The owning agency's decision on a release request: with a reason, either way."""

    model_config = ConfigDict(extra="forbid")

    approve: bool
    reason: str = Field(
        min_length=3, max_length=2000, description="why (at least 3 characters), either way"
    )


class ReleaseAsk(BaseModel):
    """`POST /federation/v1/releases`: a peer's investigator asks for a hit's details. The id
    is the idempotency key on both nodes."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    ref: str = Field(min_length=1, max_length=36)
    kind: str = Field(min_length=1, max_length=24)
    requester: str = Field(min_length=1, max_length=320)
    requester_agency_id: uuid.UUID
    reason: str = Field(min_length=3, max_length=2000)


class ReleasedDetails(BaseModel):
    """What an approved release discloses, and nothing else."""

    model_config = ConfigDict(extra="forbid")

    case_reference: str = Field(max_length=64)
    case_title: str = Field(max_length=200)
    agency: str = Field(max_length=32)
    agency_name: str = Field(max_length=200)
    investigator: str = Field(max_length=200)
    email: str = Field(max_length=320)
    phone: str = Field(max_length=32)


class ReleaseAnswer(BaseModel):
    """`POST /federation/v1/releases/{id}/decision`: the owner's decision, sent back."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["approved", "refused"]
    reason: str = Field(min_length=3, max_length=2000)
    decided_by: str = Field(min_length=1, max_length=320)
    decided_at: datetime
    details: ReleasedDetails | None = None


class Received(BaseModel):
    """The answer to a delivery: stored (or already held: the same id is never stored twice)."""

    id: uuid.UUID
    state: str
