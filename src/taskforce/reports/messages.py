# ruff: noqa: E501  (catalogue sentences are kept on one line each, for translators)
"""The public report pages' words, one dictionary per language.

To add a language: copy `EN` below, translate every value (keep the keys and the `{...}`
placeholders), and add it to `CATALOGUES` under its ISO 639-1 code. A key missing from a
catalogue falls back to English, and `tests/reports/test_public.py::test_every_language_has_every_message` names what is missing.
"""

from __future__ import annotations

EN: dict[str, str] = {
    "lang_name": "English",
    "title": "Report online child sexual abuse",
    "intro": "You can report here without giving your name. What you write goes to the hotline and police who work against the sexual exploitation of children.",
    "danger_banner": "Is a child in danger right now? Call {number} now.",
    "danger_unknown": "If {number} does not work where you are, call your local emergency number.",
    "choose": "What do you want to report?",
    "kind_url": "A website or link showing sexual images or videos of a child",
    "kind_grooming": "A conversation in which an adult tries to groom a child",
    "kind_danger": "A child in immediate danger",
    "guidance_title": "Before you start",
    "guidance_1": "Do not download, copy, screenshot or forward the material. Doing so can be a crime, even to report it.",
    "guidance_2": "Do not contact the person you are reporting.",
    "guidance_3": "You do not need to give your name. This page sets no cookies and does not keep your address.",
    "continue": "Continue",
    "country": "Your country",
    "country_hint": "so we can show the right emergency number",
    "country_none": "Choose your country",
    "language": "Language",
    "url": "Address (URL) of the page",
    "url_hint": "copy it from the address bar; do not open it again",
    "where_found": "How did you come across it?",
    "description": "What does the page show?",
    "description_hint": "in a few words; do not describe more than needed",
    "platform": "Platform or app",
    "platform_hint": "for example a game, chat app or social network",
    "adult_username": "The adult's username",
    "child_username": "The child's username",
    "excerpt": "Paste the part of the conversation that worries you",
    "when": "When did it happen?",
    "meeting": "They plan to meet soon",
    "adult_country": "Where does the adult seem to be?",
    "adult_country_hint": "if you know, for example from what they wrote",
    "adult_country_none": "I don't know",
    "what": "What is happening?",
    "where": "Where is the child?",
    "where_hint": "a place, an address, a game or app, a username",
    "optional": "optional",
    "send": "Send report",
    "change_kind": "Report something else",
    "thanks_title": "Thank you. Your report has been received.",
    "receipt_intro": "Your receipt code:",
    "receipt_keep": "Write it down now. It is shown only once. With it you can add information later without giving your name.",
    "add_title": "Add information to a report",
    "receipt_code": "Receipt code",
    "more": "What do you want to add?",
    "add_send": "Add to my report",
    "added": "Thank you. Your information was added to the report.",
    "error_prefix": "Please check",
    "err_required": "this is required",
    "err_too_long": "at most {max} characters",
    "err_too_short": "at least {min} characters",
    "err_url": "must be a web address starting with http:// or https://",
    "err_characters": "holds a character that cannot be stored (a null or broken character); "
    "please remove it",
    "err_country": "choose a country from the list",
    "err_form": "the form has expired; please send it again",
    "err_receipt": "no report has this receipt code",
    "err_rate": "too many reports from your connection; please try again in {minutes} minutes",
    "err_rate_receipt": "too many additions to this report; please try again later",
    "footer": "Emergency? Call {number}.",
}

ES: dict[str, str] = {
    "lang_name": "Español",
    "title": "Denunciar el abuso sexual infantil en internet",
    "intro": "Puede denunciar aquí sin dar su nombre. Lo que escriba llega a la línea de denuncia y a la policía que trabajan contra la explotación sexual de niños y niñas.",
    "danger_banner": "¿Hay un niño o una niña en peligro ahora mismo? Llame ya al {number}.",
    "danger_unknown": "Si el {number} no funciona donde usted está, llame al número de emergencias local.",
    "choose": "¿Qué quiere denunciar?",
    "kind_url": "Una web o un enlace con imágenes o vídeos sexuales de un niño o una niña",
    "kind_grooming": "Una conversación en la que un adulto intenta engañar a un niño o una niña (grooming)",
    "kind_danger": "Un niño o una niña en peligro inmediato",
    "guidance_title": "Antes de empezar",
    "guidance_1": "No descargue, copie, haga capturas ni reenvíe el material. Hacerlo puede ser un delito, aunque sea para denunciarlo.",
    "guidance_2": "No contacte con la persona a la que denuncia.",
    "guidance_3": "No necesita dar su nombre. Esta página no usa cookies y no guarda su dirección.",
    "continue": "Continuar",
    "country": "Su país",
    "country_hint": "para mostrarle el número de emergencias correcto",
    "country_none": "Elija su país",
    "language": "Idioma",
    "url": "Dirección (URL) de la página",
    "url_hint": "cópiela de la barra de direcciones; no vuelva a abrirla",
    "where_found": "¿Cómo la encontró?",
    "description": "¿Qué muestra la página?",
    "description_hint": "en pocas palabras; no describa más de lo necesario",
    "platform": "Plataforma o aplicación",
    "platform_hint": "por ejemplo un juego, un chat o una red social",
    "adult_username": "Nombre de usuario del adulto",
    "child_username": "Nombre de usuario del niño o la niña",
    "excerpt": "Pegue la parte de la conversación que le preocupa",
    "when": "¿Cuándo ocurrió?",
    "meeting": "Planean verse pronto",
    "adult_country": "¿Dónde parece estar el adulto?",
    "adult_country_hint": "si lo sabes, por ejemplo por lo que escribió",
    "adult_country_none": "No lo sé",
    "what": "¿Qué está pasando?",
    "where": "¿Dónde está el niño o la niña?",
    "where_hint": "un lugar, una dirección, un juego o aplicación, un nombre de usuario",
    "optional": "opcional",
    "send": "Enviar denuncia",
    "change_kind": "Denunciar otra cosa",
    "thanks_title": "Gracias. Hemos recibido su denuncia.",
    "receipt_intro": "Su código de recibo:",
    "receipt_keep": "Apúntelo ahora. Solo se muestra una vez. Con él puede añadir información más tarde sin dar su nombre.",
    "add_title": "Añadir información a una denuncia",
    "receipt_code": "Código de recibo",
    "more": "¿Qué quiere añadir?",
    "add_send": "Añadir a mi denuncia",
    "added": "Gracias. Su información se ha añadido a la denuncia.",
    "error_prefix": "Revise",
    "err_required": "este campo es obligatorio",
    "err_too_long": "como máximo {max} caracteres",
    "err_too_short": "al menos {min} caracteres",
    "err_url": "debe ser una dirección web que empiece por http:// o https://",
    "err_characters": "contiene un carácter que no se puede guardar (un carácter nulo o "
    "dañado); elimínelo",
    "err_country": "elija un país de la lista",
    "err_form": "el formulario ha caducado; envíelo de nuevo",
    "err_receipt": "ninguna denuncia tiene este código de recibo",
    "err_rate": "demasiadas denuncias desde su conexión; inténtelo de nuevo en {minutes} minutos",
    "err_rate_receipt": "demasiadas adiciones a esta denuncia; inténtelo más tarde",
    "footer": "¿Emergencia? Llame al {number}.",
}

CATALOGUES: dict[str, dict[str, str]] = {"en": EN, "es": ES}
DEFAULT = "en"


def choose(requested: str | None, accept_language: str | None) -> str:
    """The page's language: the one asked for, else the browser's first we have, else English."""
    if requested and requested.lower() in CATALOGUES:
        return requested.lower()
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in CATALOGUES:
            return code
    return DEFAULT


def region(accept_language: str | None) -> str | None:
    """The region of the browser's first language tag (es-MX → MX), a default for the country."""
    first = (accept_language or "").split(",")[0].split(";")[0].strip()
    parts = first.replace("_", "-").split("-")
    if len(parts) >= 2 and len(parts[-1]) == 2 and parts[-1].isalpha():
        return parts[-1].upper()
    return None


def translator(language: str) -> dict[str, str]:
    """The catalogue with English for any key not yet translated."""
    return {**EN, **CATALOGUES.get(language, {})}
