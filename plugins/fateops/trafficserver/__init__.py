"""The Exchange's traffic-server: a private instance (local backend) and the route table both backends render."""

from fateops.trafficserver.instance import ExchangeError, Reload, TrafficServer
from fateops.trafficserver.routes import Destination, RouteTable

__all__ = ["Destination", "ExchangeError", "Reload", "RouteTable", "TrafficServer"]
