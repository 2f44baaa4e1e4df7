from decimal import Decimal

from enrollment.portal import charts


def test_histogram_bins_are_half_open_and_keep_empty_bins_between():
    bins = charts.histogram_bins(
        [Decimal("60.0"), Decimal("64.9"), Decimal("65.0"), Decimal("81.2")], width=5
    )

    assert [(str(low), str(high), n) for low, high, n in bins] == [
        ("60", "65", 2),
        ("65", "70", 1),
        ("70", "75", 0),
        ("75", "80", 0),
        ("80", "85", 1),
    ]


def test_histogram_of_nothing_has_no_bins_and_still_draws_a_titled_svg():
    chart = charts.histogram(
        title="积分分布", values=[], bin_width=5, range_header="区间", count_header="人数"
    )

    assert charts.histogram_bins([], width=5) == []
    assert chart.rows == ()
    assert "<title>积分分布</title>" in chart.svg


def test_bar_chart_escapes_labels_and_lists_every_value_in_its_table():
    chart = charts.bar_chart(
        title="结果",
        bars=[("<script>x</script>", 3), ("不符合条件", 0)],
        label_header="结果",
        value_header="人数",
    )

    assert "<script>" not in chart.svg
    assert "&lt;script&gt;x&lt;/script&gt;" in chart.svg
    assert chart.rows == (("<script>x</script>", "3"), ("不符合条件", "0"))
    assert chart.svg.count("<rect ") == 2


def test_paired_bars_draw_two_rects_per_label_on_one_scale():
    chart = charts.paired_bar_chart(
        title="需求",
        pairs=[("一小", 40, 20), ("二小", 10, 20)],
        first_name="第一志愿",
        second_name="学位数",
        label_header="学校",
    )

    assert chart.svg.count("<rect ") == 4
    assert chart.rows == (("一小", 40, 20), ("二小", 10, 20))
    # The largest value (40) takes the whole plot width: 640 - 170 - 60.
    assert 'width="410.0"' in chart.svg
    assert chart.legend == (("第一志愿", "bar-demand"), ("学位数", "bar-seats"))


def test_map_colours_schools_by_shortfall_and_keeps_unplaced_ones_in_the_table():
    chart = charts.school_map(
        title="地图",
        schools=[
            ("一小", Decimal("23.01"), Decimal("113.10"), 20),
            ("二小", Decimal("23.02"), Decimal("113.12"), -5),
            ("三小", None, None, 3),
        ],
        name_header="学校",
        short_header="缺口",
    )

    assert chart.svg.count("<circle ") == 2
    assert 'fill="#c62828"' in chart.svg  # the worst shortfall
    assert 'fill="#2e7d32"' in chart.svg  # seats to spare
    assert "<title>一小: 20</title>" in chart.svg
    assert chart.rows == (("一小", 20), ("二小", -5), ("三小", 3))
    assert "style=" not in chart.svg


def test_long_labels_are_cut_in_the_drawing_but_kept_whole_in_titles_and_table():
    name = "佛山市禅城区新风实验小学77校"

    chart = charts.paired_bar_chart(
        title="需求", pairs=[(name, 3, 2)], first_name="甲", second_name="乙", label_header="学校"
    )

    assert ">佛山市禅城区新风实验…<title>" in chart.svg
    assert f"<title>{name} 甲: 3</title>" in chart.svg
    assert chart.rows == ((name, 3, 2),)


def test_shortfall_colours_go_by_quarters_of_the_worst():
    assert [charts.shortfall_colour(short, 100) for short in (-3, 0, 10, 30, 60, 80, 100)] == [
        "#2e7d32",
        "#2e7d32",
        "#9e9d24",
        "#f9a825",
        "#ef6c00",
        "#c62828",
        "#c62828",
    ]


def test_bins_from_grouped_counts_keep_empty_bins_between():
    bins = charts.bins_from_counts({18: 1, 21: 1}, width=5)

    assert [(str(low), str(high), n) for low, high, n in bins] == [
        ("90", "95", 1),
        ("95", "100", 0),
        ("100", "105", 0),
        ("105", "110", 1),
    ]
    assert charts.bins_from_counts({}, width=5) == []
