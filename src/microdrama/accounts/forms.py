"""Plain HTML form pages: each form carries a CSRF token bound to the device cookie, and a
refused submission shows the form again with the reason.

What a form posts is one declared model, `Annotated[SomeForm, Form()]` with SomeForm a
PostedForm: its text fields and the CSRF token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Form, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, ValidationError

from microdrama.accounts import service
from microdrama.accounts.csrf import form_token, form_token_valid
from microdrama.accounts.deps import device_token, set_device_cookie
from microdrama.config import app_settings
from microdrama.templating import templates
from microdrama.validation_messages import describe

# A posted text field, "" when left out. The limit only stops absurd bodies: what the page
# then validates the text into (SignupRequest...) says what fits, in words for the form.
FormText = Annotated[str, Field(max_length=10_000)]
EXPIRED_FORM = "This form has expired. Please try again."

Submitted = TypeVar("Submitted", bound=BaseModel)


class PostedForm(BaseModel):
    """What a form page posts: the CSRF token every form carries and, in subclasses, the
    form's text fields as typed (FormPage.read checks the token, then validates the fields)."""

    csrf_token: FormText = ""

    def fields(self) -> dict[str, Any]:
        """The form's own fields, without its CSRF token."""
        return self.model_dump(exclude={"csrf_token"})


# A form that posts nothing but its token: a button (sign out, end a session).
ButtonForm = Annotated[PostedForm, Form()]


def form_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page whose forms carry this device's CSRF token (minting the device cookie)."""
    token = device_token(request)
    minted = None
    if token is None:
        token = minted = service.new_device_token()
    context = {
        **context,
        "csrf_token": form_token(secret_key=app_settings(request).secret_key, device_token=token),
    }
    response = templates.TemplateResponse(
        request,
        template,
        context,
        status_code=status_code,
        headers={"Cache-Control": "private, no-store", **(headers or {})},
    )
    if minted:
        set_device_cookie(request, response, minted)
    return response


def csrf_ok(request: Request, sent: str) -> bool:
    """True when the form's token was made for this very device."""
    return form_token_valid(
        secret_key=app_settings(request).secret_key,
        device_token=device_token(request),
        sent=sent,
    )


def first_problem(exc: ValidationError) -> dict[str, str]:
    """Field → problem, in words people read ("Password must be at least 8 characters.")."""
    problems: dict[str, str] = {}
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "form"
        problems.setdefault(field, describe(err).message)
    return problems


@dataclass(frozen=True)
class FormPage:
    """A form page answering a submission: what it shows, to show it again when refused."""

    request: Request
    template: str
    context: dict[str, Any]

    def again(
        self, status_code: int, headers: dict[str, str] | None = None, **shown: Any
    ) -> HTMLResponse:
        """The form again, with `shown` (an `error`, or `errors` by field) over its context."""
        context = {**self.context, **shown}
        return form_page(self.request, self.template, context, status_code, headers)

    def read(
        self, model: type[Submitted], sent: PostedForm, fields: dict[str, Any] | None = None
    ) -> Submitted | HTMLResponse:
        """The submitted fields (`fields` when the page reworded them) as `model`; else the
        form again: expired (403), or with a message next to each field to fix (422)."""
        if not csrf_ok(self.request, sent.csrf_token):
            return self.again(403, error=EXPIRED_FORM)
        try:
            return model.model_validate(sent.fields() if fields is None else fields)
        except ValidationError as exc:
            return self.again(422, errors=first_problem(exc))
