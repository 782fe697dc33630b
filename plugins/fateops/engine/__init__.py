"""The embedded default: a real FATE 2.2 standalone engine on 127.0.0.1, installed and supervised by fateops.

One FATE Flow server serves every local party (guest, host, arbiter). It lives in its own venv because
fate_flow's pins (pydantic 1, Flask 2.2, urllib3 1.26) cannot share one with Airflow 3; we only talk to it
over REST.
"""

from fateops.engine.install import EngineInstall, install_engine
from fateops.engine.process import EngineStatus, LocalEngine

__all__ = ["EngineInstall", "EngineStatus", "LocalEngine", "install_engine"]
