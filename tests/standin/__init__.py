"""A stand-in for kind + Docker + kube-apiserver, so the kind path runs in CI."""

from .fixture import StandIn, standin
from .scenarios import SCENARIOS, EventSpec, Scenario, Step, Termination, register

__all__ = ["SCENARIOS", "EventSpec", "Scenario", "StandIn", "Step", "Termination", "register",
           "standin"]
