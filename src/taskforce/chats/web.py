"""The chat pages (`/ui/chats...`): the review queue, a conversation with its tactic timeline
and the messages that raised its risk highlighted, a case's chats with the import form, and
the participants and identifiers an investigator confirms as selectors."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/ui/chats", include_in_schema=False)

# --- the review queue and conversations (views.py, review.py) --------------------------------

# --- import (importing.py) -------------------------------------------------------------------

# --- participants and identifiers (participants.py) ------------------------------------------
