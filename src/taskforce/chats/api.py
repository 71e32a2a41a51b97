"""Chat logs over the API (`/api/v1/chats/...`), mirroring the pages: imports into a case,
conversations with their tagged messages, participants and identifiers to confirm, the
review queue. Another agency's id is answered 404, as if missing."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/chats", tags=["chats"])  # under /api/v1 (app.py)

# --- import (importing.py) -------------------------------------------------------------------

# --- participants and identifiers (participants.py) ------------------------------------------

# --- conversations and the review queue (views.py, review.py) --------------------------------
