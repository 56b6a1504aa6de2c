"""REST routes of the influence planner (background plans) and of the actions log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, status
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field, model_validator

from territoria.accounts import User
from territoria.api import _data
from territoria.api._deps import AppState, Cursor, State, field, require
from territoria.api._models import ThemeOut
from territoria.influence import actions as action_log
from territoria.influence import agora_report
from territoria.influence._validate import check_plan_request
from territoria.influence.candidates import candidates_for
from territoria.influence.decision import themes as decision_themes
from territoria.influence.dossiers import stances_of
from territoria.influence.planner import plan_project
from territoria.influence.poles import (
    pole_actor_rows,
    pole_actors_registered,
    register_pole_actors,
)
from territoria.kb.jobs import Progress, Work

router = APIRouter(prefix="/api/v1", tags=["influence"], dependencies=[Depends(require("read"))])

ACTIONS = "territoria.influence.actions"


class Target(BaseModel):
    """A decision-maker to reach, with its weight."""

    id: str = Field(min_length=1, max_length=200, description="Node id (person or organisation).")
    weight: float = Field(default=1.0, gt=0, le=1000)


class PlanRequest(BaseModel):
    """What a plan needs: a territory and a theme (or explicit targets), k or a budget."""

    code: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z-]+$")
    level: str | None = Field(default=None, max_length=40)
    theme: str | None = Field(default=None, max_length=80)
    targets: list[Target] | None = Field(default=None, max_length=500)
    k: int | None = Field(default=None, ge=1, le=200)
    budget: float | None = Field(default=None, gt=0)
    epsilon: float = Field(default=0.1, gt=0, lt=1)
    seed: int | None = Field(default=None, ge=0)
    model: Literal["ic", "lt"] = Field(
        default="ic", description="Diffusion model: independent cascade or linear threshold."
    )
    min_rr_sets: int = Field(
        default=10_000,
        ge=0,
        le=1_000_000,
        description="RR sets per collection to start from (more: a less noisy choice).",
    )
    candidates: str | None = Field(
        default=None,
        max_length=210,
        pattern=r"^(all|network|officials|pole:[^/]+-[0-9A-Za-z]{5})$",
        description="Who may be engaged: all (default), network (the actors we met), "
        "officials (of the territory's councils and its parliamentarians) or pole:ID (the "
        "firms and knowledge actors of a pole of GET /api/v1/poles, also ranked as "
        "co-signers).",
    )
    co_signers: str | None = Field(
        default=None,
        max_length=210,
        pattern=r"^pole:[^/]+-[0-9A-Za-z]{5}$",
        description="pole:ID: rank that pole's firms and knowledge actors as co-signers.",
    )

    @model_validator(mode="after")
    def _theme_or_targets(self) -> PlanRequest:
        if not self.theme and not self.targets:
            raise ValueError("give a theme or explicit targets")
        if self.k is None and self.budget is None:
            raise ValueError("give k (number of actors) or a budget")
        return self


class JobOut(BaseModel):
    """A background job: its status, progress and, once done, its result."""

    id: str
    kind: str
    owner: str
    params: dict[str, Any]
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: float | None = None
    step: str = ""
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    error: dict[str, Any] | None = None
    result: Any = None


class ActionIn(BaseModel):
    """One lobbying action to log (the content of the HATVP register)."""

    date: dt.date
    type: str = Field(
        min_length=1,
        max_length=40,
        description="The register's type of action: meeting, third_party_meeting, event, "
        "correspondence, petition, public_campaign, hearing, information, drafting, other "
        "(call, email, letter, consultation are recorded as the closest of these).",
    )
    subject: str = Field(min_length=1, max_length=500)
    actors: list[str] = Field(
        default_factory=list, max_length=100, description="Ids of the actors met (p-…)."
    )
    policy_areas: list[str] = Field(default_factory=list, max_length=20)
    decision_type: str = Field(
        default="other",
        max_length=40,
        description="The register's type of decision: law, ordinance, regulatory, individual, "
        "public_procurement, concession, state_property_sale, long_lease, "
        "public_domain_occupation, sem, other.",
    )
    decision_targeted: str = Field(default="", max_length=500)
    hours: float = Field(default=0.0, ge=0, le=10_000)
    cost_eur: float = Field(default=0.0, ge=0, le=1e12)
    outcome: str = Field(default="unknown", max_length=40)
    notes: str = Field(default="", max_length=5000)
    client: str | None = Field(
        default=None, max_length=300, description="The tiers for whom it was done, if not us."
    )
    type_detail: str = Field(
        default="", max_length=300, description="Own words for the type (required for other)."
    )


@router.get(
    "/influence/themes", summary="Themes of the decision map", response_model=list[ThemeOut]
)
def themes() -> list[ThemeOut]:
    """Return the themes a plan can be about (stable ids), their competent levels and legal
    basis."""
    return [ThemeOut.of(t) for t in decision_themes()]


@router.post(
    "/influence/plans",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start an influence plan (a persisted background job)",
    response_model=JobOut,
)
def start_plan(
    body: PlanRequest, state: State, user: Annotated[User, Depends(require("plan"))]
) -> dict[str, Any]:
    """Validate and queue the plan; poll ``GET /influence/plans/{id}`` for the result.

    An unknown theme, territory or pole is refused at once (422, or 404 for a pole), and each
    user may have a few unfinished plans at once (429 beyond).
    """
    params = body.model_dump(exclude_none=True)
    with state.db.reader() as cur:
        check_plan_request(
            cur,
            code=body.code,
            level=body.level,
            theme=body.theme,
            targets=[t.id for t in body.targets or ()],
        )
        for name in ("candidates", "co_signers"):  # an unknown pole is a 404 now
            value = params.get(name)
            if value and value.startswith("pole:"):
                with field(name):
                    _data.pole(state.cache, cur, value.removeprefix("pole:"))
    return state.jobs.submit("plan", user.name, params).to_dict()


def plan_work(state: AppState) -> Work:
    """Return the work of a plan job, rebuilt from its persisted parameters."""

    def work(params: dict[str, Any], progress: Progress) -> Any:
        body = PlanRequest.model_validate(params)
        targets = {t.id: t.weight for t in body.targets} if body.targets else None
        actors: dict[str, list[str]] = {}
        for name in ("candidates", "co_signers"):
            value = params.get(name)
            if value and value.startswith("pole:"):
                with state.db.reader() as cur:
                    pole = _data.pole(state.cache, cur, value.removeprefix("pole:"))
                actors[name] = _pole_actors(state, pole)
        candidates: Sequence[str] | None = actors.get("candidates")
        with state.db.reader() as cur:
            if body.candidates in ("network", "officials"):
                candidates = candidates_for(cur, body.candidates, code=body.code, level=body.level)
            return plan_project(
                cur,
                bundle=state.graphs.load(cur),
                code=body.code,
                level=body.level,
                theme=body.theme,
                k=body.k,
                budget=body.budget,
                targets=targets,
                candidates=candidates,
                co_signers=actors.get("co_signers", actors.get("candidates")),
                epsilon=body.epsilon,
                seed=body.seed,
                stances=stances_of(params),  # a dossier's plan version
                model=body.model,
                min_rr_sets=body.min_rr_sets,
                progress=progress,
            )

    return work


def _pole_actors(state: AppState, pole: dict[str, Any]) -> list[str]:
    """Register a pole's actors in the influence graph (a write only when they changed)."""
    with state.db.reader() as cur:
        if pole_actors_registered(cur, pole):
            return [str(a["id"]) for a in pole_actor_rows(cur, pole)]
    with state.db.writer() as cur:
        return list(register_pole_actors(cur, pole).actors)


PlanId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]


@router.get("/influence/plans", summary="Recent plans", response_model=list[JobOut])
def plans(state: State) -> list[dict[str, Any]]:
    """Return the latest plans, also those of before the last restart, newest first
    (without their results)."""
    return [j.to_dict(with_result=False) for j in state.jobs.list("plan")]


@router.get(
    "/influence/plans/{plan_id}", summary="A plan's progress and result", response_model=JobOut
)
def plan(state: State, plan_id: PlanId) -> dict[str, Any]:
    """Return the job's status, progress and, once done, the plan."""
    return state.jobs.get(plan_id).to_dict()


@router.delete(
    "/influence/plans/{plan_id}", summary="Cancel a queued or running plan", response_model=JobOut
)
def cancel_plan(
    state: State, plan_id: PlanId, user: Annotated[User, Depends(require("plan"))]
) -> dict[str, Any]:
    """Cancel the plan (its owner or an admin); a finished plan is returned unchanged."""
    job = state.jobs.cancel(plan_id, by=user.name, admin=user.can("admin"))
    return job.to_dict(with_result=False)


class ActionOut(BaseModel):
    """One logged action, with who logged it (and who deleted it, in the bin)."""

    id: int
    date: dt.date
    type: str
    subject: str
    policy_areas: list[str]
    decision_type: str
    decision_targeted: str
    official_categories: list[str]
    hours: float
    cost_eur: float
    outcome: str
    notes: str
    created_by: str = Field(description="Who logged it: only she or an admin may delete it.")
    created_at: dt.datetime | None
    actors: list[str]
    deleted_at: dt.datetime | None = None
    deleted_by: str | None = None
    actor_names: list[str] = Field(
        default_factory=list, description="The actors' names, in the order of `actors`."
    )
    type_label: str = Field(default="", description="The register's label of `type`.")
    decision_type_label: str = Field(default="", description="The register's label.")
    type_detail: str = ""
    type_original: str | None = Field(
        default=None, description="The type as logged before the register's vocabulary."
    )
    decision_type_original: str | None = None
    client: str | None = Field(default=None, description="The tiers it was done for.")


class ClientIO(BaseModel):
    """A client (tiers) of the exercise."""

    name: str = Field(min_length=1, max_length=300)
    identifier: str | None = Field(default=None, max_length=40, description="SIREN or other.")


class ExerciseIn(BaseModel):
    """Figures of an exercise of the register; fields left out keep their recorded value."""

    start: dt.date | None = None
    end: dt.date | None = None
    spend: float | str | None = Field(
        default=None, description="Euros spent, or the register's bracket label."
    )
    staff: int | None = Field(default=None, ge=0, le=1_000_000)
    fte: float | None = Field(default=None, ge=0, le=1_000_000)
    turnover: float | str | None = Field(default=None, description="Euros, or a bracket label.")
    clients: list[ClientIO] | None = Field(default=None, max_length=1000)


class ExerciseOut(BaseModel):
    """The figures of an exercise of the register (defaults when nothing was recorded)."""

    year: int
    start: dt.date
    end: dt.date
    spend_eur: float | None
    spend_bracket: str | None
    staff: int | None
    fte: float | None
    turnover_bracket: str | None
    clients: list[ClientIO]
    declared: bool


class ActionCreated(BaseModel):
    """The id of a newly logged action."""

    id: int


ActionId = Annotated[int, PathParam(ge=1, le=2**53, description="Id of the action.")]


@router.get("/actions", summary="Logged actions", response_model=list[ActionOut])
def actions(
    cur: Cursor,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    deleted: Annotated[
        bool, Query(description="List the deleted actions (to restore one) instead.")
    ] = False,
) -> list[action_log.Action]:
    """Return the logged lobbying actions (of one year if given), newest first."""
    return action_log.list_actions(cur, year=year, deleted=deleted)


@router.post(
    "/actions",
    status_code=status.HTTP_201_CREATED,
    summary="Log an action",
    response_model=ActionCreated,
)
def add_action(
    body: ActionIn, state: State, user: Annotated[User, Depends(require("act"))]
) -> ActionCreated:
    """Record an action (meeting, letter ...) with the actors met and its cost; the signed-in
    user is its author."""
    fields = body.model_dump()
    fields["when"] = fields.pop("date")
    with state.db.writer(actor=f"web:{user.name}") as cur:
        action_id = action_log.add_action(cur, **fields, created_by=user.name)
    return ActionCreated(id=action_id)


@router.delete(
    "/actions/{action_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an action"
)
def delete_action(
    action_id: ActionId, state: State, user: Annotated[User, Depends(require("act"))]
) -> Response:
    """Delete a logged action (its author or an admin; 403 otherwise). The deletion is soft:
    ``POST /actions/{id}/restore`` undoes it."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        action_log.delete_action(cur, action_id, user=user.name, admin=user.can("admin"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/actions/{action_id}/restore", summary="Restore a deleted action", response_model=ActionOut
)
def restore_action(
    action_id: ActionId, state: State, user: Annotated[User, Depends(require("act"))]
) -> action_log.Action:
    """Undo the deletion of an action (its author or an admin; 403 otherwise)."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        return action_log.restore_action(cur, action_id, user=user.name, admin=user.can("admin"))


Year = Annotated[int, PathParam(ge=1990, le=2100, description="Year the exercise ends in.")]


@router.get(
    "/actions/exercises/{year}",
    summary="Figures of a register exercise",
    response_model=ExerciseOut,
)
def exercise(cur: Cursor, year: Year) -> ExerciseOut:
    """Return the exercise's dates, spend, staff, turnover and clients."""
    return ExerciseOut.model_validate(agora_report.get_exercise(cur, year).to_dict())


@router.put(
    "/actions/exercises/{year}", summary="Record a register exercise", response_model=ExerciseOut
)
def set_exercise(
    year: Year, body: ExerciseIn, state: State, user: Annotated[User, Depends(require("act"))]
) -> ExerciseOut:
    """Record the figures of the exercise ending in ``year`` (fields left out are kept)."""
    fields = body.model_dump(exclude={"clients"})
    clients = None
    if body.clients is not None:
        clients = [agora_report.Client(c.name, c.identifier) for c in body.clients]
    with state.db.writer(actor=f"web:{user.name}") as cur:
        figures = agora_report.set_exercise(cur, year, **fields, clients=clients)
    return ExerciseOut.model_validate(figures.to_dict())


@router.get("/actions/report", summary="Annual register report (HATVP)", response_class=Response)
def register_report(
    cur: Cursor,
    year: Annotated[int, Query(ge=1990, le=2100)],
    fmt: Annotated[Literal["hatvp-json", "csv"], Query(alias="format")] = "hatvp-json",
) -> Response:
    """Return the annual activity report of the HATVP register (AGORA open-data structure):
    the actions towards the officials the register covers (loi 3DS), the others counted under
    ``horsChamp`` with their reason; deleted actions left out; CSV cells that a spreadsheet
    would run as formulas are neutralised."""
    text = action_log.register_report(cur, year=year, fmt=fmt)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    suffix = "csv" if fmt == "csv" else "json"
    return Response(
        text,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="hatvp-{year}.{suffix}"'},
    )
