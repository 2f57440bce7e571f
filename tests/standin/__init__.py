"""A stand-in for kind + Docker + kube-apiserver, so the kind path runs in CI.

The fixture lives in :mod:`standin.fixture` (not imported here, so pytest can load
that module as a plugin and rewrite its asserts).
"""

from .scenarios import SCENARIOS, EventSpec, Scenario, Step, Termination, register

__all__ = ["SCENARIOS", "EventSpec", "Scenario", "Step", "Termination", "register"]
