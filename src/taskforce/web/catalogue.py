# ruff: noqa: E501  (catalogue sentences are kept on one line each, for translators)
"""The words of every public page, and the one rule that picks their language.

The public pages are read by people with no account: the hotline's report form (/report),
the warning a provider shows instead of a blocked URL (/blocked, and its file from
`taskforce blocklist warning-page`), a clue notice's "trace an object" page (/trace/...), the
observatory's published figures (/observatory: its words in `web/observatory_words.py`) and
the error pages of all these addresses (404, 405, 413, 429, 500, 503…: `web/public_errors.py`).
Each has its catalogue here, one dictionary per language, keys and `{...}` placeholders as in
English; `tests/web/test_catalogue.py` names any key a language lacks.

To add a language to a page: copy its English dictionary, translate every value (keep the
keys and the placeholders), and add it under its ISO 639-1 code (and to `LANGUAGE_NAMES`).
Keys ending in `_html` hold a little markup (<strong>) and are shown unescaped: they are
ours, never a visitor's.

The language rule (`choose`), the same on every public page: the language asked for
explicitly (`?lang=`, the path, or the form's `lang` field), else the browser's
Accept-Language in its order of preference (q-values; `es-MX` counts as `es`), else English.
"""

from __future__ import annotations

from typing import Literal

from taskforce.web.observatory_words import OBSERVATORY

Page = Literal["report", "warning", "trace", "error", "observatory"]
ENGLISH = "en"
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "de": "Deutsch",
    "nl": "Nederlands",
}

# --- the report form (/report) -----------------------------------------------------------------

_REPORT_EN: dict[str, str] = {
    "title": "Report online child sexual abuse",
    "intro": "You can report here without giving your name. What you write goes to the hotline and police who work against the sexual exploitation of children.",
    "danger_banner": "Is a child in danger right now? Call {number} now.",
    "danger_unknown": "If {number} does not work where you are, call your local emergency number.",
    "choose": "What do you want to report?",
    "kind_url": "A website or link showing sexual images or videos of a child",
    "kind_grooming": "A conversation in which an adult tries to groom a child",
    "kind_danger": "A child in immediate danger",
    "kind_block_mistake": "A page that was blocked by mistake",
    "url_unreadable": "We could not open this address",
    "url_gone": "the site says the page does not exist, or the site's name was not found",
    "url_unreachable": "the site did not answer",
    "url_refused": "it is not an address on the public internet",
    "url_check_hint": "Check the address for typos. Pages are often taken down quickly: if you are sure the address is right, you can still send it. We only checked that the address answers; we did not open the page.",
    "url_insist": "The address is right: send it anyway",
    "mistake_intro": "Tell us which address was blocked and why you think the block is wrong. The agency that put it on the block list will review it. Do not send pictures or content from the page.",
    "block_mistake_url_hint": "the address that was blocked, as your browser showed it",
    "why": "Why do you think the block is wrong?",
    "why_hint": "for example: what the page is and who runs it",
    "contact": "How can we reach you?",
    "contact_hint": "an e-mail address or phone number, if you want an answer",
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

_REPORT_ES: dict[str, str] = {
    "title": "Denunciar el abuso sexual infantil en internet",
    "intro": "Puede denunciar aquí sin dar su nombre. Lo que escriba llega a la línea de denuncia y a la policía que trabajan contra la explotación sexual de niños y niñas.",
    "danger_banner": "¿Hay un niño o una niña en peligro ahora mismo? Llame ya al {number}.",
    "danger_unknown": "Si el {number} no funciona donde usted está, llame al número de emergencias local.",
    "choose": "¿Qué quiere denunciar?",
    "kind_url": "Una web o un enlace con imágenes o vídeos sexuales de un niño o una niña",
    "kind_grooming": "Una conversación en la que un adulto intenta engañar a un niño o una niña (grooming)",
    "kind_danger": "Un niño o una niña en peligro inmediato",
    "kind_block_mistake": "Una página bloqueada por error",
    "url_unreadable": "No pudimos abrir esta dirección",
    "url_gone": "el sitio dice que la página no existe, o no se encontró el nombre del sitio",
    "url_unreachable": "el sitio no respondió",
    "url_refused": "no es una dirección de internet pública",
    "url_check_hint": "Compruebe que la dirección no tenga errores. Las páginas suelen retirarse rápido: si está seguro de que la dirección es correcta, puede enviarla igualmente. Solo comprobamos que la dirección responde; no abrimos la página.",
    "url_insist": "La dirección es correcta: enviarla igualmente",
    "mistake_intro": "Indíquenos qué dirección se bloqueó y por qué cree que el bloqueo es un error. La entidad que la puso en la lista de bloqueo lo revisará. No envíe imágenes ni contenido de la página.",
    "block_mistake_url_hint": "la dirección que se bloqueó, tal como la mostró su navegador",
    "why": "¿Por qué cree que el bloqueo es un error?",
    "why_hint": "por ejemplo: qué es la página y quién la gestiona",
    "contact": "¿Cómo podemos contactarle?",
    "contact_hint": "un correo electrónico o un teléfono, si quiere una respuesta",
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

REPORT: dict[str, dict[str, str]] = {"en": _REPORT_EN, "es": _REPORT_ES}

# --- the warning page (/blocked) --------------------------------------------------------------

WARNING: dict[str, dict[str, str]] = {
    "en": {
        "title": "This page was blocked",
        "body": "This page was blocked because it was found to contain child sexual abuse "
        "material.",
        "report": "To report child sexual abuse material you find online, use the report page:",
        "mistake": "If you think this page was blocked by mistake, tell the agency that blocked it.",
    },
    "es": {
        "title": "Esta página ha sido bloqueada",
        "body": "Esta página ha sido bloqueada porque se comprobó que contiene material de "
        "abuso sexual infantil.",
        "report": "Para denunciar material de abuso sexual infantil que encuentre en internet, "
        "utilice la página de denuncias:",
        "mistake": "Si cree que esta página se ha bloqueado por error, dígaselo a la entidad que la bloqueó.",
    },
    "fr": {
        "title": "Cette page a été bloquée",
        "body": "Cette page a été bloquée parce qu'il a été constaté qu'elle contient du "
        "matériel d'abus sexuels sur des enfants.",
        "report": "Pour signaler du matériel d'abus sexuels sur des enfants trouvé en ligne, "
        "utilisez la page de signalement :",
        "mistake": "Si vous pensez que cette page a été bloquée par erreur, dites-le à l'organisme qui l'a bloquée.",
    },
    "de": {
        "title": "Diese Seite wurde gesperrt",
        "body": "Diese Seite wurde gesperrt, weil festgestellt wurde, dass sie Darstellungen "
        "sexuellen Missbrauchs von Kindern enthält.",
        "report": "Wenn Sie im Internet Darstellungen sexuellen Missbrauchs von Kindern finden, "
        "melden Sie sie auf der Meldeseite:",
        "mistake": "Wenn Sie glauben, dass diese Seite irrtümlich gesperrt wurde, teilen Sie es der Stelle mit, die sie gesperrt hat.",
    },
    "nl": {
        "title": "Deze pagina is geblokkeerd",
        "body": "Deze pagina is geblokkeerd omdat is vastgesteld dat zij materiaal van "
        "seksueel misbruik van kinderen bevat.",
        "report": "Komt u online materiaal van seksueel misbruik van kinderen tegen? Meld het "
        "via de meldpagina:",
        "mistake": "Denkt u dat deze pagina ten onrechte is geblokkeerd? Meld het aan de organisatie die haar blokkeerde.",
    },
}

# --- the trace page (/trace/{token}) ---------------------------------------------------------

TRACE: dict[str, dict[str, str]] = {
    "en": {
        "title": "Have you seen these objects?",
        "brand": "Trace an object",
        "appeal_by": "An appeal by {agency} ({country})",
        "language": "Language",
        "ended_title": "This appeal has ended",
        "ended_body": "Thank you to everyone who helped. The pictures are no longer shown.",
        "intro_html": "Police are trying to find out where these everyday objects come from: where they are sold, used or made. They may help to locate a child at risk. The pictures show <strong>only objects</strong>. If you recognise one, tell us where you have seen it — every detail can help, even a shop or a region.",
        "thanks_html": "<strong>Thank you.</strong> Your tip has been passed to the investigators.",
        "object_n": "Object {n}",
        "tip_title": "I have seen one of these",
        "which": "Which object?",
        "not_sure": "Not sure",
        "seen_where": "Where have you seen it?",
        "seen_where_hint": "a shop, a town, a kind of building, a website…",
        "country": "Country",
        "country_hint": "if you know it",
        "country_none": "I don't know",
        "message": "Anything else",
        "optional": "optional",
        "contact": "How can we reach you?",
        "contact_hint": "optional — leave empty to stay anonymous",
        "privacy": "We keep only what you write here. We do not record your address, device or browser, and this page sets no cookie.",
        "send": "Send tip",
        "footer": "If a child is in immediate danger, call your local emergency number.",
        "gone_page_title": "Page not found",
        "gone_title": "There is no appeal at this address",
        "gone_body": "It may have ended, or the address may be mistyped.",
        "field_seen_where": "Where you saw it",
        "field_country": "Country",
        "field_message": "Anything else",
        "field_contact": "Contact",
        "field_image_id": "Object",
    },
    "es": {
        "title": "¿Ha visto estos objetos?",
        "brand": "Rastrear un objeto",
        "appeal_by": "Un llamamiento de {agency} ({country})",
        "language": "Idioma",
        "ended_title": "Este llamamiento ha terminado",
        "ended_body": "Gracias a todas las personas que ayudaron. Las imágenes ya no se muestran.",
        "intro_html": "La policía intenta averiguar de dónde proceden estos objetos cotidianos: dónde se venden, se usan o se fabrican. Pueden ayudar a localizar a un niño o una niña en peligro. Las imágenes muestran <strong>solo objetos</strong>. Si reconoce alguno, díganos dónde lo ha visto: cualquier detalle puede ayudar, incluso una tienda o una región.",
        "thanks_html": "<strong>Gracias.</strong> Su pista se ha transmitido a los investigadores.",
        "object_n": "Objeto {n}",
        "tip_title": "He visto uno de estos objetos",
        "which": "¿Qué objeto?",
        "not_sure": "No estoy seguro",
        "seen_where": "¿Dónde lo ha visto?",
        "seen_where_hint": "una tienda, una ciudad, un tipo de edificio, una web…",
        "country": "País",
        "country_hint": "si lo sabe",
        "country_none": "No lo sé",
        "message": "Algo más",
        "optional": "opcional",
        "contact": "¿Cómo podemos contactar con usted?",
        "contact_hint": "opcional; déjelo vacío para seguir en el anonimato",
        "privacy": "Solo guardamos lo que escriba aquí. No registramos su dirección, su dispositivo ni su navegador, y esta página no usa cookies.",
        "send": "Enviar pista",
        "footer": "Si un niño o una niña está en peligro inmediato, llame al número de emergencias local.",
        "gone_page_title": "Página no encontrada",
        "gone_title": "No hay ningún llamamiento en esta dirección",
        "gone_body": "Puede que haya terminado o que la dirección esté mal escrita.",
        "field_seen_where": "Dónde lo vio",
        "field_country": "País",
        "field_message": "Algo más",
        "field_contact": "Contacto",
        "field_image_id": "Objeto",
    },
    "fr": {
        "title": "Avez-vous vu ces objets ?",
        "brand": "Retrouver un objet",
        "appeal_by": "Un appel de {agency} ({country})",
        "language": "Langue",
        "ended_title": "Cet appel est terminé",
        "ended_body": "Merci à toutes les personnes qui ont aidé. Les images ne sont plus affichées.",
        "intro_html": "La police cherche à savoir d'où viennent ces objets du quotidien : où ils sont vendus, utilisés ou fabriqués. Ils peuvent aider à localiser un enfant en danger. Les images montrent <strong>uniquement des objets</strong>. Si vous en reconnaissez un, dites-nous où vous l'avez vu : chaque détail peut aider, même un magasin ou une région.",
        "thanks_html": "<strong>Merci.</strong> Votre information a été transmise aux enquêteurs.",
        "object_n": "Objet {n}",
        "tip_title": "J'ai vu l'un de ces objets",
        "which": "Quel objet ?",
        "not_sure": "Je ne sais pas",
        "seen_where": "Où l'avez-vous vu ?",
        "seen_where_hint": "un magasin, une ville, un type de bâtiment, un site web…",
        "country": "Pays",
        "country_hint": "si vous le savez",
        "country_none": "Je ne sais pas",
        "message": "Autre chose",
        "optional": "facultatif",
        "contact": "Comment pouvons-nous vous joindre ?",
        "contact_hint": "facultatif ; laissez vide pour rester anonyme",
        "privacy": "Nous ne gardons que ce que vous écrivez ici. Nous n'enregistrons ni votre adresse, ni votre appareil, ni votre navigateur, et cette page ne dépose aucun cookie.",
        "send": "Envoyer l'information",
        "footer": "Si un enfant est en danger immédiat, appelez le numéro d'urgence local.",
        "gone_page_title": "Page introuvable",
        "gone_title": "Il n'y a pas d'appel à cette adresse",
        "gone_body": "Il est peut-être terminé, ou l'adresse est mal saisie.",
        "field_seen_where": "Où vous l'avez vu",
        "field_country": "Pays",
        "field_message": "Autre chose",
        "field_contact": "Contact",
        "field_image_id": "Objet",
    },
    "de": {
        "title": "Haben Sie diese Gegenstände gesehen?",
        "brand": "Einen Gegenstand zuordnen",
        "appeal_by": "Ein Aufruf von {agency} ({country})",
        "language": "Sprache",
        "ended_title": "Dieser Aufruf ist beendet",
        "ended_body": "Vielen Dank an alle, die geholfen haben. Die Bilder werden nicht mehr gezeigt.",
        "intro_html": "Die Polizei versucht herauszufinden, woher diese Alltagsgegenstände stammen: wo sie verkauft, benutzt oder hergestellt werden. Sie können helfen, ein gefährdetes Kind zu finden. Die Bilder zeigen <strong>nur Gegenstände</strong>. Wenn Sie einen wiedererkennen, sagen Sie uns, wo Sie ihn gesehen haben – jedes Detail kann helfen, auch ein Geschäft oder eine Region.",
        "thanks_html": "<strong>Vielen Dank.</strong> Ihr Hinweis wurde an die Ermittler weitergegeben.",
        "object_n": "Gegenstand {n}",
        "tip_title": "Ich habe einen davon gesehen",
        "which": "Welcher Gegenstand?",
        "not_sure": "Nicht sicher",
        "seen_where": "Wo haben Sie ihn gesehen?",
        "seen_where_hint": "ein Geschäft, ein Ort, eine Art Gebäude, eine Website…",
        "country": "Land",
        "country_hint": "falls Sie es wissen",
        "country_none": "Weiß ich nicht",
        "message": "Sonstiges",
        "optional": "freiwillig",
        "contact": "Wie können wir Sie erreichen?",
        "contact_hint": "freiwillig – leer lassen, um anonym zu bleiben",
        "privacy": "Wir speichern nur, was Sie hier schreiben. Wir erfassen weder Ihre Adresse noch Ihr Gerät oder Ihren Browser, und diese Seite setzt kein Cookie.",
        "send": "Hinweis senden",
        "footer": "Wenn ein Kind in akuter Gefahr ist, rufen Sie Ihre örtliche Notrufnummer an.",
        "gone_page_title": "Seite nicht gefunden",
        "gone_title": "Unter dieser Adresse gibt es keinen Aufruf",
        "gone_body": "Er ist vielleicht beendet, oder die Adresse ist falsch geschrieben.",
        "field_seen_where": "Wo Sie ihn gesehen haben",
        "field_country": "Land",
        "field_message": "Sonstiges",
        "field_contact": "Kontakt",
        "field_image_id": "Gegenstand",
    },
    "nl": {
        "title": "Hebt u deze voorwerpen gezien?",
        "brand": "Een voorwerp herkennen",
        "appeal_by": "Een oproep van {agency} ({country})",
        "language": "Taal",
        "ended_title": "Deze oproep is beëindigd",
        "ended_body": "Dank aan iedereen die heeft geholpen. De afbeeldingen worden niet meer getoond.",
        "intro_html": "De politie probeert te achterhalen waar deze alledaagse voorwerpen vandaan komen: waar ze worden verkocht, gebruikt of gemaakt. Ze kunnen helpen een kind in gevaar te vinden. De afbeeldingen tonen <strong>alleen voorwerpen</strong>. Herkent u er een, vertel ons dan waar u het hebt gezien — elk detail kan helpen, zelfs een winkel of een regio.",
        "thanks_html": "<strong>Dank u.</strong> Uw tip is doorgegeven aan de rechercheurs.",
        "object_n": "Voorwerp {n}",
        "tip_title": "Ik heb een van deze voorwerpen gezien",
        "which": "Welk voorwerp?",
        "not_sure": "Weet ik niet zeker",
        "seen_where": "Waar hebt u het gezien?",
        "seen_where_hint": "een winkel, een plaats, een soort gebouw, een website…",
        "country": "Land",
        "country_hint": "als u het weet",
        "country_none": "Weet ik niet",
        "message": "Verder nog iets",
        "optional": "optioneel",
        "contact": "Hoe kunnen we u bereiken?",
        "contact_hint": "optioneel — laat leeg om anoniem te blijven",
        "privacy": "We bewaren alleen wat u hier schrijft. We registreren uw adres, apparaat of browser niet, en deze pagina plaatst geen cookie.",
        "send": "Tip versturen",
        "footer": "Is een kind in acuut gevaar? Bel dan uw lokale alarmnummer.",
        "gone_page_title": "Pagina niet gevonden",
        "gone_title": "Op dit adres staat geen oproep",
        "gone_body": "De oproep is misschien beëindigd, of het adres is verkeerd getypt.",
        "field_seen_where": "Waar u het zag",
        "field_country": "Land",
        "field_message": "Verder nog iets",
        "field_contact": "Contact",
        "field_image_id": "Voorwerp",
    },
}

# --- error pages of the public addresses (/report, /blocked, /trace and under them) -----------

ERROR: dict[str, dict[str, str]] = {
    "en": {
        "code": "Error {status}",
        "title_404": "Page not found",
        "body_404": "There is nothing at this address. It may be mistyped, or the page may have ended.",
        "title_405": "This page cannot do that",
        "body_405": "This address does not take this kind of request. Open the page from its link and use its form.",
        "title_413": "Too much to send",
        "body_413": "What you sent is longer than this page accepts. Shorten it and send it again.",
        "title_415": "Not a form of this site",
        "body_415": "What was sent is not a form of this site. Open the page again and use its form.",
        "title_422": "Something in the form was not right",
        "body_422": "A field was missing or had a value this page does not accept. Go back and check the form.",
        "title_429": "Too many requests",
        "body_429": "Too many requests came from your connection. Please wait a few minutes and try again.",
        "title_500": "Something went wrong on our side",
        "body_500": "Your request could not be completed. Nothing is wrong with what you did; please try again later.",
        "title_503": "Please try again shortly",
        "body_503": "The service is busy or briefly unavailable. Please try again in a minute.",
        "title_other": "Request refused",
        "body_other": "This request could not be completed. Go back and try again.",
        "report_link": "Report online child sexual abuse",
        "footer": "If a child is in immediate danger, call your local emergency number.",
    },
    "es": {
        "code": "Error {status}",
        "title_404": "Página no encontrada",
        "body_404": "No hay nada en esta dirección. Puede que esté mal escrita o que la página ya no exista.",
        "title_405": "Esta página no puede hacer eso",
        "body_405": "Esta dirección no acepta este tipo de solicitud. Abra la página desde su enlace y use su formulario.",
        "title_413": "Demasiado para enviar",
        "body_413": "Lo que envió es más largo de lo que esta página acepta. Acórtelo y vuelva a enviarlo.",
        "title_415": "No es un formulario de este sitio",
        "body_415": "Lo enviado no es un formulario de este sitio. Vuelva a abrir la página y use su formulario.",
        "title_422": "Algo en el formulario no era correcto",
        "body_422": "Faltaba un campo o tenía un valor que esta página no acepta. Vuelva atrás y revise el formulario.",
        "title_429": "Demasiadas solicitudes",
        "body_429": "Llegaron demasiadas solicitudes desde su conexión. Espere unos minutos y vuelva a intentarlo.",
        "title_500": "Algo ha fallado por nuestra parte",
        "body_500": "No se pudo completar su solicitud. Usted no ha hecho nada mal; vuelva a intentarlo más tarde.",
        "title_503": "Vuelva a intentarlo en breve",
        "body_503": "El servicio está ocupado o no disponible por un momento. Vuelva a intentarlo en un minuto.",
        "title_other": "Solicitud rechazada",
        "body_other": "No se pudo completar esta solicitud. Vuelva atrás e inténtelo de nuevo.",
        "report_link": "Denunciar el abuso sexual infantil en internet",
        "footer": "Si un niño o una niña está en peligro inmediato, llame al número de emergencias local.",
    },
    "fr": {
        "code": "Erreur {status}",
        "title_404": "Page introuvable",
        "body_404": "Il n'y a rien à cette adresse. Elle est peut-être mal saisie, ou la page n'existe plus.",
        "title_405": "Cette page ne peut pas faire cela",
        "body_405": "Cette adresse n'accepte pas ce type de demande. Ouvrez la page depuis son lien et utilisez son formulaire.",
        "title_413": "Trop de contenu à envoyer",
        "body_413": "Ce que vous avez envoyé dépasse ce que cette page accepte. Raccourcissez-le et envoyez-le à nouveau.",
        "title_415": "Pas un formulaire de ce site",
        "body_415": "Ce qui a été envoyé n'est pas un formulaire de ce site. Rouvrez la page et utilisez son formulaire.",
        "title_422": "Quelque chose n'allait pas dans le formulaire",
        "body_422": "Un champ manquait ou avait une valeur que cette page n'accepte pas. Revenez en arrière et vérifiez le formulaire.",
        "title_429": "Trop de demandes",
        "body_429": "Trop de demandes sont venues de votre connexion. Patientez quelques minutes et réessayez.",
        "title_500": "Un problème est survenu de notre côté",
        "body_500": "Votre demande n'a pas pu aboutir. Vous n'avez rien fait de mal ; réessayez plus tard.",
        "title_503": "Réessayez dans un instant",
        "body_503": "Le service est occupé ou brièvement indisponible. Réessayez dans une minute.",
        "title_other": "Demande refusée",
        "body_other": "Cette demande n'a pas pu aboutir. Revenez en arrière et réessayez.",
        "report_link": "Signaler des abus sexuels sur des enfants en ligne",
        "footer": "Si un enfant est en danger immédiat, appelez le numéro d'urgence local.",
    },
    "de": {
        "code": "Fehler {status}",
        "title_404": "Seite nicht gefunden",
        "body_404": "Unter dieser Adresse gibt es nichts. Sie ist vielleicht falsch geschrieben, oder die Seite gibt es nicht mehr.",
        "title_405": "Das kann diese Seite nicht",
        "body_405": "Diese Adresse nimmt diese Art von Anfrage nicht an. Öffnen Sie die Seite über ihren Link und nutzen Sie ihr Formular.",
        "title_413": "Zu viel zum Senden",
        "body_413": "Was Sie gesendet haben, ist länger, als diese Seite annimmt. Kürzen Sie es und senden Sie es erneut.",
        "title_415": "Kein Formular dieser Seite",
        "body_415": "Was gesendet wurde, ist kein Formular dieser Website. Öffnen Sie die Seite erneut und nutzen Sie ihr Formular.",
        "title_422": "Im Formular stimmte etwas nicht",
        "body_422": "Ein Feld fehlte oder hatte einen Wert, den diese Seite nicht annimmt. Gehen Sie zurück und prüfen Sie das Formular.",
        "title_429": "Zu viele Anfragen",
        "body_429": "Von Ihrer Verbindung kamen zu viele Anfragen. Bitte warten Sie einige Minuten und versuchen Sie es erneut.",
        "title_500": "Bei uns ist etwas schiefgegangen",
        "body_500": "Ihre Anfrage konnte nicht ausgeführt werden. Sie haben nichts falsch gemacht; bitte versuchen Sie es später erneut.",
        "title_503": "Bitte versuchen Sie es gleich noch einmal",
        "body_503": "Der Dienst ist ausgelastet oder kurz nicht erreichbar. Bitte versuchen Sie es in einer Minute erneut.",
        "title_other": "Anfrage abgelehnt",
        "body_other": "Diese Anfrage konnte nicht ausgeführt werden. Gehen Sie zurück und versuchen Sie es erneut.",
        "report_link": "Sexuellen Missbrauch von Kindern im Internet melden",
        "footer": "Wenn ein Kind in unmittelbarer Gefahr ist, rufen Sie die örtliche Notrufnummer an.",
    },
    "nl": {
        "code": "Fout {status}",
        "title_404": "Pagina niet gevonden",
        "body_404": "Op dit adres staat niets. Het is misschien verkeerd getypt, of de pagina bestaat niet meer.",
        "title_405": "Dat kan deze pagina niet",
        "body_405": "Dit adres neemt dit soort verzoek niet aan. Open de pagina via haar link en gebruik haar formulier.",
        "title_413": "Te veel om te versturen",
        "body_413": "Wat u verstuurde is langer dan deze pagina aanneemt. Maak het korter en verstuur het opnieuw.",
        "title_415": "Geen formulier van deze site",
        "body_415": "Wat verstuurd is, is geen formulier van deze site. Open de pagina opnieuw en gebruik haar formulier.",
        "title_422": "Er klopte iets niet in het formulier",
        "body_422": "Er ontbrak een veld of een veld had een waarde die deze pagina niet aanneemt. Ga terug en controleer het formulier.",
        "title_429": "Te veel verzoeken",
        "body_429": "Er kwamen te veel verzoeken van uw verbinding. Wacht een paar minuten en probeer het opnieuw.",
        "title_500": "Er ging bij ons iets mis",
        "body_500": "Uw verzoek kon niet worden afgerond. U hebt niets verkeerd gedaan; probeer het later opnieuw.",
        "title_503": "Probeer het zo opnieuw",
        "body_503": "De dienst is druk of even niet bereikbaar. Probeer het over een minuut opnieuw.",
        "title_other": "Verzoek geweigerd",
        "body_other": "Dit verzoek kon niet worden afgerond. Ga terug en probeer het opnieuw.",
        "report_link": "Online seksueel misbruik van kinderen melden",
        "footer": "Is een kind in direct gevaar? Bel het lokale alarmnummer.",
    },
}

CATALOGUES: dict[Page, dict[str, dict[str, str]]] = {
    "report": REPORT,
    "warning": WARNING,
    "trace": TRACE,
    "error": ERROR,
    "observatory": OBSERVATORY,  # /observatory (web/observatory_words.py)
}


def languages(page: Page) -> list[tuple[str, str]]:
    """The languages a page is written in, as (code, name) for its language links."""
    return [(code, LANGUAGE_NAMES[code]) for code in CATALOGUES[page]]


def _preferred(accept_language: str | None) -> list[str]:
    """The primary language codes of an Accept-Language header, most preferred first (a
    stable sort by q, so equal weights keep the browser's order; q=0 means "not this")."""
    weighted: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.partition(";")
        code = tag.strip().replace("_", "-").split("-")[0].lower()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if code and quality > 0:
            weighted.append((quality, code))
    return [code for _, code in sorted(weighted, key=lambda pair: -pair[0])]


def choose(page: Page, requested: str | None, accept_language: str | None = None) -> str:
    """A page's language: the one asked for, else the browser's most preferred one the page
    has, else English."""
    offered = CATALOGUES[page]
    if requested and requested.strip().lower() in offered:
        return requested.strip().lower()
    for code in _preferred(accept_language):
        if code in offered:
            return code
    return ENGLISH


def texts(page: Page, language: str) -> dict[str, str]:
    """A page's words in a language, with English for any key not yet translated."""
    catalogue = CATALOGUES[page]
    return {**catalogue[ENGLISH], **catalogue.get(language, {})}


def region(accept_language: str | None) -> str | None:
    """The region of the browser's first language tag (es-MX → MX), a default for the country."""
    first = (accept_language or "").split(",")[0].split(";")[0].strip()
    parts = first.replace("_", "-").split("-")
    if len(parts) >= 2 and len(parts[-1]) == 2 and parts[-1].isalpha():
        return parts[-1].upper()
    return None
