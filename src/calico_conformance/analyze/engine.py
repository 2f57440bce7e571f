"""From parsed input to a verdict, through the one engine the matrix uses.

Pods and events go through :mod:`calico_conformance.observe` (``from_pod``,
``from_event``) exactly as the live watch's objects do, and the observations through
:func:`calico_conformance.verdict.judge`. A paste is a snapshot, not a watch, so it is
judged with :data:`calico_conformance.verdict.SNAPSHOT` thresholds: restart counts count
from the pod's creation and carry no times, and readiness is only what it was at the paste.
A stored ``observations.jsonl`` on its own is a watch, and is judged as the matrix judged it.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from ..errors import UnreadableInput
from ..model import Evidence, Verdict
from ..observe import Observation, from_event, from_pod
from ..tracker import SNAPSHOT, Thresholds
from ..verdict import judge
from .parsed import Parsed
from .subject import choose

_HINTS = typing.get_type_hints(Observation)


@dataclass(frozen=True)
class Analysis:
    verdict: Verdict
    subtype: str
    evidence: Evidence
    snapshot: bool
    thresholds: Thresholds
    observations: tuple[Observation, ...]
    subject: str = ""  # whose pods were judged, when not calico-node's

    @property
    def unstable(self) -> bool:
        return self.verdict not in (Verdict.STABLE, Verdict.UNKNOWN)


def _checked(obs: Observation, where: str) -> Observation:
    """Every field has the type the model declares (pasted JSON may say anything)."""
    for f in dataclasses.fields(obs):
        value, hint = getattr(obs, f.name), _HINTS[f.name]
        allowed = typing.get_args(hint) or (hint,)
        if value is None and type(None) in allowed:
            continue
        ok = any(isinstance(value, t) and not (t is int and isinstance(value, bool))
                 for t in allowed if isinstance(t, type))
        if float in allowed and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise UnreadableInput(f"field {f.name!r} has {type(value).__name__} "
                                  f"{str(value)[:40]!r} where kubectl writes "
                                  f"{getattr(hint, '__name__', str(hint))}", path=where)
    return obs


def _objects(kind: str, convert: Any, objs: list[Any]) -> list[Observation]:
    out: list[Observation] = []
    for snap in objs:
        t = snap.age_s or 0.0
        try:
            made = convert(t, "", snap.obj)
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            raise UnreadableInput(f"a {kind} object of an unexpected shape ({exc})",
                                  path=snap.where or None) from exc
        out += made if isinstance(made, list) else [made]
    return out


def observations(parsed: Parsed) -> list[Observation]:
    """The observation log the inputs amount to, in the order given."""
    obs = list(parsed.watch_log)
    checked = [_checked(o, "observations.jsonl") for o in obs]
    for kind, convert, snaps in (("Pod", from_pod, parsed.pods),
                                 ("Event", from_event, parsed.events)):
        for snap in snaps:
            checked += [_checked(o, snap.where) for o in _objects(kind, convert, [snap])]
    return checked + parsed.rows


def thresholds_for(parsed: Parsed, base: Thresholds | None = None) -> Thresholds:
    """Watch-log thresholds for a stored log alone, snapshot thresholds otherwise."""
    if parsed.pods or parsed.events or parsed.rows:
        if base is None:
            return SNAPSHOT
        return dataclasses.replace(base, snapshot=True)
    return base or Thresholds()


def analyze(parsed: Parsed, base: Thresholds | None = None) -> Analysis:
    th = thresholds_for(parsed, base)
    obs, subject = choose(observations(parsed))
    ages = [s.age_s for s in [*parsed.pods, *parsed.events] if s.age_s is not None]
    # N failures of a probe take at least N-1 of its periods: a lower bound on the pod's age
    # where the ages themselves are <invalid> (a clock ahead of kubectl's) or cut off.
    ages += [(o.count - 1) * th.probe_period_s for o in obs
             if o.source == "event" and o.event_reason == "Unhealthy" and o.count > 1]
    ages += [o.t for o in parsed.rows if o.t]
    watched = max([*ages, *(o.t for o in parsed.watch_log)], default=0.0)
    verdict, subtype, ev = judge(obs, th, watched_s=watched)
    if th.snapshot and verdict is Verdict.UNKNOWN and subtype == "not-ready-yet":
        why = ("its age is not in the paste" if not ages else
               f"it was {watched:.0f}s old at most, less than the {th.ready_grace_s:.0f}s grace")
        ev = dataclasses.replace(ev, error=f"not Ready at the paste, and {why}: a snapshot "
                                 "cannot tell a pod still starting from one never Ready")
    return Analysis(verdict, subtype, ev, th.snapshot, th, tuple(obs), subject)
