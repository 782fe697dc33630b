"""A vCenter session through pyvmomi, with timeouts on every socket and lookups that name what exists.

pyvmomi's defaults wait forever on a dead vCenter (no socket timeout) — an Airflow task would hang until
its execution timeout with no clue why. Every session here has a connect/read timeout, is a context
manager that always logs out, and turns vSphere faults into :class:`VSphereError` with the fix.
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from fateops.exceptions import ConfigError, VSphereError

__all__ = ["VSphereSession", "VSphereSettings"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class VSphereSettings:
    """Where vCenter is and who we are; the password never appears in a repr or a log."""

    host: str
    user: str
    password: str = field(repr=False)
    port: int = 443
    verify_tls: bool = True
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("no vCenter host", field="vsphere.host",
                              fix="set the vSphere connection's host (or FATEOPS_VSPHERE_URL)")
        if not self.user:
            raise ConfigError("no vCenter user", field="vsphere.user", fix="set the vSphere connection's login")
        if not 1 <= self.port <= 65535:
            raise ConfigError("is not a TCP port", field="vsphere.port", value=self.port)
        if self.timeout_s <= 0:
            raise ConfigError("must be > 0", field="vsphere.timeout_s", value=self.timeout_s)

    @classmethod
    def from_url(cls, url: str, password: str, *, verify_tls: bool = True,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> VSphereSettings:
        """``https://user@host:port`` (the password travels separately, never in a URL)."""
        parts = urlsplit(url if "//" in url else f"https://{url}")
        if parts.scheme not in ("https", ""):
            raise ConfigError("vCenter speaks https only", field="vsphere.url", value=url)
        if parts.password:
            raise ConfigError("put the password in FATEOPS_VSPHERE_PASSWORD / the connection, not in the URL",
                              field="vsphere.url")
        return cls(host=parts.hostname or "", user=parts.username or "", password=password,
                   port=parts.port or 443, verify_tls=verify_tls, timeout_s=timeout_s)

    @classmethod
    def from_env(cls) -> VSphereSettings:
        """``FATEOPS_VSPHERE_URL`` (``https://user@host:port``), ``_PASSWORD``, ``_INSECURE=1``, ``_TIMEOUT``."""
        url = os.environ.get("FATEOPS_VSPHERE_URL", "")
        if not url:
            raise ConfigError("FATEOPS_VSPHERE_URL is not set", field="FATEOPS_VSPHERE_URL",
                              fix="export FATEOPS_VSPHERE_URL=https://user@vcenter:443 and FATEOPS_VSPHERE_PASSWORD")
        return cls.from_url(url, os.environ.get("FATEOPS_VSPHERE_PASSWORD", ""),
                            verify_tls=os.environ.get("FATEOPS_VSPHERE_INSECURE", "") not in ("1", "true", "yes"),
                            timeout_s=float(os.environ.get("FATEOPS_VSPHERE_TIMEOUT", DEFAULT_TIMEOUT_S)))


class VSphereSession:
    """A logged-in ServiceInstance; ``with VSphereSession(settings) as vc: vc.vm("name")``."""

    def __init__(self, settings: VSphereSettings, *, service_instance: Any = None) -> None:
        self.settings = settings
        self._si = service_instance
        self._owned = service_instance is None

    def __repr__(self) -> str:
        return f"VSphereSession({self.settings.user}@{self.settings.host}:{self.settings.port})"

    # -- lifecycle -----------------------------------------------------------------------------------
    def connect(self) -> Any:
        """Log in (once); raises :class:`VSphereError` naming the endpoint when that fails."""
        if self._si is not None:
            return self._si
        from pyVim.connect import SmartConnect
        from pyVmomi import vim

        s = self.settings
        context = None if s.verify_tls else ssl._create_unverified_context()
        try:
            self._si = SmartConnect(host=s.host, port=s.port, user=s.user, pwd=s.password, sslContext=context,
                                    disableSslCertValidation=not s.verify_tls,
                                    httpConnectionTimeout=s.timeout_s)
        except vim.fault.InvalidLogin:
            raise VSphereError(f"vCenter {s.host}:{s.port} refused the login of {s.user}",
                               fix="check the user/password of the vSphere connection") from None
        except (OSError, ssl.SSLError) as err:
            raise VSphereError(f"cannot reach vCenter at {s.host}:{s.port}: {err}",
                               fix="check host/port, the network, and TLS (verify_tls=False for a lab vCenter)"
                               ) from None
        log.info("connected to vCenter %s:%s as %s", s.host, s.port, s.user)
        return self._si

    def close(self) -> None:
        if self._si is not None and self._owned:
            from pyVim.connect import Disconnect

            try:
                Disconnect(self._si)
            except Exception as err:  # the server may be gone; logging out is best effort
                log.debug("vCenter logout: %s", err)
        self._si = None

    def __enter__(self) -> VSphereSession:
        self.connect()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- lookups -------------------------------------------------------------------------------------
    @property
    def content(self) -> Any:
        return self.connect().RetrieveContent()

    def objects(self, vim_type: Any) -> list[Any]:
        """Every managed object of one type in the inventory."""
        content = self.content
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim_type], True)
        try:
            return list(view.view)
        finally:
            view.Destroy()

    def find(self, vim_type: Any, name: str) -> Any:
        """The object called ``name``; the error lists a few names that do exist."""
        found = self.objects(vim_type)
        for obj in found:
            if obj.name == name:
                return obj
        kind = getattr(vim_type, "__name__", str(vim_type)).rsplit(".", 1)[-1]
        sample = ", ".join(sorted(o.name for o in found)[:8]) or "none"
        raise VSphereError(f"no {kind} named {name!r} in vCenter {self.settings.host}",
                           fix=f"use one of: {sample}")

    def vm(self, name: str) -> Any:
        from pyVmomi import vim

        return self.find(vim.VirtualMachine, name)

    def host(self, name: str) -> Any:
        from pyVmomi import vim

        return self.find(vim.HostSystem, name)
