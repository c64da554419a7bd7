"""Routes of the supporter pages: the hosted page per link, its iframe variant, the .ics, the widget,
the confirmation page and the supporter's own pages. HTML, working without JavaScript."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.datastructures import FormData, UploadFile

from campaigns.api.ratelimit import limit_public
from campaigns.api.routes import ServiceDep
from campaigns.domain.supporters import ConsentPurpose
from campaigns.pages import views
from campaigns.pages.i18n import LANGUAGES, NATIVE_NAMES, Translator, catalogues, choose_language
from campaigns.pages.security import (
    content_security_policy,
    form_token,
    origin_of,
    page_headers,
    same_site_post,
    valid_form_token,
)
from campaigns.service import CampaignService
from common.errors import DomainError, Gone, InvalidInput, NotFound

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

router = APIRouter(include_in_schema=False, tags=["pages"])

REF = re.compile(r"[A-Za-z0-9_-]{8,32}")
Ref = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{8,32}$")]
# A form post reads its body before it looks at the link (an oversized body is a 413 whatever the path).
PostedRef = Annotated[str, PathParam(max_length=300)]
Token = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_.~-]{8,300}$")]

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


class Static:
    """The pages' own CSS and scripts, read once, sent with a strong ETag and a long cache lifetime."""

    def __init__(self, directory: Path) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        for path in sorted(directory.iterdir()):
            if path.suffix in STATIC_TYPES:
                content = path.read_bytes()
                self.files[path.name] = (content, hashlib.sha256(content).hexdigest()[:20])

    def version(self, name: str) -> str:
        return self.files[name][1]

    def response(self, name: str, request: Request, max_age: int) -> Response:
        found = self.files.get(name)
        if found is None:
            raise NotFound("no such file")
        content, digest = found
        etag = f'"{digest}"'
        headers = {
            "ETag": etag,
            "Cache-Control": f"public, max-age={max_age}",
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(content, media_type=STATIC_TYPES[Path(name).suffix], headers=headers)


static = Static(STATIC_DIR)
catalogues()  # compile the catalogues at start-up: a broken .po fails the service at once


async def _form(request: Request) -> FormData | None:
    """The page forms' fields (`application/x-www-form-urlencoded`, the only encoding they use), or
    None for anything else (answered 400)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return None
    try:
        text = (await request.body()).decode("utf-8")
        pairs: list[tuple[str, str | UploadFile]] = list(
            parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
        )
        return FormData(pairs)
    except (UnicodeDecodeError, ValueError):
        return None


def _secret(request: Request) -> bytes:
    secret: bytes = request.app.state.settings.supporter_secret_bytes
    return secret


def _public_base(request: Request) -> str:
    settings = request.app.state.settings
    configured = getattr(settings, "public_base_url", None)
    return str(configured or settings.base_url or str(request.base_url)).rstrip("/")


def _language(request: Request, default: str | None) -> str:
    return choose_language(request.query_params.get("lang"), request.headers.get("accept-language"), default)


def _render(
    template: str,
    translator: Translator,
    *,
    status: int = 200,
    csp: str | None = None,
    **context: Any,
) -> HTMLResponse:
    page = templates.get_template(template).render(
        **translator.globals(),
        languages=[(code, NATIVE_NAMES[code]) for code in LANGUAGES],
        css_version=static.version("pages.css"),
        js_version=static.version("pages.js"),
        **context,
    )
    headers = page_headers(csp or content_security_policy())
    headers["Content-Language"] = translator.language
    headers["Vary"] = "Accept-Language"
    return HTMLResponse(page, status_code=status, headers=headers)


def _error_page(translator: Translator, status: int, message: str) -> HTMLResponse:
    return _render("error.html", translator, status=status, message=message)


# ---- the campaign's page ---------------------------------------------------------------------------


async def _view(service: Any, ref: str, request: Request) -> tuple[dict[str, Any], Translator]:
    # The language of the page first from the query and the browser; the campaign's default needs the
    # campaign, so it is read once in the asked-for language and once more only if that falls back.
    asked = _language(request, None)
    view = await views.campaign_view(service, ref, asked, request.app.state.settings)
    language = _language(request, view.get("default_language"))  # differs only when nothing was asked
    if language != asked:
        view = await views.campaign_view(service, ref, language, request.app.state.settings)
    default_view = None
    if view.get("language") != view.get("default_language"):
        default_view = await views.campaign_view(
            service, ref, str(view.get("default_language")), request.app.state.settings
        )
    view["text_languages"] = views.text_languages(view, default_view)
    return view, Translator(language)


def _csp_for(view: Mapping[str, Any], *, embed: bool) -> str:
    organization = view.get("organization") or {}
    logo = origin_of(organization.get("logo_url"))
    ancestors: list[str] | None = None
    if embed:
        ancestors = ["'self'", *(o for o in (origin_of(x) for x in view.get("embed_origins") or []) if o)]
    return content_security_policy(frame_ancestors=ancestors, images=(logo,) if logo else ())


def _page_context(
    request: Request, view: dict[str, Any], ref: str, language: str, *, embed: bool, purpose: str
) -> dict[str, Any]:
    page_url = f"{_public_base(request)}/p/{ref}"
    kind = view["kind"]
    languages: dict[str, str] = view.get("text_languages") or {}

    def lang_of(name: str) -> Markup:
        """` lang="xx"` on an element whose campaign text is not in the page's language."""
        code = languages.get(name)
        if code in LANGUAGES and code != language:
            return Markup(f' lang="{code}"')  # noqa: S704 - one of our own language codes
        return Markup("")

    return {
        "lang_of": lang_of,
        "view": view,
        "ref": ref,
        "embed": embed,
        "kind": kind,
        "action": views.ACTION_OF[kind][0],
        "accepting": bool(view.get("accepts")),
        "form_action": f"/p/{ref}/embed" if embed else f"/p/{ref}",
        "form_token": form_token(_secret(request), purpose, ref),
        "page_url": page_url,
        "share_text": (view.get("details") or {}).get("message") or view.get("title", ""),
        "seats": views.remaining_seats(view),
        "times": views.event_times(view),
        "now": datetime.now(UTC),
        "organization": view.get("organization") or {},
        "consents": [c for c in view.get("consent_texts", []) if _consent_applies(kind, c["purpose"])],
        "quote": quote,
    }


def _consent_applies(kind: str, purpose: str) -> bool:
    return purpose != ConsentPurpose.PUBLISH_STORY.value or kind == "story_collection"


async def _show(request: Request, ref: str, service: Any, *, embed: bool) -> HTMLResponse:
    try:
        view, translator = await _view(service, ref, request)
    except NotFound:
        return _error_page(Translator(_language(request, None)), 404, "page-not-found")
    context = _page_context(
        request, view, ref, translator.language, embed=embed, purpose="embed" if embed else "page"
    )
    return _render(
        "page.html",
        translator,
        csp=_csp_for(view, embed=embed),
        form={},
        errors={},
        **context,
    )


async def _post(request: Request, ref: str, service: Any, *, embed: bool) -> HTMLResponse:
    purpose = "embed" if embed else "page"
    form = await _form(request)
    if form is None:
        return _error_page(Translator(_language(request, None)), 400, "invalid")
    if REF.fullmatch(ref) is None:
        return _error_page(Translator(_language(request, None)), 404, "page-not-found")
    try:
        view, translator = await _view(service, ref, request)
    except NotFound:
        return _error_page(Translator(_language(request, None)), 404, "page-not-found")
    csp = _csp_for(view, embed=embed)
    token = form.get("form_token")
    if not same_site_post(request, origin_of(_public_base(request))) or not valid_form_token(
        _secret(request), token if isinstance(token, str) else None, purpose, ref
    ):
        return _error_page(translator, 403, "form-expired")
    context = _page_context(request, view, ref, translator.language, embed=embed, purpose=purpose)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k not in ("form_token", "altcha")}
    if form.get("website"):
        # The honeypot: a person never sees this field; a bot that fills it is thanked and ignored.
        return _render("thanks.html", translator, csp=csp, pending=False, recorded=None, **context)
    kind = view["kind"]
    submission = views.read_form(kind, form, context["consents"])
    model = views.validate(kind, submission)
    problem: str | None = None
    if model is not None:
        altcha = form.get("altcha")
        try:
            outcome = await views.submit(
                service,
                ref,
                views.action_input(kind, model, translator.language),
                altcha=altcha if isinstance(altcha, str) and altcha else None,
                key=_idempotency_key(form),
            )
        except DomainError as exc:
            problem = _problem_key(exc)
        else:
            return _render(
                "thanks.html",
                translator,
                csp=csp,
                pending=outcome.pending,
                already=outcome.already_recorded,
                supporter_token=outcome.supporter_token,
                **context,
            )
    return _render(
        "page.html",
        translator,
        status=422 if model is None else 409,
        csp=csp,
        form=values,
        errors=submission.errors,
        problem=problem,
        **context,
    )


def _idempotency_key(form: Any) -> str | None:
    """The form token is unique per page view: a form sent twice (a double click, a reload after a
    lost answer) records once and answers as the first time."""
    token = form.get("form_token")
    return f"page:{token[:120]}" if isinstance(token, str) else None


def _problem_key(exc: DomainError) -> str:
    if "capacity" in exc.extensions:
        return "event-full"
    if "current_version" in exc.extensions:
        return "consent-changed"
    if exc.status == 429:
        return "too-many"
    if exc.status == 409:
        return "not-accepting"
    return "invalid"


@router.get("/p/{ref}", response_class=HTMLResponse)
async def hosted_page(ref: Ref, request: Request, service: ServiceDep) -> HTMLResponse:
    return await _show(request, ref, service, embed=False)


@router.post("/p/{ref}", response_class=HTMLResponse, dependencies=[Depends(limit_public)])
async def hosted_page_post(ref: PostedRef, request: Request, service: ServiceDep) -> HTMLResponse:
    return await _post(request, ref, service, embed=False)


@router.get("/p/{ref}/embed", response_class=HTMLResponse)
async def embedded_page(ref: Ref, request: Request, service: ServiceDep) -> HTMLResponse:
    return await _show(request, ref, service, embed=True)


@router.post("/p/{ref}/embed", response_class=HTMLResponse, dependencies=[Depends(limit_public)])
async def embedded_page_post(ref: PostedRef, request: Request, service: ServiceDep) -> HTMLResponse:
    return await _post(request, ref, service, embed=True)


def _ics_text(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return escaped.replace("\r\n", "\\n").replace("\n", "\\n")


def _ics_fold(line: str) -> str:
    out, current = [], line
    while len(current.encode()) > 74:
        cut = 74
        while len(current[:cut].encode()) > 74:
            cut -= 1
        out.append(current[:cut])
        current = " " + current[cut:]
    out.append(current)
    return "\r\n".join(out)


@router.get("/p/{ref}/event.ics")
async def event_calendar(ref: Ref, request: Request, service: ServiceDep) -> Response:
    try:
        view = await views.campaign_view(service, ref, _language(request, None), request.app.state.settings)
    except NotFound:
        return Response("no such event\n", status_code=404, media_type="text/plain")
    times = views.event_times(view)
    if times is None:
        return Response("this campaign is not an event\n", status_code=404, media_type="text/plain")
    starts, ends = times
    details = view.get("details") or {}
    stamp = "%Y%m%dT%H%M%SZ"
    location = details.get("place") or details.get("online_url") or ""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//coalition-platform//campaigns pages//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{view['campaign_id']}@campaigns",
        f"DTSTAMP:{starts.astimezone(UTC).strftime(stamp)}",
        f"DTSTART:{starts.astimezone(UTC).strftime(stamp)}",
        f"DTEND:{ends.astimezone(UTC).strftime(stamp)}",
        f"SUMMARY:{_ics_text(view['title'])}",
        f"DESCRIPTION:{_ics_text(view.get('summary') or '')}",
        f"LOCATION:{_ics_text(location)}",
        f"URL:{_public_base(request)}/p/{ref}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    body = "\r\n".join(_ics_fold(line) for line in lines) + "\r\n"
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="event.ics"',
            "Cache-Control": "public, max-age=300",
        },
    )


# ---- static files and the widget -------------------------------------------------------------------


@router.get("/static/{name}")
async def static_file(
    name: Annotated[str, PathParam(pattern=r"^[a-z0-9-]{1,40}\.(css|js)$")], request: Request
) -> Response:
    try:
        return static.response(name, request, max_age=86400)
    except NotFound:
        return Response("not found\n", status_code=404, media_type="text/plain")


@router.get("/widget.js")
async def widget(request: Request) -> Response:
    return static.response("widget.js", request, max_age=3600)


def N_(message: str) -> str:  # noqa: N802 - gettext's marker for messages translated later
    return message


# What the widget says, translated from the same catalogues as the pages.
WIDGET_STRINGS = (
    N_("(optional)"),
    N_("Progress"),
    N_("First name"),
    N_("Last name"),
    N_("E-mail address"),
    N_("Subject"),
    N_("Your letter"),
    N_("Title of your story"),
    N_("Your story"),
    N_("If your story is published, show"),
    N_("my full name"),
    N_("my first name only"),
    N_("no name (anonymous)"),
    N_("Where do you share it?"),
    N_("Your choices (each is optional)"),
    N_("Privacy notice"),
    N_("Sign the petition"),
    N_("Send the letter"),
    N_("Reserve my place"),
    N_("Send my story"),
    N_("Share it"),
    N_("Please check this field."),
    N_("Sending…"),
    N_("Thank you!"),
    N_(
        "One more step: we have sent you an e-mail. Open the link in it and press the button to confirm. "
        "Until then your action is not counted."
    ),
    N_("Your action is recorded."),
    N_("Something in the form is not right. Please check it and try again."),
    N_("This campaign is not taking part right now."),
    N_("We could not find this page. The link may be wrong, or the campaign is no longer public."),
)


@router.get("/widget/strings.json")
async def widget_strings(request: Request) -> Response:
    translator = Translator(_language(request, None))
    strings = {message: str(translator.gettext(message)) for message in WIDGET_STRINGS}
    return Response(
        json.dumps(strings, ensure_ascii=False),
        media_type="application/json",
        headers={
            "Access-Control-Allow-Origin": "*",
            "Cache-Control": "public, max-age=3600",
            "Vary": "Accept-Language",
            "Content-Language": translator.language,
        },
    )


# ---- confirmation of a pending action (double opt-in) --------------------------------------------


async def _confirm_use_case(service: CampaignService, token: str) -> dict[str, Any]:
    """Confirms through the same use case as `POST /v1/public/confirmations`."""
    confirmed = await service.confirm_action(token)
    return {"status": "confirmed", "campaign_id": str(confirmed.campaign_id), "link_ref": confirmed.link_ref}


@router.get("/confirm/{token}", response_class=HTMLResponse)
async def confirmation_page(token: Token, request: Request) -> HTMLResponse:
    translator = Translator(_language(request, None))
    return _render(
        "confirm.html",
        translator,
        token=token,
        form_token=form_token(_secret(request), "confirm", token),
        confirmed=None,
    )


@router.post("/confirm/{token}", response_class=HTMLResponse, dependencies=[Depends(limit_public)])
async def confirm(token: Token, request: Request, service: ServiceDep) -> HTMLResponse:
    translator = Translator(_language(request, None))
    form = await _form(request)
    if form is None:
        return _error_page(Translator(_language(request, None)), 400, "invalid")
    sent = form.get("form_token")
    if not same_site_post(request, origin_of(_public_base(request))) or not valid_form_token(
        _secret(request), sent if isinstance(sent, str) else None, "confirm", token
    ):
        return _error_page(translator, 403, "form-expired")
    try:
        result = await _confirm_use_case(service, token)
    except DomainError as exc:
        if exc.status == 409 and exc.code == "already-confirmed":
            result = {"link_ref": exc.extensions.get("link_ref")}
            return _render("confirm.html", translator, token=token, confirmed="already", result=result)
        if exc.status in (404, 410):
            return _error_page(translator, exc.status, "link-expired")
        return _error_page(translator, exc.status, _problem_key(exc))
    status = "already" if result.get("status") == "already_confirmed" else "confirmed"
    return _render("confirm.html", translator, token=token, confirmed=status, result=result)


# ---- the supporter's own pages ---------------------------------------------------------------------


async def _me(
    request: Request, token: str, service: Any, translator: Translator, **extra: Any
) -> HTMLResponse:
    try:
        held = await service.supporter_by_token(token)
    except Gone:
        return _render("me.html", translator, erased=True, token=token, held=None, **extra)
    except DomainError:
        return _error_page(translator, 404, "link-expired")
    consents = sorted(held.get("consents", {}).items())
    return _render(
        "me.html",
        translator,
        erased=False,
        token=token,
        held=held,
        consents=consents,
        form_token=form_token(_secret(request), "me", token),
        **extra,
    )


@router.get("/me/{token}", response_class=HTMLResponse)
async def my_page(token: Token, request: Request, service: ServiceDep) -> HTMLResponse:
    return await _me(request, token, service, Translator(_language(request, None)))


def _checked_form(request: Request, form: Any, token: str) -> bool:
    sent = form.get("form_token")
    return same_site_post(request, origin_of(_public_base(request))) and valid_form_token(
        _secret(request), sent if isinstance(sent, str) else None, "me", token
    )


@router.post("/me/{token}/consents", response_class=HTMLResponse, dependencies=[Depends(limit_public)])
async def withdraw_consents(token: Token, request: Request, service: ServiceDep) -> HTMLResponse:
    translator = Translator(_language(request, None))
    form = await _form(request)
    if form is None:
        return _error_page(Translator(_language(request, None)), 400, "invalid")
    if not _checked_form(request, form, token):
        return _error_page(translator, 403, "form-expired")
    purposes = []
    for value in form.getlist("withdraw"):
        try:
            purposes.append(ConsentPurpose(str(value)))
        except ValueError:
            return _error_page(translator, 422, "invalid")
    if not purposes:
        return await _me(request, token, service, translator, notice="none-chosen")
    try:
        await service.withdraw_consent(token=token, purposes=purposes)
    except Gone:
        return await _me(request, token, service, translator)
    except (NotFound, InvalidInput, DomainError):
        return _error_page(translator, 404, "link-expired")
    return await _me(request, token, service, translator, notice="withdrawn")


@router.post("/me/{token}/erasure", response_class=HTMLResponse, dependencies=[Depends(limit_public)])
async def erase_me(token: Token, request: Request, service: ServiceDep) -> Response:
    translator = Translator(_language(request, None))
    form = await _form(request)
    if form is None:
        return _error_page(Translator(_language(request, None)), 400, "invalid")
    if not _checked_form(request, form, token):
        return _error_page(translator, 403, "form-expired")
    if form.get("confirm_erasure") != "yes":
        return await _me(request, token, service, translator, notice="confirm-erasure")
    try:
        await service.erase_by_token(token=token)
    except Gone:
        pass
    except DomainError:
        return _error_page(translator, 404, "link-expired")
    return RedirectResponse(f"/me/{token}?lang={translator.language}&erased=1", status_code=303)
