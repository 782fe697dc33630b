"""FATE Flow client authentication: the appId / Signature headers.

Off by default (FATE Flow's ``authentication.client`` is false out of the box). When a server has it
on, every client request must carry, per fate_flow 2.2 ``hook/flow/client_authentication.py`` and
``controller/permission.py`` (``Authentication.md5_sign`` with ``initiator_party_id=""``)::

    appId, userName, Timestamp (ms since epoch, accepted for 60 s), Nonce (4 digits),
    Signature = md5( md5(appId + userName + Nonce + Timestamp).hex + app_token ).hex   (lower-case)

``userName`` must be sent even when empty: the server concatenates it, and a missing header makes
it ``None`` (verification then crashes server-side instead of failing cleanly).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field

__all__ = ["FateFlowAuth", "sign"]


def sign(app_id: str, app_token: str, user_name: str, nonce: str, timestamp: str) -> str:
    """FATE Flow's two-step md5 signature (see module docstring)."""
    key = hashlib.md5(f"{app_id}{user_name}{nonce}{timestamp}".encode()).hexdigest().lower()
    return hashlib.md5(f"{key}{app_token}".encode()).hexdigest().lower()


@dataclass(frozen=True, slots=True)
class FateFlowAuth:
    """Credentials of a FATE Flow client app (``flow client create`` / ``/app/client/create``).

    The token never appears in ``repr`` (and so never in logs or tracebacks).
    """

    app_id: str
    app_token: str = field(repr=False)
    user_name: str = ""

    def __post_init__(self) -> None:
        if not self.app_id or not self.app_token:
            raise ValueError("FATE Flow auth needs both app_id and app_token")

    def headers(self, *, now_ms: int | None = None, nonce: str | None = None) -> dict[str, str]:
        """Fresh signed headers — call once per request attempt (timestamps expire after 60 s)."""
        timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
        nonce = nonce or str(1000 + secrets.randbelow(9000))
        return {
            "appId": self.app_id,
            "userName": self.user_name,
            "Timestamp": timestamp,
            "Nonce": nonce,
            "Signature": sign(self.app_id, self.app_token, self.user_name, nonce, timestamp),
        }
