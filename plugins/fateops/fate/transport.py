"""What both FATE Flow clients share: settings, the request description, and the response envelope.

A :class:`Call` describes one HTTP exchange as data (method, path, params, body, whether repeating it
is safe). The clients turn it into an ``httpx`` request — adding fresh auth headers per attempt and
the timeout class it asks for — and hand the response to :func:`parse_json` / :func:`parse_bytes`,
which apply FATE Flow's envelope rule: errors come back as HTTP 200 with ``"code" != 0``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any, Generic, Literal, Self, TypeVar
from urllib.parse import urlsplit

import httpx

from fateops.exceptions import ConfigError, FateFlowError, FateFlowUnavailable
from fateops.fate.auth import FateFlowAuth
from fateops.fate.retry import RetryPolicy

__all__ = ["DEFAULT_URL", "URL_ENV", "Call", "ClientSetup", "FateFlowSettings", "ReturnCode", "parse_bytes",
           "parse_json"]

DEFAULT_URL = "http://127.0.0.1:9380"
URL_ENV = "FATEOPS_FATE_URL"
API_PREFIX = "/v2"


class ReturnCode(IntEnum):
    """The FATE Flow 2.2 return codes callers branch on (``fate_flow.entity.code.ReturnCode``)."""

    SUCCESS = 0
    JOB_PARAMS_ERROR = 1000
    JOB_NOT_FOUND = 1001
    JOB_CREATE_FAILED = 1002
    TASK_NOT_FOUND = 2000
    SITE_IS_STANDALONE = 3000
    REQUEST_EXPIRED = 5000
    INVALID_PARAMETER = 5001
    APP_ID_NOT_FOUND = 5002
    VERIFY_FAILED = 5003
    AUTHENTICATION_FAILED = 5004
    NO_PERMISSION = 5005
    SERVER_EXCEPTION = 6000
    TABLE_NOT_FOUND = 7001
    FILE_NOT_FOUND = 8001


_AUTH_CODES = {ReturnCode.REQUEST_EXPIRED, ReturnCode.APP_ID_NOT_FOUND, ReturnCode.VERIFY_FAILED,
               ReturnCode.AUTHENTICATION_FAILED, ReturnCode.NO_PERMISSION}


@dataclass(frozen=True, slots=True)
class FateFlowSettings:
    """How to reach one FATE Flow server. Every call is bounded by these timeouts.

    ``base_url`` is ``http(s)://host:port`` (a trailing ``/v2`` is accepted and dropped). Reads of
    ordinary calls use ``read_timeout``; uploads and tar downloads use ``transfer_timeout``.
    """

    base_url: str = DEFAULT_URL
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    transfer_timeout: float = 300.0
    auth: FateFlowAuth | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    verify_tls: bool = True

    def __post_init__(self) -> None:
        url = str(self.base_url).strip().rstrip("/")
        url = url.removesuffix(API_PREFIX).rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
            raise ConfigError("FATE Flow URL must look like http://host:port", field="base_url",
                              value=self.base_url, fix=f"e.g. {DEFAULT_URL} (the API prefix {API_PREFIX} is added)")
        object.__setattr__(self, "base_url", url)
        for name in ("connect_timeout", "read_timeout", "transfer_timeout"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value <= 0:
                raise ConfigError("timeouts are seconds > 0", field=name, value=value)

    @classmethod
    def from_env(cls, **overrides: Any) -> FateFlowSettings:
        """Settings for the URL in ``$FATEOPS_FATE_URL`` (default the local engine, 127.0.0.1:9380)."""
        if overrides.get("base_url") is None:
            overrides["base_url"] = os.environ.get(URL_ENV) or DEFAULT_URL
        if overrides.get("retry", ...) is None:  # "no policy given" keeps the default, not "no retries"
            del overrides["retry"]
        return cls(**overrides)

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    def timeout(self, call: Call) -> httpx.Timeout:
        read = self.transfer_timeout if call.transfer else self.read_timeout
        return httpx.Timeout(connect=self.connect_timeout, read=read, write=read, pool=self.connect_timeout)


@dataclass(frozen=True, slots=True)
class Call:
    """One FATE Flow request, as data. ``idempotent`` says whether repeating it can do harm."""

    method: Literal["GET", "POST"]
    path: str
    idempotent: bool
    params: Mapping[str, Any] | None = None
    json: Mapping[str, Any] | None = None
    form: Mapping[str, str] | None = None
    upload: Path | None = None
    expect: Literal["json", "bytes"] = "json"
    transfer: bool = False

    @property
    def endpoint(self) -> str:
        """``GET /v2/job/query`` — how errors and logs name the call."""
        return f"{self.method} {API_PREFIX}{self.path}"

    def request_kwargs(self, settings: FateFlowSettings) -> dict[str, Any]:
        """Everything ``httpx`` needs except the upload file (opened per attempt by the client)."""
        headers = {"Accept": "application/json"}
        if settings.auth is not None:
            headers.update(settings.auth.headers())
        kwargs: dict[str, Any] = {"method": self.method, "url": self.path, "headers": headers,
                                  "timeout": settings.timeout(self)}
        if self.params:
            kwargs["params"] = {k: v for k, v in self.params.items() if v is not None}
        if self.json is not None:
            kwargs["json"] = dict(self.json)
        if self.form is not None:
            kwargs["data"] = dict(self.form)
        return kwargs


def _check_status(call: Call, response: httpx.Response) -> None:
    if response.status_code >= 500:
        raise FateFlowUnavailable(f"HTTP {response.status_code}: {_snippet(response)}", endpoint=call.endpoint)
    if response.status_code >= 400:
        raise FateFlowError(f"HTTP {response.status_code}: {_snippet(response)}", endpoint=call.endpoint,
                            fix="is this a FATE Flow 2.x server? the endpoint or its parameters were rejected")


def _snippet(response: httpx.Response, limit: int = 300) -> str:
    text = response.text.strip().replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


def parse_json(call: Call, response: httpx.Response) -> dict[str, Any]:
    """The response body if FATE Flow says ``code == 0``; otherwise a typed :class:`FateFlowError`."""
    _check_status(call, response)
    try:
        body = response.json()
    except ValueError:
        raise FateFlowError(f"answered with a non-JSON body: {_snippet(response)!r}", endpoint=call.endpoint,
                            fix="check that the URL points at FATE Flow's HTTP port (9380), not a proxy page") from None
    if not isinstance(body, dict) or "code" not in body:
        raise FateFlowError(f"answered without FATE Flow's {{code, message}} envelope: {str(body)[:300]!r}",
                            endpoint=call.endpoint)
    code = body.get("code")
    if code != ReturnCode.SUCCESS:
        raise _error(call, body)
    return body


def _error(call: Call, body: Mapping[str, Any]) -> FateFlowError:
    code = body.get("code")
    message = str(body.get("message") or body.get("retmsg") or "no message").strip()
    details = body.get("data")
    if code == ReturnCode.INVALID_PARAMETER and details:
        message = f"{message} {details}"
    if len(message) > 2000:  # submit failures carry a whole server traceback
        message = message[:2000] + "…"
    fix = None
    if code in _AUTH_CODES:
        fix = "check the appId/app token of the fateflow connection and that the client clock is within 60 s"
    elif code == ReturnCode.INVALID_PARAMETER:
        fix = "the request parameters named above were rejected; check their values"
    try:
        code_int: int | None = int(code)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        code_int = None
    return FateFlowError(message, code=code_int, endpoint=call.endpoint, fix=fix)


def parse_bytes(call: Call, response: httpx.Response) -> bytes:
    """A file body (tar/tar.gz). FATE Flow reports a missing file as a JSON envelope instead."""
    _check_status(call, response)
    if response.headers.get("content-type", "").startswith("application/json"):
        body = parse_json(call, response)
        raise FateFlowError(f"expected a file but got JSON: {str(body)[:300]}", endpoint=call.endpoint)
    return response.content


_SAFE = {
    "job_id": re.compile(r"^[A-Za-z0-9_\-]{1,64}$"),
    "role": re.compile(r"^(guest|host|arbiter|local)$"),
    "party_id": re.compile(r"^[0-9]{1,20}$"),
    "task_name": re.compile(r"^[A-Za-z0-9_\-]{1,64}$"),
    "model_id": re.compile(r"^[A-Za-z0-9_\-.]{1,128}$"),
    "model_version": re.compile(r"^[A-Za-z0-9_\-.]{1,64}$"),
    "log_type": re.compile(r"^(task_error|task_info|task_warning|task_debug|schedule_info|schedule_error)$"),
    "output_key": re.compile(r"^[A-Za-z0-9_\-]{1,64}$"),
}


def checked(**values: Any) -> dict[str, str]:
    """Validate identifiers before they reach the server (some end up in its file paths and shell).

    Returns them as strings; raises :class:`ConfigError` naming the bad field.
    """
    out: dict[str, str] = {}
    for name, value in values.items():
        text = "" if value is None or isinstance(value, bool) else str(value)
        if not _SAFE[name].match(text):
            raise ConfigError("not a valid FATE identifier", field=name, value=value)
        out[name] = text
    return out


TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)


class ClientSetup(Generic[TransportT]):
    """Construction both clients share: keyword settings (or ready ``FateFlowSettings``) → one ``httpx`` client.

    Subclasses name their ``httpx`` client class; ``transport`` is for tests (``httpx.MockTransport``).
    """

    _http_client_class: type[httpx.Client] | type[httpx.AsyncClient]

    def __init__(self, base_url: str | None = None, *, connect_timeout: float = 5.0, read_timeout: float = 30.0,
                 transfer_timeout: float = 300.0, auth: FateFlowAuth | None = None, retry: RetryPolicy | None = None,
                 verify_tls: bool = True, transport: TransportT | None = None) -> None:
        self._init(FateFlowSettings.from_env(
            base_url=base_url, connect_timeout=connect_timeout, read_timeout=read_timeout,
            transfer_timeout=transfer_timeout, auth=auth, retry=retry, verify_tls=verify_tls), transport)

    @classmethod
    def from_settings(cls, settings: FateFlowSettings, *, transport: TransportT | None = None) -> Self:
        self = cls.__new__(cls)
        self._init(settings, transport)
        return self

    def _init(self, settings: FateFlowSettings, transport: TransportT | None) -> None:
        self.settings = settings
        self._http: Any = self._http_client_class(base_url=settings.api_url, verify=settings.verify_tls,
                                                 transport=transport, follow_redirects=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.settings.base_url!r})"
