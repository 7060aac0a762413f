"""``render_preview``: the text of ``lrhub preview`` and a real, labelled plot."""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib.image
import matplotlib.pyplot as plt
import pytest

from lrhub_service.cli.preview import build_figure, render_preview, sparkline
from lrhub_service.engine import SpecError
from lrhub_service.usecases.preview import evaluate_preview

WARMUP_COSINE = {
    "type": "Warmup",
    "warmup_steps": 100,
    "schedule": {"type": "CosineAnnealingLR", "T_max": 900, "eta_min": 0.001},
    "base_lr": 0.1,
}
ONE_CYCLE = {"type": "OneCycleLR", "max_lr": [0.1, 0.05], "total_steps": 500}


def table_rows(text: str) -> dict[int, list[float]]:
    rows = {}
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0].isdigit():
            rows[int(cells[0])] = [float(c) for c in cells[1:]]
    return rows


def test_text_has_title_sparkline_and_table_of_real_values() -> None:
    text = render_preview(json.dumps(WARMUP_COSINE), 1000)
    assert text.splitlines()[0] == "Warmup(CosineAnnealingLR): 1000 steps, 1 group"
    spark = re.search(r"lr\[0\]\s+(\S+)\s+min 0\s+max 0\.1$", text, re.M)
    assert spark and 20 <= len(spark.group(1)) <= 60 and set(spark.group(1)) <= set("▁▂▃▄▅▆▇█")
    rows = table_rows(text)
    assert rows[0] == [0.0] and rows[100] == [0.1] and rows[999] == [pytest.approx(0.001, rel=1e-3)]
    assert list(rows) == [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 999]


def test_momentum_and_groups() -> None:
    text = render_preview(ONE_CYCLE, 500, groups=2)
    assert "lr[1]" in text and "mom[0]" in text and "momentum[1]" in text
    rows = table_rows(text)
    assert rows[150] == pytest.approx([0.1, 0.05, 0.85, 0.85], rel=1e-4)  # the peak
    assert "no base_lr" not in text  # one-cycle needs no base lr


def test_factors_without_base_lr_and_metric_note() -> None:
    text = render_preview({"type": "StepLR", "step_size": 2}, 5)
    assert "factors of a base lr of 1.0" in text
    assert table_rows(text)[4] == [pytest.approx(0.01)]
    assert "assumes no metric reports" in render_preview({"type": "LRRangeTest"}, 100)
    with_bases = evaluate_preview({"type": "StepLR", "step_size": 2}, 3, base_lrs=[0.5, 0.2])
    assert [g[0] for g in with_bases.lrs] == [0.5, 0.2]


def test_png_is_written_and_readable(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "curve.png"
    text = render_preview(WARMUP_COSINE, 1000, plot=path)
    assert text.endswith(f"plot written to {path}")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 600
    assert pixels[..., :3].std() > 0.05  # not a blank canvas


def test_svg_keeps_its_labels_as_text(tmp_path: Path) -> None:
    path = tmp_path / "curve.svg"
    render_preview(ONE_CYCLE, 500, groups=2, plot=path)
    svg = path.read_text()
    for label in ("OneCycleLR preview (500 steps)", "learning rate, group 1", "momentum", "step"):
        assert label in svg


def test_figure_axes_labels() -> None:
    curve = evaluate_preview(ONE_CYCLE, 500, groups=2)
    figure = build_figure(curve)
    lr_axis, momentum_axis = figure.axes
    assert lr_axis.get_xlabel() == "step" and lr_axis.get_ylabel() == "learning rate"
    assert momentum_axis.get_ylabel() == "momentum"
    assert [line.get_label() for line in lr_axis.get_lines()] == [
        "learning rate, group 0",
        "learning rate, group 1",
    ]
    ramp = build_figure(evaluate_preview({"type": "LRRangeTest"}, 100))
    assert ramp.axes[0].get_yscale() == "log"
    assert ramp.axes[0].get_ylabel() == "learning rate (log scale)"
    factors = build_figure(evaluate_preview({"type": "StepLR", "step_size": 3}, 10))
    assert factors.axes[0].get_ylabel() == "learning rate / base lr"
    plt.close("all")


@pytest.mark.parametrize(
    ("spec", "kwargs", "loc", "fragment"),
    [
        ("{not json", {}, "spec", "not valid JSON"),
        ({"type": "Nope"}, {}, "type", "unknown type"),
        ({"type": "StepLR", "step_size": 0, "base_lr": 0.1}, {}, "step_size", "> 0"),
        (WARMUP_COSINE, {"steps": 0}, "steps", "from 1"),
        (WARMUP_COSINE, {"groups": 0}, "groups", "from 1"),
        (WARMUP_COSINE, {"plot": "out.jpg"}, "plot", ".png or .svg"),
        (WARMUP_COSINE | {"base_lr": [0.1, 0.2]}, {"groups": 3}, "base_lr", "expected 3"),
    ],
)
def test_bad_input_names_the_field(spec: object, kwargs: dict, loc: str, fragment: str) -> None:
    arguments = {"steps": 10, **kwargs}
    with pytest.raises(SpecError) as info:
        render_preview(spec, **arguments)  # type: ignore[arg-type]
    assert any(e["loc"] == loc and fragment in e["msg"] for e in info.value.errors), info.value


def test_sparkline_edges() -> None:
    assert sparkline([]) == ""
    assert sparkline([0.5] * 3) == "▄▄▄"
    assert sparkline([0, 1]) == "▁█"
    assert len(sparkline(list(range(1000)))) == 60
