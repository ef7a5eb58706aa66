"""``tianshan picks``: phase pickers; ``evaluate`` scores one on analyst-picked windows.

``tianshan picks evaluate --windows DIR --picker classic|ml [--model PATH] [--json]``
reads a folder laid out like PhaseNet's NCEDC sample (npz windows +
``labels.csv``), runs the picker on every window and prints precision, recall,
F1 and residual mean/std for P and S (a hit is |pick - analyst| <= 0.5 s).
"""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group(name="picks")
def command() -> None:
    """Phase pickers: evaluate a picker on analyst-picked windows."""


def _progress_runner(quiet: bool):
    """A context manager yielding a ``progress(done, total)`` callback (rich bar on stderr)."""
    import contextlib

    @contextlib.contextmanager
    def runner():
        if quiet:
            yield None
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("picking windows"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("windows", total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            yield update

    return runner()


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


@command.command("evaluate")
@click.option("--windows", "windows_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="folder of npz windows with labels.csv (fname,itp,its,channels)")
@click.option("--picker", "kind", type=click.Choice(["classic", "ml"]), default="classic", show_default=True,
              help="classical STA/LTA + AIC picker or a SeisBench (ML) picker")
@click.option("--model", type=str, default=None,
              help="ML picker: SeisBench model name or local weights path (never downloaded)")
@click.option("--tolerance-s", type=click.FloatRange(min=0.0, min_open=True), default=0.5, show_default=True,
              help="a pick within this many seconds of the analyst pick is a hit")
@click.option("--json", "as_json", is_flag=True, help="print the scores as JSON")
def evaluate(windows_dir: Path, kind: str, model: str | None, tolerance_s: float, as_json: bool) -> None:
    """Score a picker on analyst-picked windows: P and S precision, recall, F1, residuals."""
    from tianshan.core.errors import InputError
    from tianshan.picks import make_picker
    from tianshan.picks.evaluate import evaluate_picker

    if kind == "classic" and model is not None:
        raise InputError("--model is only for --picker ml", field="--model")
    if kind == "ml" and model is None:
        raise InputError("--picker ml needs --model (a SeisBench model name or a weights path)",
                         field="--model")
    if not windows_dir.is_dir():
        raise InputError("folder not found", source=str(windows_dir), field="--windows")
    try:
        picker = make_picker(kind, model=model)
    except ImportError as err:  # an ML stack that cannot load
        raise InputError(f"the {kind} picker is not available: {err}", field="--picker") from None
    with _progress_runner(as_json) as progress:
        scores = evaluate_picker(picker, windows_dir, tolerance_s=tolerance_s, progress=progress)
    if as_json:
        click.echo(json.dumps(scores, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{getattr(picker, 'name', kind)} on {windows_dir} (hit: |dt| <= {tolerance_s:g} s)",
                  title_justify="left")
    for col in ("phase", "n", "precision", "recall", "F1", "residual mean (s)", "residual std (s)"):
        table.add_column(col, justify="right")
    for phase in ("P", "S"):
        s = scores[phase]
        table.add_row(phase, str(s["n"]), _fmt(s["precision"]), _fmt(s["recall"]), _fmt(s["f1"]),
                      _fmt(s["residual_mean_s"]), _fmt(s["residual_std_s"]))
    Console().print(table)
