"""``lrhub preview``: the server's values, shown as a table, sparklines and a labelled plot."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import matplotlib.image
import pytest

from lrhub.cli import main as lrhub_main
from lrhub.cli.curves import sparkline

WARMUP_COSINE = {
    "type": "Warmup",
    "warmup_steps": 100,
    "schedule": {"type": "CosineAnnealingLR", "T_max": 900, "eta_min": 0.001},
    "base_lr": 0.1,
}
ONE_CYCLE = {"type": "OneCycleLR", "max_lr": [0.1, 0.05], "total_steps": 500}


def preview(capsys: pytest.CaptureFixture[str], spec: Any, *args: str) -> tuple[int, str, str]:
    """Run ``lrhub preview`` in this process; (exit status, stdout, stderr)."""
    text = spec if isinstance(spec, str) else json.dumps(spec)
    code = lrhub_main(["preview", text, *args])
    out, err = capsys.readouterr()
    return code, out, err


def table_rows(text: str) -> dict[int, list[float]]:
    rows = {}
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0].isdigit():
            rows[int(cells[0])] = [float(c) for c in cells[1:]]
    return rows


def test_text_has_title_sparkline_and_table_of_real_values(capsys: Any) -> None:
    code, text, _ = preview(capsys, WARMUP_COSINE, "--steps", "1000")
    assert code == 0
    assert text.splitlines()[0] == "Warmup(CosineAnnealingLR): steps 0..999, 1 group"
    spark = re.search(r"lr\[0\]\s+(\S+)\s+min 0\s+max 0\.1$", text, re.M)
    assert spark and 20 <= len(spark.group(1)) <= 60 and set(spark.group(1)) <= set("▁▂▃▄▅▆▇█")
    rows = table_rows(text)
    assert rows[0] == [0.0] and rows[100] == [0.1] and rows[999] == [pytest.approx(0.001, rel=1e-3)]
    assert list(rows) == [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 999]


def test_momentum_and_groups(capsys: Any) -> None:
    code, text, _ = preview(capsys, ONE_CYCLE, "--steps", "500", "--base-lrs", "1,1")
    assert code == 0
    assert "lr[1]" in text and "mom[0]" in text and "momentum[1]" in text
    assert table_rows(text)[150] == pytest.approx([0.1, 0.05, 0.85, 0.85], rel=1e-4)  # the peak
    assert "no base_lr" not in text  # one-cycle needs no base lr


def test_factors_without_base_lr_and_metric_note(capsys: Any) -> None:
    _, text, _ = preview(capsys, {"type": "StepLR", "step_size": 2}, "--steps", "5")
    assert "factors of a base lr of 1.0" in text
    assert table_rows(text)[4] == [pytest.approx(0.01)]
    _, text, _ = preview(capsys, {"type": "LRRangeTest"}, "--steps", "100")
    assert "assumes no metric reports" in text
    code, out, _ = preview(
        capsys,
        {"type": "StepLR", "step_size": 2},
        "--steps",
        "3",
        "--base-lrs",
        "0.5,0.2",
        "--json",
    )
    assert code == 0 and [g[0] for g in json.loads(out)["lrs"]] == [0.5, 0.2]


def test_in_process_and_over_http_give_the_same_values(
    capsys: Any, live_server: Any, tmp_path: Path
) -> None:
    server = live_server(f"sqlite:///{tmp_path / 'p.db'}")
    _, local, _ = preview(capsys, ONE_CYCLE, "--steps", "300", "--base-lrs", "1,1", "--json")
    code, remote, _ = preview(
        capsys, ONE_CYCLE, "--steps", "300", "--base-lrs", "1,1", "--json", "--url", server.url
    )
    assert code == 0
    local_json, remote_json = json.loads(local), json.loads(remote)
    assert local_json["lrs"] == remote_json["lrs"]
    assert local_json["momentums"] == remote_json["momentums"]


def test_png_is_written_and_readable(capsys: Any, tmp_path: Path) -> None:
    path = tmp_path / "sub" / "curve.png"
    code, text, _ = preview(capsys, WARMUP_COSINE, "--steps", "1000", "--plot", str(path))
    assert code == 0 and text.rstrip().endswith(f"plot written to {path}")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 600
    assert pixels[..., :3].std() > 0.05  # not a blank canvas


def test_svg_keeps_its_labels_as_text(capsys: Any, tmp_path: Path) -> None:
    path = tmp_path / "curve.svg"
    preview(capsys, ONE_CYCLE, "--steps", "500", "--base-lrs", "1,1", "--plot", str(path))
    svg = path.read_text()
    for label in ("OneCycleLR (500 steps)", "learning rate, group 1", "momentum", "step"):
        assert label in svg
    ramp = tmp_path / "ramp.svg"
    preview(capsys, {"type": "LRRangeTest"}, "--steps", "100", "--plot", str(ramp))
    assert "learning rate (log scale)" in ramp.read_text()
    factors = tmp_path / "factors.svg"
    preview(capsys, {"type": "StepLR", "step_size": 3}, "--steps", "10", "--plot", str(factors))
    assert "learning rate / base lr" in factors.read_text()


@pytest.mark.parametrize(
    ("spec", "args", "fragment"),
    [
        ("{not json", [], "not valid JSON"),
        ({"type": "Nope"}, [], "unknown type"),
        ({"type": "StepLR", "step_size": 0, "base_lr": 0.1}, [], "step_size"),
        (WARMUP_COSINE, ["--steps", "0"], "--steps"),
        (WARMUP_COSINE, ["--plot", "out.jpg"], ".png or .svg"),
        (WARMUP_COSINE, ["--base-lrs", "a,b"], "--base-lrs"),
        (WARMUP_COSINE | {"base_lr": [0.1, 0.2]}, ["--base-lrs", "1,1,1"], "base_lr"),
    ],
)
def test_bad_input_names_the_field(capsys: Any, spec: Any, args: list[str], fragment: str) -> None:
    steps = [] if "--steps" in args else ["--steps", "10"]
    code, _, err = preview(capsys, spec, *steps, *args)
    assert code in (1, 2) and fragment in err, err


def test_sparkline_edges() -> None:
    assert sparkline([]) == ""
    assert sparkline([0.5] * 3) == "▄▄▄"
    assert sparkline([0, 1]) == "▁█"
    assert len(sparkline(list(range(1000)))) == 60
