"""HTTP routes of duplicate review (xem xét trùng lặp), for district and Department officers.

Bearer tokens are issued by intake and verified here with the shared secret.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, ConfigDict, Field

from hotich_contracts.events import DuplicateResolution, RecordStatus
from hotich_contracts.records import RECORD_ADAPTER
from hotich_dedup.domain.model import Decision, ReviewState
from hotich_dedup.service_layer import review
from hotich_runtime.auth import InvalidToken, Principal, read_token
from hotich_runtime.errors import RetryableError

oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
router = APIRouter(tags=["duplicates"])


class ResolveRequest(BaseModel):
    """A reviewer's decision on a suspected duplicate."""

    model_config = ConfigDict(extra="forbid")

    resolution: DuplicateResolution = Field(
        description="distinct (not the same event: accept) or duplicate (reject)."
    )
    note: str | None = Field(default=None, max_length=2000, description="Ghi chú.")
    duplicate_of: str | None = Field(
        default=None,
        description="For a duplicate: which candidate it duplicates (default: the best).",
    )


class PairCheckRequest(BaseModel):
    """The Department's finding on the pairs a rejected re-keying names."""

    model_config = ConfigDict(extra="forbid")

    resolution: DuplicateResolution = Field(
        description="distinct (two events: not named again while neither record changes) "
        "or duplicate (one event, corrected in the national database)."
    )
    note: str | None = Field(default=None, max_length=2000, description="Ghi chú.")


def _deps(request: Request) -> Any:
    return request.app.state.runtime.state["deps"]


async def current_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2)]
) -> Principal:
    """Verify a bearer token issued by intake."""
    if token is None:
        raise HTTPException(
            401, "Chưa đăng nhập / Not authenticated", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        return read_token(token, _deps(request).settings.jwt_secret)
    except InvalidToken as exc:
        raise HTTPException(
            401,
            "Phiên đăng nhập không hợp lệ / Invalid token",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _linked_view(pair: tuple[str, str]) -> dict[str, Any]:
    first, second = pair
    return {
        "record_ids": [first, second],
        "message_vi": (
            f"Hai bản ghi ứng viên {first} và {second} chưa từng được đối chiếu là trùng "
            "nhau, nhưng đều gần giống bản ghi này, nên có thể cùng ghi một sự kiện hộ tịch. "
            "Bản ghi nào đã được chấp nhận đều được chuyển lên Cơ sở dữ liệu hộ tịch điện tử "
            "toàn quốc; nếu hai bản ghi trùng nhau, cần kiểm tra và xử lý tại đó."
        ),
        "message_en": (
            f"Candidates {first} and {second} were never found to duplicate each other, "
            "but both closely resemble this record, so they may record the same civil "
            "status event. An accepted record is (or will be) sent to the national civil "
            "status database; if the two are duplicates, check and correct them there."
        ),
    }


def _view(decision: Decision, principal: Principal, deps: Any) -> dict[str, Any]:
    return {
        "record_id": decision.record_id,
        "record_version": decision.version,
        "unit_code": decision.unit_code,
        "record_type": decision.record_type,
        "phase": decision.phase,
        "status": decision.status.value,
        "state": None if decision.review_state is None else decision.review_state.value,
        "reasons": [r.model_dump(mode="json") for r in decision.reasons],
        "decided_at": decision.decided_at.isoformat(),
        "score": max((m.score for m in decision.candidates), default=None),
        "candidates": [
            {
                "record_id": m.record_id,
                "record_version": m.version,
                "unit_code": m.unit_code,
                "score": m.score,
                "matched_fields": list(m.matched_fields),
            }
            for m in decision.candidates
        ],
        "linked": [_linked_view(pair) for pair in decision.linked],
        "review": None if decision.review is None else decision.review.model_dump(mode="json"),
        "can_resolve": decision.review_state == ReviewState.OPEN
        and review.may_resolve(principal, deps.registry, decision),
        "can_check_pair": decision.status == RecordStatus.REJECTED
        and bool(decision.linked)
        and decision.review_state is None
        and review.may_check_pair(principal, deps.registry, decision),
        "record": None
        if decision.record is None
        else RECORD_ADAPTER.dump_python(decision.record, mode="json"),
    }


def _http_error(exc: review.ReviewError) -> HTTPException:
    if isinstance(exc, review.NotFound):
        return HTTPException(404, "Không có bản ghi nghi trùng / No suspected duplicate")
    if isinstance(exc, review.OutOfScope):
        return HTTPException(403, "Ngoài phạm vi đơn vị / Outside your unit's scope")
    if isinstance(exc, review.InvalidResolution):
        return HTTPException(
            422, "duplicate_of không phải bản ghi ứng viên / duplicate_of is not a candidate"
        )
    return HTTPException(
        409, "Đã được xử lý hoặc có phiên bản mới / Already resolved, or superseded"
    )


@contextmanager
def _answers() -> Iterator[None]:
    """Review errors as their HTTP answers; the store or Kafka down as 503 (retry)."""
    try:
        yield
    except review.ReviewError as exc:
        raise _http_error(exc) from exc
    except RetryableError as exc:
        raise HTTPException(
            503,
            "Tạm thời không phục vụ, thử lại / Unavailable, retry",
            headers={"Retry-After": "5"},
        ) from exc


@router.get("/v1/duplicates", summary="Suspected duplicates in your scope (danh sách nghi trùng)")
async def list_duplicates(
    request: Request,
    principal: CurrentPrincipal,
    status: Literal["open", "resolved", "superseded", "all"] = "open",
    unit_code: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: str | None = None,
    linked: Annotated[
        bool,
        Query(
            description="Only records naming a pair in `linked`: suspects, and records "
            "rejected as exact duplicates (`status: rejected`) whose keying matches a record "
            "the original's did not."
        ),
    ] = False,
) -> dict[str, Any]:
    """Suspects involving your district's units (all, for the Department), paged by ``after``.

    With ``linked=true``, only those whose ``linked`` list names a pair of candidates
    never held as duplicates of each other (add ``status=all`` for resolved ones too),
    and the records rejected as exact duplicates that name one: a register entry keyed
    twice with different slips, its rejected keying matching a record the accepted one
    did not (``status: rejected``, ``state: null``: nothing to resolve here; the pair is
    checked in the national database).
    """
    deps = _deps(request)
    state = None if status == "all" else ReviewState(status)
    with _answers():
        found = await review.list_suspects(
            deps.store,
            deps.registry,
            principal,
            state=state,
            unit_code=unit_code,
            limit=limit,
            after=after,
            linked=linked,
        )
    items = [_view(d, principal, deps) for d in found]
    last = found[-1] if len(found) == limit else None
    return {
        "items": items,
        "next_after": None if last is None else f"{last.record_id}:v{last.version:010d}",
    }


@router.get("/v1/duplicates/{record_id}", summary="A suspected duplicate (bản ghi nghi trùng)")
async def get_duplicate(
    request: Request, principal: CurrentPrincipal, record_id: str
) -> dict[str, Any]:
    """The suspicion on a record's newest version, with its candidates.

    Also a record rejected as an exact duplicate that names a pair (``linked``).
    """
    deps = _deps(request)
    with _answers():
        review.scope_units(principal, deps.registry)
        decision = await deps.store.latest_decision(record_id)
    if decision is None or (decision.review_state is None and not decision.linked):
        raise _http_error(review.NotFound(record_id))
    allowed = review.scope_units(principal, deps.registry)
    if allowed is not None and not set(allowed).intersection(decision.units):
        raise _http_error(review.OutOfScope(record_id))
    return _view(decision, principal, deps)


@router.post(
    "/v1/duplicates/{record_id}/resolve",
    summary="Resolve a suspected duplicate as distinct or duplicate (xử lý nghi trùng)",
)
async def resolve_duplicate(
    request: Request, principal: CurrentPrincipal, record_id: str, body: ResolveRequest
) -> dict[str, Any]:
    """Accept (distinct) or reject (duplicate) the record; the outcome is published."""
    deps = _deps(request)
    with _answers():
        decision = await review.resolve(
            deps.store,
            deps.publisher,
            deps.registry,
            principal,
            record_id,
            resolution=body.resolution,
            note=body.note,
            duplicate_of=body.duplicate_of,
            topic=deps.settings.deduplicated_topic,
        )
    assert decision.review is not None
    distinct = decision.review.resolution == DuplicateResolution.DISTINCT
    return {
        "record_id": decision.record_id,
        "record_version": decision.version,
        "status": "accepted" if distinct else "rejected",
        "resolution": decision.review.resolution.value,
        "duplicate_of": decision.review.duplicate_of,
        "event_id": str(decision.review_event_id),
    }


@router.post(
    "/v1/duplicates/{record_id}/pair-check",
    summary="Record the check of the pairs a rejected re-keying names (đối chiếu cặp bản ghi)",
)
async def check_pair(
    request: Request, principal: CurrentPrincipal, record_id: str, body: PairCheckRequest
) -> dict[str, Any]:
    """Note the finding on a rejection listed with ``linked`` (``can_check_pair``).

    Its pairs are records both accepted and sent to the national database: the check
    is made there. ``distinct`` stops naming the pairs while neither record changes.
    The record stays rejected; nothing is published. The same finding again answers
    the same; the other one answers 409.
    """
    deps = _deps(request)
    with _answers():
        decision = await review.check_pair(
            deps.store,
            deps.registry,
            principal,
            record_id,
            resolution=body.resolution,
            note=body.note,
        )
    return _view(decision, principal, deps)
