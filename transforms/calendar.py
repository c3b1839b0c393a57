"""The promo calendar as pure logic: which event a day falls in (the event itself or its
return window), and how much a spike during it is expected by the event alone.

No connection here: warehouse/calendar.py stores the days and reads last year's lift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from returnwatch.settings import CalendarEvent


def window_end(event: CalendarEvent) -> date:
    """The last day the event's returns are expected: its end plus its return window."""
    return event.end + timedelta(days=event.return_days)


def event_on(events: list[CalendarEvent], day: date) -> CalendarEvent | None:
    """The event whose days or return window hold `day` (the latest-starting one when
    several overlap); None on an ordinary day."""
    holding = [e for e in events if e.start <= day <= window_end(e)]
    return max(holding, key=lambda e: (e.start, e.name)) if holding else None


def event_days(events: list[CalendarEvent]) -> list[tuple[date, str, str]]:
    """(day, event name, 'event' | 'return_window') for every day the calendar covers."""
    days: dict[date, tuple[str, str]] = {}
    for event in sorted(events, key=lambda e: (e.start, e.name)):
        day = event.start
        while day <= window_end(event):
            days[day] = (event.name, "event" if day <= event.end else "return_window")
            day += timedelta(days=1)
    return [(day, name, phase) for day, (name, phase) in sorted(days.items())]


def previous_edition(events: list[CalendarEvent], event: CalendarEvent) -> CalendarEvent | None:
    """The same event (same name) in an earlier year: what this one is compared with."""
    earlier = [e for e in events if e.name == event.name and e.start < event.start]
    return max(earlier, key=lambda e: e.start) if earlier else None


@dataclass(frozen=True)
class EventContext:
    """A spike seen against the event it falls in."""

    name: str
    lift: float  # the rise the event explains (0.3 = +30%)
    learned: bool  # lift measured on last year's same event (else the configured one)
    expected_returns: float  # detection's expectation x (1 + lift)
    extra_returns: float  # returns above that

    def explains(self, min_extra_returns: float) -> bool:
        """The event alone accounts for the spike: fewer extra returns than an alert needs."""
        return self.extra_returns < min_extra_returns


def against_event(
    name: str, lift: float, learned: bool, returns: float, expected_returns: float
) -> EventContext:
    expected = expected_returns * (1 + lift)
    return EventContext(name, lift, learned, expected, returns - expected)
