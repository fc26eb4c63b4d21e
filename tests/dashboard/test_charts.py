"""The chart geometry: pure functions from cents to positions in the viewBox, checked without a page."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustweb import charts
from trustweb.charts import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, axis, bar_chart, line_chart, nice_step


def test_the_money_axis_steps_in_whole_round_amounts_from_zero():
    assert axis([0, 12_345]) == [0, 5_000, 10_000, 15_000]  # $0 to $150.00 by $50.00
    assert axis([250_000_00]) == [0, 100_000_00, 200_000_00, 300_000_00]
    assert axis([-500, 100_000]) == [-50_000, 0, 50_000, 100_000]  # a negative balance keeps zero on the axis
    assert axis([0, 0]) == [0, 100]  # nothing at all: one unit of money, not a division by zero
    assert nice_step(1) == 100  # never a step of cents: the labels are whole amounts


@given(st.lists(st.integers(min_value=-(10**12), max_value=10**12), min_size=1, max_size=24))
def test_every_value_is_on_the_axis_and_inside_the_plot(values):
    ticks = axis(values)
    assert ticks[0] <= min(values) and ticks[-1] >= max(values) and 0 in ticks
    assert len(ticks) <= 7 and all(t % 100 == 0 for t in ticks)
    chart = line_chart([str(i) for i in range(len(values))], [("held", values)])
    for dot in chart.lines[0].dots:
        assert TOP <= dot.y <= HEIGHT - BOTTOM and LEFT < dot.x < WIDTH - RIGHT


def test_a_bar_rises_from_zero_to_its_value_and_a_bigger_value_is_taller():
    chart = bar_chart([("Jan", 10_000), ("Feb", 0), ("Mar", 40_000)], ["2026", "", ""])
    jan, feb, mar = chart.bars
    assert jan.y + jan.height == pytest.approx(chart.zero_y) == mar.y + mar.height
    assert mar.height == pytest.approx(4 * jan.height) and feb.height == 0
    assert mar.y == pytest.approx(TOP)  # the tallest reaches the top tick ($400.00)
    assert [slot.sublabel for slot in chart.slots] == ["2026", "", ""]
    assert jan.x + jan.width < feb.x < mar.x  # side by side, not overlapping
    assert chart.view_box == f"0 0 {WIDTH} {HEIGHT}"


def test_a_line_has_a_point_per_label_and_refuses_a_series_of_another_length():
    chart = line_chart(["Jan", "Feb"], [("USD trust", [0, 5_000]), ("Second trust", [5_000, 5_000])])
    first, second = chart.lines
    assert first.points == " ".join(f"{dot.x},{dot.y}" for dot in first.dots) and len(first.dots) == 2
    assert first.dots[1].y == second.dots[0].y == second.dots[1].y < first.dots[0].y == chart.zero_y
    with pytest.raises(ValueError):
        charts.line_chart(["Jan", "Feb"], [("short", [1])])
