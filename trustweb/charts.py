"""Charts drawn on the server: pure functions from series of (label, integer cents) to the geometry an inline <svg>
draws (templates/main/_chart_*.html). No Flask, no database, no floating-point money: values stay integer cents
and only their positions are floats.

Every chart is laid out in the same viewBox (WIDTH x HEIGHT): the money axis on the left, one slot per label along
the bottom. The page scales it to its width, so it reads the same at 390 px and at 1280 px.
"""

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 400, 220
# Room for the money axis's labels ("CA$100,000.00") on the left, and two lines of slot labels below.
LEFT, RIGHT, TOP, BOTTOM = 100, 8, 10, 32
STEPS = (1, 2, 5)
SMALLEST_STEP = 100  # the axis counts whole units of money: its labels never need cents


@dataclass(frozen=True)
class Tick:
    value: int  # cents
    y: float


@dataclass(frozen=True)
class Slot:
    """A place along the bottom: its label (a shorter one for a phone, and a second line such as the year) at x,
    the middle of the slot."""

    label: str
    x: float
    sublabel: str = ""
    short: str = ""

    @property
    def narrow(self) -> str:
        return self.short or self.label


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Dot:
    label: str
    value: int
    x: float
    y: float


@dataclass(frozen=True)
class Line:
    name: str
    points: str  # "x,y x,y ...", for <polyline points=...>
    dots: tuple[Dot, ...]


@dataclass(frozen=True)
class Chart:
    ticks: tuple[Tick, ...]
    slots: tuple[Slot, ...]
    zero_y: float
    bars: tuple[Bar, ...] = ()
    lines: tuple[Line, ...] = ()
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def nice_step(span: int, count: int = 4) -> int:
    """The smallest step of 1, 2 or 5 times a power of ten (in cents, at least one whole unit) that covers the span
    in `count` steps or fewer."""
    step = SMALLEST_STEP
    while True:
        for multiple in STEPS:
            if multiple * step * count >= span:
                return multiple * step
        step *= 10


def axis(values: Sequence[int], count: int = 4) -> list[int]:
    """The money axis's tick values, in cents, for these values: from a multiple of the step at or below the
    lowest (or zero) to one at or above the highest (or zero), zero always among them."""
    low, high = min(0, *values), max(0, *values)
    if low == high:
        high = SMALLEST_STEP
    step = nice_step(high - low, count)
    return list(range((low // step) * step, -(-high // step) * step + 1, step))


def _scale(ticks: Sequence[int]):
    low, high = ticks[0], ticks[-1]
    plot = HEIGHT - BOTTOM - TOP

    def y(cents: int) -> float:
        return round(TOP + plot * (high - cents) / (high - low), 2)

    return y


def _slots(labels: Sequence[str], sublabels: Sequence[str] | None) -> tuple[float, tuple[Slot, ...]]:
    width = (WIDTH - RIGHT - LEFT) / max(len(labels), 1)
    subs = sublabels or [""] * len(labels)
    # Twelve months' names do not fit a phone side by side: there each is its initial ("J" for "Jan").
    shorts = [label[0] if len(labels) > 6 else "" for label in labels]
    return width, tuple(
        Slot(label, round(LEFT + width * (i + 0.5), 2), sub, short)
        for i, (label, sub, short) in enumerate(zip(labels, subs, shorts, strict=True))
    )


def bar_chart(series: Sequence[tuple[str, int]], sublabels: Sequence[str] | None = None) -> Chart:
    """One bar per (label, cents), from zero up (or down, for a negative value)."""
    values = [cents for _, cents in series]
    ticks = axis(values)
    y = _scale(ticks)
    width, slots = _slots([label for label, _ in series], sublabels)
    bar_width = round(width * 0.6, 2)
    zero = y(0)
    bars = tuple(
        Bar(
            label,
            cents,
            round(slot.x - bar_width / 2, 2),
            min(y(cents), zero),
            bar_width,
            round(abs(zero - y(cents)), 2),
        )
        for (label, cents), slot in zip(series, slots, strict=True)
    )
    return Chart(tuple(Tick(value, y(value)) for value in ticks), slots, zero, bars=bars)


def line_chart(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], sublabels: Sequence[str] | None = None
) -> Chart:
    """One line per named series of cents, a point for each label; every series as long as the labels."""
    if any(len(values) != len(labels) for _, values in series):
        raise ValueError("each series has one value for each label")
    ticks = axis([cents for _, values in series for cents in values])
    y = _scale(ticks)
    _, slots = _slots(labels, sublabels)
    lines = []
    for name, values in series:
        dots = tuple(Dot(slot.label, cents, slot.x, y(cents)) for slot, cents in zip(slots, values, strict=True))
        lines.append(Line(name, " ".join(f"{dot.x},{dot.y}" for dot in dots), dots))
    return Chart(tuple(Tick(value, y(value)) for value in ticks), slots, y(0), lines=tuple(lines))
