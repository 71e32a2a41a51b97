"""Interop over the API: a STIX 2.1 bundle or MISP export of what the caller's agency may pass
on (streamed, signed, audited), its detached signature and the public key to check it; MISP
events imported into a case. The read-only TAXII 2.1 server is `interop.taxii` (under /taxii2/)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/interop", tags=["interop"])


# --- STIX 2.1 -----------------------------------------------------------------------------------


# --- MISP ---------------------------------------------------------------------------------------
