"""The SYNTHETIC corpus shipped with the tagger: conversations written for the tests from
templates, in several languages — ordinary chats between children and between adults, hard
negatives (a parent asking about a sibling's age, a birthday present between friends, classmates
meeting at the library) and conversations that show the grooming tactics in plain, non-sexual
wording. It contains no sexual content and no real person.

It proves that the pipeline works (reading, tagging, scoring, explaining, evaluating), NOT that
the model works on real chats: templates are far more regular than people. An agency measures
the tagger on its own labelled data with `taskforce chats evaluate`.

`build()` writes it deterministically (a fixed seed, no clock): `corpus/messages.csv`
(`conversation,time,author,text,tactics`, tactics pipe-separated) and `corpus/labels.csv`
(`conversation,label`). `load()` reads it back.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from taskforce.chats.tactics import Tactic

CORPUS_DIR = Path(__file__).with_name("corpus")
MESSAGES = "messages.csv"
LABELS = "labels.csv"
SEED = 19
START = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)

T = Tactic
# the usual order of the tactics in the synthetic grooming conversations (the real ones do not
# keep to it; the templates vary it: some tactics skipped, compliance tests anywhere)
ORDER = (
    T.AGE_PROBING,
    T.FLATTERY,
    T.GIFTS,
    T.SECRECY,
    T.ISOLATION,
    T.PLATFORM_MOVE,
    T.IMAGE_REQUEST,
    T.MEETING,
)


@dataclass(frozen=True)
class Bank:
    """One language's phrases. `{name}`, `{app}`, `{game}`, `{place}`, `{day}` are filled in."""

    kids: tuple[str, ...]  # children chatting: school, games, sport
    adults: tuple[str, ...]  # adults chatting: work, plans, family
    replies: tuple[str, ...]  # short answers anyone gives
    hard: tuple[str, ...]  # benign lines that look like a tactic (labelled benign)
    openers: tuple[str, ...]  # a stranger's friendly start in a game chat
    tactics: dict[Tactic, tuple[str, ...]]
    family: tuple[str, ...] = ()  # a parent and a child (adults' lines when empty)
    apps: tuple[str, ...] = ("snap", "whatsapp", "telegram", "discord", "insta")
    games: tuple[str, ...] = ("minecraft", "fortnite", "roblox", "fifa", "mario kart")
    places: tuple[str, ...] = ("the park", "the station", "the mall")
    days: tuple[str, ...] = ("saturday", "friday", "sunday")


@dataclass(frozen=True)
class Row:
    conversation: str
    time: str
    author: str
    text: str
    tactics: tuple[Tactic, ...]


@dataclass(frozen=True)
class Corpus:
    rows: tuple[Row, ...]
    labels: dict[str, int]  # conversation → 1 grooming, 0 benign

    def conversations(self) -> dict[str, list[Row]]:
        grouped: dict[str, list[Row]] = {}
        for row in self.rows:
            grouped.setdefault(row.conversation, []).append(row)
        return grouped


def _fill(rng: random.Random, bank: Bank, text: str, name: str) -> str:
    return text.format(
        name=name,
        app=rng.choice(bank.apps),
        game=rng.choice(bank.games),
        place=rng.choice(bank.places),
        day=rng.choice(bank.days),
    )


NAMES = ("alex", "sam", "jo", "kim", "robin", "noa", "lou", "mika", "tiki", "ren", "max", "ria")
HANDLES = ("{n}_{k}", "{n}.{k}", "{n}{k}", "x{n}{k}", "{n}_plays")


def _handle(rng: random.Random, taken: set[str]) -> str:
    while True:
        handle = rng.choice(HANDLES).format(n=rng.choice(NAMES), k=rng.randint(10, 99))
        if handle not in taken:
            taken.add(handle)
            return handle


def _vary(rng: random.Random, text: str) -> str:
    """People type the same thing many ways: capitals, punctuation, a filler word."""
    roll = rng.random()
    if roll < 0.2:
        text = text[:1].upper() + text[1:]
    elif roll < 0.25:
        text = text.upper()
    roll = rng.random()
    if roll < 0.15:
        text += "?" if rng.random() < 0.5 else "!!"
    elif roll < 0.25:
        text += " :)"
    elif roll < 0.3:
        text += "..."
    return text


def _grooming(
    rng: random.Random, bank: Bank, a: str, b: str
) -> list[tuple[str, str, tuple[Tactic, ...]]]:
    """An adult (a) befriends a child (b) in a game chat, then shows some of the tactics, most
    often in the usual order; some conversations are slow (much ordinary talk between)."""
    chosen = [t for t in ORDER if rng.random() < 0.65] or [T.AGE_PROBING, T.SECRECY]
    if rng.random() < 0.2 and len(chosen) > 2:  # the order is not a law
        i, j = rng.sample(range(len(chosen)), 2)
        chosen[i], chosen[j] = chosen[j], chosen[i]
    if rng.random() < 0.6:
        chosen.insert(rng.randint(1, len(chosen)), T.COMPLIANCE_TESTING)
    slow = rng.random() < 0.3
    lines: list[tuple[str, str, tuple[Tactic, ...]]] = [
        (a, rng.choice(bank.openers), ()),
        (b, rng.choice(bank.replies), ()),
    ]
    for _ in range(rng.randint(1, 6)):
        lines.append((a if len(lines) % 2 == 0 else b, rng.choice(bank.kids), ()))
    for tactic in chosen:
        for _ in range(rng.randint(0, 4 if slow else 2)):
            speaker = b if rng.random() < 0.5 else a
            lines.append((speaker, rng.choice(bank.kids + bank.replies), ()))
        lines.append((a, rng.choice(bank.tactics[tactic]), (tactic,)))
        lines.append((b, rng.choice(bank.replies), ()))
    return lines[:40]


def _ordinary(
    rng: random.Random, bank: Bank, kind: str, a: str, b: str
) -> list[tuple[str, str, tuple[Tactic, ...]]]:
    """Children, adults or a parent and a child talking; now and then a line that looks like a
    tactic and is not one (labelled benign)."""
    pool = {"children": bank.kids, "adults": bank.adults, "family": bank.family or bank.adults}[
        kind
    ]
    length = rng.randint(10, 36)
    lines: list[tuple[str, str, tuple[Tactic, ...]]] = []
    while len(lines) < length:
        speaker = a if len(lines) % 2 == 0 else b
        roll = rng.random()
        if roll < 0.12:
            lines.append((speaker, rng.choice(bank.hard), ()))
        elif roll < 0.4:
            lines.append((speaker, rng.choice(bank.replies), ()))
        else:
            lines.append((speaker, rng.choice(pool), ()))
    return lines


def _conversation(
    rng: random.Random, bank: Bank, kind: str, key: str, start: datetime
) -> list[Row]:
    taken: set[str] = set()
    a, b = _handle(rng, taken), _handle(rng, taken)
    lines = _grooming(rng, bank, a, b) if kind == "grooming" else _ordinary(rng, bank, kind, a, b)
    rows = []
    at = start
    for author, text, tactics in lines:
        at += timedelta(seconds=rng.randint(20, 900))
        other = b if author == a else a
        filled = _vary(rng, _fill(rng, bank, text, other.split("_")[0].split(".")[0]))
        rows.append(Row(key, at.isoformat(), author, filled, tactics))
    return rows


# conversations per language and kind
PLAN: dict[str, dict[str, int]] = {
    "en": {"children": 30, "adults": 15, "family": 15, "grooming": 35},
    "de": {"children": 12, "adults": 6, "family": 6, "grooming": 14},
    "fr": {"children": 12, "adults": 6, "family": 6, "grooming": 14},
    "es": {"children": 12, "adults": 6, "family": 6, "grooming": 14},
    "nl": {"children": 12, "adults": 6, "family": 6, "grooming": 14},
}


def generate(seed: int = SEED) -> Corpus:
    """The corpus, the same for the same seed (no clock, no hash randomisation)."""
    rng = random.Random(seed)  # noqa: S311  (reproducible text, not secrets)
    rows: list[Row] = []
    labels: dict[str, int] = {}
    number = 0
    for language, plan in PLAN.items():
        bank = BANKS[language]
        for kind, count in plan.items():
            for _ in range(count):
                number += 1
                key = f"syn-{language}-{number:04d}"
                start = START + timedelta(hours=7 * number)
                rows.extend(_conversation(rng, bank, kind, key, start))
                labels[key] = int(kind == "grooming")
    return Corpus(tuple(rows), labels)


def write(corpus: Corpus, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / MESSAGES).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["conversation", "time", "author", "text", "tactics"])
        for row in corpus.rows:
            writer.writerow(
                [row.conversation, row.time, row.author, row.text, "|".join(row.tactics)]
            )
    with (directory / LABELS).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["conversation", "label"])
        for key, label in corpus.labels.items():
            writer.writerow([key, label])


def build(directory: Path = CORPUS_DIR, seed: int = SEED) -> Corpus:
    """Write the synthetic corpus to `directory` (the shipped one by default)."""
    corpus = generate(seed)
    write(corpus, directory)
    return corpus


def read(directory: Path) -> Corpus:
    """A corpus in this layout (the shipped one, or an agency's own labelled messages)."""
    rows: list[Row] = []
    with (directory / MESSAGES).open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            tactics = tuple(Tactic(t) for t in (record.get("tactics") or "").split("|") if t)
            rows.append(
                Row(
                    record["conversation"],
                    record["time"],
                    record["author"],
                    record["text"],
                    tactics,
                )
            )
    with (directory / LABELS).open(encoding="utf-8", newline="") as handle:
        labels = {r["conversation"]: int(r["label"]) for r in csv.DictReader(handle)}
    return Corpus(tuple(rows), labels)


@cache
def shipped() -> Corpus:
    """The corpus shipped in `chats/corpus/` (read once per process)."""
    return read(CORPUS_DIR)


def split(keys: Sequence[str], fold: int, folds: int = 5) -> tuple[set[str], set[str]]:
    """Training and held-out conversations for one fold: every `folds`-th key by sorted order."""
    ordered = sorted(keys)
    held = {k for i, k in enumerate(ordered) if i % folds == fold}
    return set(ordered) - held, held


# ---------------------------------------------------------------------------------------------
# The phrases. Plain, non-sexual wording only; fictional everything.

BANKS: dict[str, Bank] = {
    "en": Bank(
        kids=(
            "did you finish the maths homework",
            "wanna play {game} after school",
            "my mum says i can come to practice on {day}",
            "the test was so hard lol",
            "i got a new skin in {game}",
            "are we still doing the science project together",
            "coach said we have a match on {day}",
            "my brother broke my controller again",
            "can you send me the homework page, i forgot my book",
            "that video was so funny",
            "i'm at my gran's this weekend",
            "what did you get for question 4",
            "we won 3-1!! you should have seen the last goal",
            "my dog ate my pencil case haha",
            "join my server in {game} later",
        ),
        adults=(
            "are you coming to the team meeting on {day}",
            "the train was late again this morning",
            "can you pick up milk on the way home",
            "i sent the report to finance",
            "dinner at ours on {day}? bring the kids",
            "the plumber is coming at ten",
            "did you book the dentist for the kids",
            "happy to cover your shift next week",
            "the school play is at six, i'll save you a seat",
            "let's split the cost of the present for dad",
        ),
        replies=(
            "ok",
            "lol",
            "yeah",
            "haha",
            "sure",
            "no way",
            "idk",
            "cool",
            "sounds good",
            "brb",
            "thanks!",
            "nice",
            "maybe",
            "ok see you",
            "yes",
            "hmm",
        ),
        hard=(
            "how old is your sister now",
            "let's meet at the library after class to finish the project",
            "i got you a birthday present, it's a book you'll like",
            "don't forget your PE kit tomorrow",
            "go to your room and finish your homework please",
            "the teacher said the quiz is a surprise, don't tell the other class the answers",
            "see you at {place} on {day} with everyone from class",
            "my mum will pick us up after the match",
            "happy birthday!! how does it feel to be twelve",
            "can you send me a photo of the homework sheet",
            "what's the wifi password at your house",
            "our grandparents are visiting on {day}",
            "don't tell dad about the surprise party!!",
            "i'll send you the money for the concert tickets",
            "send me a pic of the menu",
            "we should meet up for lunch next week",
            "you're so good at this, the coach was impressed",
            "which school does your cousin go to",
            "is your mum coming to the match",
            "text me when you get home",
        ),
        family=(
            "where are you, dinner is at six",
            "did you take your keys",
            "grandma asked how old your friend tom is, for the party invites",
            "i'll pick you up from football at five",
            "don't forget your PE kit",
            "can you send me a photo of the permission slip",
            "love you, see you tonight",
            "the bus is late, i'll be home at seven",
            "did you finish your homework before gaming",
            "dad says well done on the test",
            "we're visiting auntie on {day}",
            "put your phone away and go to sleep",
        ),
        openers=(
            "hey gg, you're really good at {game}",
            "hi {name}, nice build in {game}",
            "hey saw you on the {game} server, wanna team up",
            "hi there, you play {game} too?",
        ),
        tactics={
            T.AGE_PROBING: (
                "how old are you btw",
                "so how old r u",
                "what grade are you in",
                "asl?",
                "you're still at school right? which year",
                "what year were you born",
                "you sound older than 12",
            ),
            T.FLATTERY: (
                "you're so mature for your age",
                "you're not like other kids, you actually get it",
                "honestly you're really special to me",
                "i understand you better than anyone",
                "you're smarter than most adults i know",
                "you're so pretty in your profile pic",
            ),
            T.GIFTS: (
                "i can buy you some robux if you want",
                "i'll top up your phone tonight",
                "do you want a gift card for {game}",
                "i'll send you money for the new skin",
                "i could get you a new phone, yours is so old",
                "want me to pay for your game pass",
            ),
            T.SECRECY: (
                "don't tell your parents we talk ok",
                "this is our little secret",
                "keep this between us",
                "delete our chat after you read it",
                "nobody needs to know about us",
                "your mum wouldn't understand, so just don't mention me",
            ),
            T.ISOLATION: (
                "are you home alone right now",
                "is your mum home",
                "your parents don't understand you like i do",
                "you don't need your friends, you have me",
                "are your parents watching",
                "where are your parents right now",
            ),
            T.PLATFORM_MOVE: (
                "add me on {app}",
                "what's your number, it's easier",
                "let's talk on {app} instead",
                "can we move to a private chat",
                "give me your {app}, this game chat is watched",
                "text me on {app} later",
            ),
            T.IMAGE_REQUEST: (
                "send me a pic of you",
                "turn on your cam",
                "can i see you on video",
                "show me what you look like",
                "send a selfie so i know you're real",
                "wanna video call tonight",
            ),
            T.MEETING: (
                "we should meet up in person",
                "i could pick you up after school",
                "where do you live",
                "meet me at {place} on {day}, just us",
                "i can drive to your town this weekend",
                "let's meet somewhere quiet",
            ),
            T.COMPLIANCE_TESTING: (
                "do you trust me",
                "you promised",
                "prove it",
                "if you really liked me you would",
                "you owe me after the robux",
            ),
        },
        places=("the park", "the station", "the mall", "the bus stop"),
    ),
    "de": Bank(
        kids=(
            "hast du die mathehausaufgaben gemacht",
            "zocken wir nachher {game}",
            "training ist am {day} um vier",
            "der test war voll schwer",
            "mein bruder hat meinen controller kaputt gemacht",
            "was hast du bei aufgabe 3",
            "wir haben 2:1 gewonnen!!",
            "kommst du morgen mit ins schwimmbad",
        ),
        adults=(
            "kommst du am {day} zur besprechung",
            "der zug hatte wieder verspätung",
            "kannst du milch mitbringen",
            "abendessen bei uns am {day}?",
            "der handwerker kommt um zehn",
            "ich übernehme deine schicht",
        ),
        replies=(
            "ok",
            "haha",
            "ja",
            "klar",
            "nee",
            "weiß nicht",
            "cool",
            "gut",
            "danke",
            "vielleicht",
        ),
        hard=(
            "wie alt ist deine schwester jetzt",
            "lass uns nach der schule in der bibliothek treffen fürs referat",
            "ich hab dir ein geburtstagsgeschenk besorgt",
            "vergiss dein sportzeug nicht",
            "geh in dein zimmer und mach hausaufgaben",
            "mama holt uns nach dem spiel ab",
            "sag papa nichts von der überraschungsparty",
            "wir könnten uns am {day} zum mittagessen treffen",
        ),
        family=(
            "wo bist du, essen ist um sechs",
            "hast du deine schlüssel dabei",
            "ich hole dich um fünf vom training ab",
            "oma fragt, wie alt dein freund ist, wegen der einladung",
            "hab dich lieb, bis heute abend",
            "handy weg und schlafen",
        ),
        openers=("hey, du bist echt gut in {game}", "hi {name}, spielst du auch {game}?"),
        tactics={
            T.AGE_PROBING: (
                "wie alt bist du eigentlich",
                "in welche klasse gehst du",
                "bist du noch in der schule?",
            ),
            T.FLATTERY: (
                "du bist so reif für dein alter",
                "du bist nicht wie die anderen",
                "du bist etwas ganz besonderes",
            ),
            T.GIFTS: (
                "ich kann dir guthaben kaufen",
                "ich lade dir dein handy auf",
                "willst du robux? ich schenk dir welche",
            ),
            T.SECRECY: (
                "sag deinen eltern nichts von uns",
                "das ist unser geheimnis",
                "lösch die nachrichten danach",
            ),
            T.ISOLATION: (
                "bist du gerade allein",
                "sind deine eltern zu hause",
                "deine eltern verstehen dich nicht",
            ),
            T.PLATFORM_MOVE: (
                "schreib mir auf {app}",
                "gib mir deine nummer",
                "lass uns auf {app} weiterschreiben",
            ),
            T.IMAGE_REQUEST: (
                "schick mir ein foto von dir",
                "mach mal deine kamera an",
                "zeig mal wie du aussiehst",
            ),
            T.MEETING: (
                "wollen wir uns mal allein treffen",
                "ich kann dich abholen",
                "wo wohnst du",
            ),
            T.COMPLIANCE_TESTING: ("vertraust du mir", "du hast es versprochen", "beweis es mir"),
        },
        places=("im park", "am bahnhof"),
        days=("samstag", "freitag", "sonntag"),
    ),
    "fr": Bank(
        kids=(
            "t'as fini les devoirs de maths",
            "on joue à {game} après l'école",
            "entraînement {day} à 16h",
            "le contrôle était trop dur",
            "mon frère a cassé ma manette",
            "t'as mis quoi à l'exercice 3",
            "on a gagné 2-1 !!",
            "tu viens à la piscine demain",
        ),
        adults=(
            "tu viens à la réunion {day}",
            "le train avait encore du retard",
            "tu peux prendre du lait en rentrant",
            "dîner chez nous {day} ?",
            "le plombier passe à dix heures",
        ),
        replies=(
            "ok",
            "mdr",
            "oui",
            "carrément",
            "non",
            "jsp",
            "cool",
            "merci",
            "peut-être",
            "ah bon",
        ),
        hard=(
            "ta sœur a quel âge maintenant",
            "on se retrouve à la bibliothèque après les cours pour l'exposé",
            "je t'ai trouvé un cadeau d'anniversaire",
            "n'oublie pas tes affaires de sport",
            "va dans ta chambre faire tes devoirs",
            "ma mère vient nous chercher après le match",
            "dis rien à papa pour la fête surprise",
        ),
        family=(
            "tu es où ? on mange à dix-neuf heures",
            "t'as pris tes clés",
            "je viens te chercher au foot à cinq heures",
            "je t'aime, à ce soir",
            "pose ton téléphone et dors",
        ),
        openers=("salut, t'es trop fort à {game}", "coucou {name}, tu joues aussi à {game} ?"),
        tactics={
            T.AGE_PROBING: ("t'as quel âge", "tu es en quelle classe", "tu vas encore à l'école ?"),
            T.FLATTERY: (
                "tu es très mature pour ton âge",
                "t'es vraiment spéciale",
                "t'es pas comme les autres",
            ),
            T.GIFTS: (
                "je peux t'acheter des robux",
                "je te recharge ton forfait",
                "je vais t'offrir une carte cadeau",
            ),
            T.SECRECY: (
                "ne dis rien à tes parents",
                "c'est notre petit secret",
                "efface nos messages après",
            ),
            T.ISOLATION: (
                "tu es toute seule chez toi",
                "tes parents sont là ?",
                "tes parents te comprennent pas",
            ),
            T.PLATFORM_MOVE: (
                "ajoute-moi sur {app}",
                "donne-moi ton numéro",
                "on continue sur {app}",
            ),
            T.IMAGE_REQUEST: (
                "envoie-moi une photo de toi",
                "allume ta caméra",
                "montre-moi à quoi tu ressembles",
            ),
            T.MEETING: (
                "on pourrait se voir en vrai",
                "je peux te chercher après l'école",
                "tu habites où",
            ),
            T.COMPLIANCE_TESTING: ("tu me fais confiance", "tu l'as promis", "prouve-le"),
        },
        places=("au parc", "à la gare"),
        days=("samedi", "vendredi", "dimanche"),
    ),
    "es": Bank(
        kids=(
            "hiciste los deberes de mates",
            "jugamos a {game} después de clase",
            "el entreno es el {day} a las cinco",
            "el examen fue dificilísimo",
            "mi hermano rompió mi mando",
            "qué pusiste en la pregunta 3",
            "ganamos 2-1!!",
            "vienes a la piscina mañana",
        ),
        adults=(
            "vienes a la reunión del {day}",
            "el tren llegó tarde otra vez",
            "puedes comprar leche al volver",
            "cena en casa el {day}?",
            "el fontanero viene a las diez",
        ),
        replies=("vale", "jaja", "sí", "claro", "no", "ni idea", "guay", "gracias", "quizás", "ok"),
        hard=(
            "cuántos años tiene tu hermana ahora",
            "quedamos en la biblioteca después de clase para el trabajo",
            "te compré un regalo de cumpleaños",
            "no olvides la ropa de gimnasia",
            "vete a tu cuarto a hacer los deberes",
            "mi madre nos recoge después del partido",
            "no le digas nada a papá de la fiesta sorpresa",
        ),
        family=(
            "dónde estás? cenamos a las siete",
            "cogiste las llaves",
            "te recojo del fútbol a las cinco",
            "te quiero, hasta la noche",
            "deja el móvil y a dormir",
        ),
        openers=("hola, eres muy bueno en {game}", "hey {name}, tú también juegas a {game}?"),
        tactics={
            T.AGE_PROBING: ("cuántos años tienes", "en qué curso estás", "todavía vas al colegio?"),
            T.FLATTERY: (
                "eres muy madura para tu edad",
                "eres muy especial",
                "no eres como los demás",
            ),
            T.GIFTS: (
                "te puedo comprar robux",
                "te recargo el móvil",
                "te regalo una tarjeta para {game}",
            ),
            T.SECRECY: (
                "no le digas nada a tus padres",
                "es nuestro secreto",
                "borra los mensajes después",
            ),
            T.ISOLATION: (
                "estás sola en casa",
                "están tus padres en casa",
                "tus padres no te entienden",
            ),
            T.PLATFORM_MOVE: ("agrégame a {app}", "pásame tu número", "hablemos por {app}"),
            T.IMAGE_REQUEST: ("mándame una foto tuya", "enciende la cámara", "enséñame cómo eres"),
            T.MEETING: ("podemos vernos en persona", "te recojo después de clase", "dónde vives"),
            T.COMPLIANCE_TESTING: ("confías en mí", "me lo prometiste", "demuéstralo"),
        },
        places=("en el parque", "en la estación"),
        days=("sábado", "viernes", "domingo"),
    ),
    "nl": Bank(
        kids=(
            "heb je het wiskundehuiswerk af",
            "gamen we straks {game}",
            "training is {day} om vier uur",
            "de toets was echt moeilijk",
            "mijn broertje heeft mijn controller gesloopt",
            "wat had jij bij vraag 3",
            "we hebben met 2-1 gewonnen!!",
            "ga je morgen mee zwemmen",
        ),
        adults=(
            "kom je {day} naar het overleg",
            "de trein had weer vertraging",
            "kun je melk meenemen",
            "eten bij ons op {day}?",
            "de loodgieter komt om tien uur",
        ),
        replies=(
            "ok",
            "haha",
            "ja",
            "zeker",
            "nee",
            "weet niet",
            "leuk",
            "dank je",
            "misschien",
            "oké",
        ),
        hard=(
            "hoe oud is je zus nu",
            "zullen we na school in de bibliotheek aan het werkstuk werken",
            "ik heb een verjaardagscadeau voor je",
            "vergeet je gymspullen niet",
            "ga naar je kamer en maak je huiswerk",
            "mama haalt ons op na de wedstrijd",
            "zeg niks tegen papa over het verrassingsfeest",
        ),
        family=(
            "waar ben je, we eten om zes uur",
            "heb je je sleutels",
            "ik haal je om vijf uur op van voetbal",
            "hou van je, tot vanavond",
            "telefoon weg en slapen",
        ),
        openers=("hoi, je bent echt goed in {game}", "hey {name}, speel jij ook {game}?"),
        tactics={
            T.AGE_PROBING: (
                "hoe oud ben je eigenlijk",
                "in welke klas zit je",
                "zit je nog op school?",
            ),
            T.FLATTERY: (
                "je bent zo volwassen voor je leeftijd",
                "je bent echt speciaal",
                "je bent niet zoals de anderen",
            ),
            T.GIFTS: (
                "ik kan je beltegoed geven",
                "ik kan je wat robux sturen",
                "ik zal je een cadeaukaart geven",
            ),
            T.SECRECY: (
                "zeg niks tegen je ouders",
                "dit is ons geheimpje",
                "verwijder de berichten daarna",
            ),
            T.ISOLATION: (
                "ben je nu alleen thuis",
                "zijn je ouders thuis",
                "je ouders begrijpen je niet",
            ),
            T.PLATFORM_MOVE: (
                "voeg me toe op {app}",
                "geef me je nummer",
                "laten we verder praten op {app}",
            ),
            T.IMAGE_REQUEST: (
                "stuur me een foto van jezelf",
                "zet je camera aan",
                "laat eens zien hoe je eruit ziet",
            ),
            T.MEETING: ("zullen we eens afspreken", "ik kan je ophalen na school", "waar woon je"),
            T.COMPLIANCE_TESTING: ("vertrouw je me", "je hebt het beloofd", "bewijs het"),
        },
        places=("in het park", "bij het station"),
        days=("zaterdag", "vrijdag", "zondag"),
    ),
}
