"""Rendering of HTML pages with what every page needs (user, CSRF token, language)."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from territoria.api._i18n import LANGUAGES, Translator, translator
from territoria.api._security import LANGUAGE_COOKIE

__all__ = ["JS_MESSAGES", "LEVEL_KEYS", "language_urls", "render", "request_translator"]

#: Levels whose display names the page scripts get (``T.level``).
LEVEL_KEYS: Final = (
    "region", "departement", "epci", "commune", "canton", "circonscription",
    "arrondissement_municipal", "commune_deleguee", "commune_associee",
)  # fmt: skip

#: Messages the page scripts need, translated once per page.
JS_MESSAGES: Final = [
    "Aucun résultat",
    "Chargement…",
    "Pas de donnée",
    "habitants",
    "Erreur",
    "En attente",
    "En cours",
    "Terminé",
    "Échec",
    "Gain marginal",
    "Robustesse",
    "Cibles",
    "Acteurs choisis",
    "territoires",
    "Cliquer pour ouvrir la fiche",
    "Supprimer",
    # economic fabric and poles
    "données synthétiques",
    "Pôles",
    "Pôle fort",
    "Pôle significatif",
    "Pôle émergent",
    "Pôle mineur",
    "émergent",
    "établissements",
    "emplois",
    "Cliquer pour ouvrir la fiche du pôle",
    "Aucun pôle détecté",
    "Tirets : pôle émergent (croît plus vite que ses secteurs en France)",
    "Aucun établissement dans ce territoire",
    "Établissements actifs",
    "Emploi salarié estimé",
    "Emploi estimé",
    "Indice de Krugman",
    "0 : même structure que la France",
    "Gini de spécialisation",
    "Part des secteurs exportateurs",
    "secteurs concentrés (traded)",
    "Spécialisation : quotients de localisation (divisions NAF)",
    "Emploi salarié estimé par section NAF",
    "Quotient de localisation",
    "Évolution de l'emploi estimé (analyse structurelle-résiduelle)",
    "effet national",
    "effet structurel",
    "effet local",
    "Source",
    "source inconnue",
    "entreprise",
    "enseignement supérieur",
    "centre de recherche",
    "association",
    # people directory
    "Territoires",
    "Personnes",
    "Retirer",
    "poids",
]


def request_translator(request: Request, default: str) -> Translator:
    """Return the translator for ``?lang=``, then the language cookie, then ``default``."""
    lang = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    return translator(lang if lang in LANGUAGES else default)


def language_urls(request: Request) -> dict[str, str]:
    """The address of this page in each language: its path and query, ``lang`` replaced."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return {
        language: request.url.path + "?" + urlencode([*kept, ("lang", language)])
        for language in LANGUAGES
    }


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    tr: Translator | None = None,
    status_code: int = 200,
) -> Response:
    """Render ``template`` with the page basics and ``context``."""
    state = request.app.state.territoria
    tr = tr or request_translator(request, state.settings.language)
    base = {
        "user": getattr(request.state, "user", None),
        "csrf": getattr(request.state, "csrf", None),
        "tr": tr,
        "_": tr.gettext,
        "lang": tr.language,
        "js_messages": {
            **tr.messages_for_js(list(JS_MESSAGES)),
            # level names for the scripts: T.level("region") is "Région"
            **{f"level:{key}": tr.label(key) for key in LEVEL_KEYS},
        },
        "path": request.url.path,
        "language_urls": language_urls(request),
    }
    response: Response = state.templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )
    return response
