"""Traffic Light Protocol 2.0 in STIX 2.1: the five marking definitions exactly as OASIS
publishes them (cti-stix-common-objects, extension-definition-specifications/tlp-2.0/), copied
here as constants, never fetched at run time. Their ids are the official ones: a definition
with the same id must be identical everywhere (the reason `stix2` PRs #571 and #615 were
refused), so these objects are written out verbatim and never rebuilt.

The hub's sharing levels map onto them: GREEN → TLP:GREEN (the only level that leaves the
hub); AMBER → TLP:AMBER+STRICT and RED → TLP:RED, which are never exported.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Final

from taskforce.core.sharing import SharingLevel

TLP_EXTENSION: Final = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
_CREATED: Final = "2022-10-01T00:00:00.000Z"

_IDS: Final = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


def _definition(level: str) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": _IDS[level],
        "created": _CREATED,
        "name": f"TLP:{level.upper()}",
        "extensions": {
            TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level},
        },
    }


# level ("clear", "green", "amber", "amber+strict", "red") → its marking definition
DEFINITIONS: Final = MappingProxyType({level: _definition(level) for level in _IDS})

TLP_CLEAR: Final = _IDS["clear"]
TLP_GREEN: Final = _IDS["green"]
TLP_AMBER: Final = _IDS["amber"]
TLP_AMBER_STRICT: Final = _IDS["amber+strict"]
TLP_RED: Final = _IDS["red"]

# the hub's sharing level → its TLP 2.0 level (MISP's `tlp:` tag uses the same words)
TLP_OF_SHARING: Final = MappingProxyType(
    {SharingLevel.GREEN: "green", SharingLevel.AMBER: "amber+strict", SharingLevel.RED: "red"}
)
# the levels an export may carry: only GREEN leaves the hub
EXPORTABLE: Final = frozenset({SharingLevel.GREEN})


def definitions() -> list[dict[str, Any]]:
    """All five definitions, fresh copies, in the order CLEAR, GREEN, AMBER, AMBER+STRICT, RED:
    what every bundle embeds, so a reader resolves any TLP 2.0 reference offline."""
    return [
        {**d, "extensions": {TLP_EXTENSION: dict(d["extensions"][TLP_EXTENSION])}}
        for d in DEFINITIONS.values()
    ]
