"""A small pipeline runner: ordered stages, each producing an immutable result.

A stage reads the results of earlier stages (never of later ones) and returns
its own; the runner times each stage, shows progress, and stops at the first
failure with the stage's name in the error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, Protocol, Sequence

from tianshan.core.errors import DomainError, InputError


@dataclass(frozen=True)
class DemoConfig:
    """What the demo is asked to do (from the CLI)."""

    out_dir: Path
    data_dir: Path
    database_url: str | None = None
    seed: int = 2026
    duration_s: float = 300.0
    faults: bool = False


@dataclass(frozen=True)
class StageRecord:
    """What the runner keeps about one finished stage."""

    name: str
    title: str
    seconds: float
    result: Any
    summary: Mapping[str, Any]


class Stage(Protocol):
    """One step of the chain. ``name`` is a short key; ``title`` is bilingual text for people."""

    name: str
    title: str

    def run(self, config: DemoConfig, done: Mapping[str, StageRecord]) -> tuple[Any, Mapping[str, Any]]:
        """Do the work; return (result object for later stages, small JSON-able summary)."""
        ...


@dataclass
class PipelineError(RuntimeError):
    stage: str
    cause: BaseException

    def __str__(self) -> str:
        return f"demo stage '{self.stage}' failed: {self.cause}"


@dataclass(frozen=True)
class PipelineRun:
    records: tuple[StageRecord, ...] = field(default_factory=tuple)

    def __getitem__(self, name: str) -> StageRecord:
        for r in self.records:
            if r.name == name:
                return r
        raise KeyError(name)

    def summary(self) -> dict[str, Any]:
        return {r.name: {"seconds": round(r.seconds, 3), **dict(r.summary)} for r in self.records}


def run_pipeline(stages: Sequence[Stage], config: DemoConfig,
                 on_stage: Callable[[int, Stage, StageRecord | None], None] | None = None) -> PipelineRun:
    """Run ``stages`` in order; ``on_stage(i, stage, record)`` is called before (record None) and after each."""
    done: dict[str, StageRecord] = {}
    records: list[StageRecord] = []
    for i, stage in enumerate(stages):
        if on_stage:
            on_stage(i, stage, None)
        t0 = time.perf_counter()
        try:
            result, summary = stage.run(config, MappingProxyType(done))
        except (KeyboardInterrupt, SystemExit, InputError, DomainError):
            raise  # user errors keep their own one-line message
        except Exception as err:  # report which stage broke, keep the cause
            raise PipelineError(stage.name, err) from err
        rec = StageRecord(stage.name, stage.title, time.perf_counter() - t0, result, MappingProxyType(dict(summary)))
        done[stage.name] = rec
        records.append(rec)
        if on_stage:
            on_stage(i, stage, rec)
    return PipelineRun(tuple(records))
