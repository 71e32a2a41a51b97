"""The demo's chat logs: three synthetic exports, as an investigator receives them from a
seized phone and a platform, imported into one of GB-NCA's open cases through the importer
(`chats.importing.import_file`): a WhatsApp chat (Android, day-first dates, a photo named but
not held) in which an adult probes a child's age, asks for secrecy, moves to another app,
offers a gift and proposes to meet — flagged for review — a Telegram family group and a CSV
of a football club's and a homework group's chats, all ordinary.

All of it is fictional and benign: plain, non-sexual wording, invented names, numbers of the
+44 20 7946 0xxx drama range. Nothing is reviewed: the queue waits for the analyst.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.chats import importing
from taskforce.chats.models import ChatConversation
from taskforce.chats.reading import ReadOptions
from taskforce.core.caller import Caller
from taskforce.core.settings import Settings

ROBIN = "+44 20 7946 0718"  # the adult (fictional drama-range number)
SKY = "Sky"  # the child, saved by name in the seized phone

# (minutes after the start, author, text) — the flagged conversation, in plain words
GROOMING = [
    (0, ROBIN, "hey, saw your drawing on the art app, it's really good"),
    (3, SKY, "thank you!!"),
    (5, ROBIN, "how old are you? you draw like a pro"),
    (7, SKY, "12, I'm in year 7"),
    (9, ROBIN, "wow you seem very mature for your age, not like the others"),
    (60, SKY, "haha thanks"),
    (62, ROBIN, "you're special, I feel like only I really understand you"),
    (64, ROBIN, "are your parents around? are you alone right now?"),
    (66, SKY, "mum is at work"),
    (68, ROBIN, "don't tell your parents we talk, they wouldn't get it. it's our secret ok?"),
    (70, SKY, "ok"),
    (72, ROBIN, "add me on the other app, it's more private there. delete these messages"),
    (74, ROBIN, "IMG-20260301-WA0007.jpg (file attached)"),
    (1440, ROBIN, "I can buy you a gift card for your game, what do you want?"),
    (1442, SKY, "really? the 20 one"),
    (1444, ROBIN, "send me a picture of you first, just you"),
    (1446, ROBIN, "do you trust me? prove it"),
    (1450, ROBIN, "we should meet at the park on saturday, I can pick you up"),
]
FAMILY = [
    (0, "user2001", "Mum", "Dinner at 7, who's in?"),
    (2, "user2002", "Dad", "me, I'll bring bread"),
    (5, "user2003", "Jamie", "can I bring Alex from school?"),
    (6, "user2001", "Mum", "of course, tell his parents we'll drive him back"),
    (30, "user2003", "Jamie", "he says thanks!"),
]
CLUB = [
    (0, "football-club", "coach.dee", "Dee", "Training moved to 6pm on Thursday"),
    (1, "football-club", "parent.kim", "Kim", "Thanks, we'll be there"),
    (3, "football-club", "parent.lou", "Lou", "Can someone give Max a lift?"),
    (4, "football-club", "parent.kim", "Kim", "Yes, we pass by your street"),
    (0, "homework", "sam.t", "Sam", "did anyone get question 4?"),
    (2, "homework", "ria.p", "Ria", "it's 42, you divide by the area first"),
    (3, "homework", "sam.t", "Sam", "ahh thanks, see you tomorrow"),
]


@dataclass
class ChatsSummary:
    case_reference: str
    case_id: str
    imports: int
    conversations: int
    messages: int
    flagged: int
    flagged_id: str | None  # the flagged conversation: its page


def whatsapp_export(start: datetime) -> str:
    lines = [
        f"{start:%d/%m/%Y, %H:%M} - Messages and calls are end-to-end encrypted. No one "
        "outside of this chat can read them."
    ]
    for minutes, author, text in GROOMING:
        at = start + timedelta(minutes=minutes)
        lines.append(f"{at:%d/%m/%Y, %H:%M} - {author}: {text}")
    return "\n".join(lines) + "\n"


def telegram_export(start: datetime) -> str:
    messages = [
        {
            "id": n + 1,
            "type": "message",
            "date": (start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S"),
            "from": name,
            "from_id": handle,
            "text": text,
        }
        for n, (minutes, handle, name, text) in enumerate(FAMILY)
    ]
    chat = {"name": "Family", "type": "private_group", "id": 4417, "messages": messages}
    return json.dumps(chat, ensure_ascii=False, indent=1)


def csv_export(start: datetime) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("time", "conversation", "platform", "author", "name", "text"))
    for minutes, conversation, author, name, text in CLUB:
        at = start + timedelta(minutes=minutes)
        writer.writerow((f"{at:%Y-%m-%d %H:%M:%S}", conversation, "discord", author, name, text))
    return out.getvalue()


def build(
    session: Session, settings: Settings, caller: Caller, case: Case, now: datetime
) -> ChatsSummary:
    """Import the three exports into `case` as `caller` (GB-NCA's investigator)."""
    start = (now - timedelta(days=9)).replace(hour=16, minute=5, second=0, microsecond=0)
    exports = {
        "WhatsApp Chat with +44 20 7946 0718.txt": whatsapp_export(start),
        "telegram-family.json": telegram_export(start + timedelta(days=1)),
        "club-and-homework.csv": csv_export(start + timedelta(days=2)),
    }
    tz = settings.chats_timezone
    imports = 0
    with tempfile.TemporaryDirectory(prefix="taskforce-demo-chats-") as folder:
        for name, text in exports.items():
            path = Path(folder) / name
            path.write_text(text, encoding="utf-8")
            importing.import_file(
                session,
                caller,
                settings,
                case_id=case.id,
                path=path,
                display=name,
                options=ReadOptions(timezone=tz),
                now=now,
            )
            imports += 1
    session.flush()
    chats = list(
        session.scalars(select(ChatConversation).where(ChatConversation.case_id == case.id))
    )
    threshold = settings.chats_review_threshold
    flagged = [c for c in chats if c.is_flagged(threshold)]
    flagged.sort(key=lambda c: -(c.risk or 0))
    return ChatsSummary(
        case_reference=case.reference,
        case_id=str(case.id),
        imports=imports,
        conversations=len(chats),
        messages=sum(c.message_count for c in chats),
        flagged=len(flagged),
        flagged_id=str(flagged[0].id) if flagged else None,
    )
