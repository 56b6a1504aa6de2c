"""Administration of the accounts: an admin-only page and its REST twin.

Every change ends the user's sessions and API tokens at once (the library does it, in the same
transaction as its audit row); the last administrator can be neither removed nor demoted
(HTTP 409). The page's forms carry the session's CSRF token like every other write.
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from territoria.accounts import (
    ROLES,
    Account,
    Revocation,
    User,
    add_user,
    generate_password,
    list_accounts,
    remove_user,
    revoke_access,
    set_password,
    set_role,
)
from territoria.api._deps import Cursor, Lang, State, require
from territoria.api._i18n import Translator
from territoria.api._render import render
from territoria.errors import InvalidAccount, LastAdmin, TerritoriaError, UnknownUser, UserExists

router = APIRouter(dependencies=[Depends(require("admin"))])
Admin = Annotated[User, Depends(require("admin"))]

PAGE: Final = "/admin/comptes"
NamePath = Annotated[
    str, PathParam(description="User name.", max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
]
RoleName = Annotated[str, Field(pattern="^(admin|analyst|viewer)$")]

#: What the page says after each change (``?fait=``).
NOTICES: Final = {
    "ajout": "Compte {name} créé.",
    "role": "Rôle de {name} changé : ses sessions et jetons d'API sont révoqués.",
    "revocation": "Sessions et jetons d'API de {name} révoqués.",
    "suppression": "Compte {name} supprimé.",
}


# ---------------------------------------------------------------------------- REST


class AccountOut(BaseModel):
    """An account as administrators see it."""

    name: str
    role: str
    created_at: str | None = Field(description="When the account was created (UTC).")
    last_sign_in_at: str | None = Field(description="Last sign-in through the web (UTC).")
    sessions: int = Field(description="Open browser sessions.")
    tokens: int = Field(description="API tokens.")


class RevocationOut(BaseModel):
    """What a change ended."""

    name: str
    sessions: int = Field(description="Browser sessions ended.")
    tokens: int = Field(description="API tokens revoked.")


class RoleIn(BaseModel):
    """A new role."""

    role: RoleName


def _revocation(ended: Revocation) -> RevocationOut:
    return RevocationOut(name=ended.name, sessions=ended.sessions, tokens=ended.tokens)


@router.get(
    "/api/v1/admin/users",
    response_model=list[AccountOut],
    tags=["admin"],
    summary="Accounts, their roles and last sign-ins",
)
def api_accounts(cur: Cursor) -> list[AccountOut]:
    """Return every account with its role, last sign-in, open sessions and API tokens."""
    return [AccountOut(**account.to_dict()) for account in list_accounts(cur)]


@router.put(
    "/api/v1/admin/users/{name}/role",
    response_model=RevocationOut,
    tags=["admin"],
    summary="Change a role (ends the user's sessions and tokens)",
    responses={409: {"description": "The last administrator cannot be demoted."}},
)
def api_set_role(state: State, admin: Admin, name: NamePath, body: RoleIn) -> RevocationOut:
    """Change the role of ``name``; its sessions end and its API tokens are revoked."""
    with state.db.writer(actor=f"web:{admin.name}") as cur:
        return _revocation(set_role(cur, name, body.role))


@router.post(
    "/api/v1/admin/users/{name}/revoke",
    response_model=RevocationOut,
    tags=["admin"],
    summary="End a user's sessions and revoke its API tokens",
)
def api_revoke(state: State, admin: Admin, name: NamePath) -> RevocationOut:
    """End every open session of ``name`` and revoke its API tokens (the password stays)."""
    with state.db.writer(actor=f"web:{admin.name}") as cur:
        return _revocation(revoke_access(cur, name))


@router.delete(
    "/api/v1/admin/users/{name}",
    response_model=RevocationOut,
    tags=["admin"],
    summary="Remove an account",
    responses={409: {"description": "The last administrator cannot be removed."}},
)
def api_remove(state: State, admin: Admin, name: NamePath) -> RevocationOut:
    """Delete ``name`` with its sessions and API tokens."""
    with state.db.writer(actor=f"web:{admin.name}") as cur:
        return _revocation(remove_user(cur, name))


# ---------------------------------------------------------------------------- page


def _error_message(tr: Translator, exc: TerritoriaError, name: str) -> str:
    if isinstance(exc, LastAdmin):
        return tr.gettext(
            "Impossible : {name} est le dernier compte administrateur. Donnez d'abord ce rôle "
            "à un autre compte.",
            name=name,
        )
    if isinstance(exc, UserExists):
        return tr.gettext("Le compte {name} existe déjà.", name=name)
    if isinstance(exc, UnknownUser):
        return tr.gettext("Le compte {name} n'existe pas (ou plus).", name=name)
    if isinstance(exc, InvalidAccount) and "user name" in str(exc):
        return tr.gettext(
            "Nom d'utilisateur invalide : de 1 à 64 lettres, chiffres, « . », « _ », « @ » ou "
            "« - », en commençant par une lettre ou un chiffre."
        )
    return str(exc)


def _page(
    request: Request,
    cur: Any,
    tr: Translator,
    *,
    notice: str | None = None,
    error: str | None = None,
    password: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    accounts: list[Account] = list_accounts(cur)
    context = {
        "accounts": accounts,
        "admins": sum(1 for a in accounts if a.user.role == "admin"),
        "roles": ROLES,
        "notice": notice,
        "error": error,
        "password": password,
    }
    return render(request, "admin.html", context, tr=tr, status_code=status)


def _done(what: str, name: str) -> Response:
    query = urlencode({"fait": what, "compte": name})
    return RedirectResponse(f"{PAGE}?{query}", status_code=303)


@router.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
def accounts_page(
    request: Request,
    tr: Lang,
    cur: Cursor,
    fait: Annotated[str | None, Query(max_length=20)] = None,
    compte: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The accounts: role, last sign-in, open sessions and tokens, and what to change."""
    notice = None
    if fait in NOTICES and compte:
        notice = tr.gettext(NOTICES[fait], name=compte)
    return _page(request, cur, tr, notice=notice)


@router.post(PAGE, response_class=HTMLResponse, include_in_schema=False)
def add_account(
    request: Request,
    state: State,
    tr: Lang,
    admin: Admin,
    name: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(pattern="^(admin|analyst|viewer)$")] = "viewer",
) -> Response:
    """Create an account with a generated password, shown once."""
    password = generate_password()
    try:
        with state.db.writer(actor=f"web:{admin.name}") as cur:
            add_user(cur, name, role=role, password=password)
    except TerritoriaError as exc:
        return _failed(request, state, tr, exc, name)
    with state.db.reader() as cur:
        notice = tr.gettext(NOTICES["ajout"], name=name)
        return _page(request, cur, tr, notice=notice, password={"name": name, "value": password})


def _failed(
    request: Request, state: Any, tr: Translator, exc: TerritoriaError, name: str
) -> Response:
    with state.db.reader() as cur:
        return _page(request, cur, tr, error=_error_message(tr, exc, name), status=exc.http_status)


@router.post(f"{PAGE}/{{name}}/role", response_class=HTMLResponse, include_in_schema=False)
def change_role(
    request: Request,
    state: State,
    tr: Lang,
    admin: Admin,
    name: NamePath,
    role: Annotated[str, Form(pattern="^(admin|analyst|viewer)$")],
) -> Response:
    """Change a role; the user's sessions and tokens end."""
    try:
        with state.db.writer(actor=f"web:{admin.name}") as cur:
            set_role(cur, name, role)
    except TerritoriaError as exc:
        return _failed(request, state, tr, exc, name)
    return _done("role", name)


@router.post(f"{PAGE}/{{name}}/mot-de-passe", response_class=HTMLResponse, include_in_schema=False)
def reset_password(
    request: Request, state: State, tr: Lang, admin: Admin, name: NamePath
) -> Response:
    """Give the user a generated password, shown once; its sessions and tokens end."""
    password = generate_password()
    try:
        with state.db.writer(actor=f"web:{admin.name}") as cur:
            set_password(cur, name, password)
    except TerritoriaError as exc:
        return _failed(request, state, tr, exc, name)
    with state.db.reader() as cur:
        notice = tr.gettext(
            "Mot de passe de {name} réinitialisé : ses sessions et jetons d'API sont révoqués.",
            name=name,
        )
        return _page(request, cur, tr, notice=notice, password={"name": name, "value": password})


@router.post(f"{PAGE}/{{name}}/revocation", response_class=HTMLResponse, include_in_schema=False)
def revoke(request: Request, state: State, tr: Lang, admin: Admin, name: NamePath) -> Response:
    """End the user's sessions and revoke its API tokens."""
    try:
        with state.db.writer(actor=f"web:{admin.name}") as cur:
            revoke_access(cur, name)
    except TerritoriaError as exc:
        return _failed(request, state, tr, exc, name)
    return _done("revocation", name)


@router.post(f"{PAGE}/{{name}}/suppression", response_class=HTMLResponse, include_in_schema=False)
def remove(
    request: Request,
    state: State,
    tr: Lang,
    admin: Admin,
    name: NamePath,
    confirm: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Remove the account, once its name is typed again to confirm."""
    if confirm != name:
        error = tr.gettext("Pour supprimer {name}, recopiez son nom dans la case.", name=name)
        with state.db.reader() as cur:
            return _page(request, cur, tr, error=error, status=422)
    try:
        with state.db.writer(actor=f"web:{admin.name}") as cur:
            remove_user(cur, name)
    except TerritoriaError as exc:
        return _failed(request, state, tr, exc, name)
    return _done("suppression", name)
