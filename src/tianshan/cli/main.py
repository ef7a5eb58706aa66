"""The ``tianshan`` entry point.

Subcommands live one per module in :mod:`tianshan.cli` and are imported only
when invoked (so ``tianshan --help`` stays fast and heavy libraries load only
for the command that needs them). Each module exposes a click command or
group named ``command``.

Expected errors (bad input, a service that cannot be reached) print one line
``tianshan: error: ...`` on stderr and exit with status 2; no traceback.
"""

from __future__ import annotations

import importlib
import sys

import click

from tianshan import __version__

#: name -> (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("tianshan.cli.demo", "Run the whole chain on the built-in demo region (Mw 6.5 near Luntai)."),
    "simulate": ("tianshan.cli.simulate", "Simulate an earthquake scenario: SDS archive, StationXML, true QuakeML."),
    "region": ("tianshan.cli.region", "Region profiles: check, show, write the built-in demo region."),
    "db": ("tianshan.cli.db", "Event store: create/upgrade the schema, show its state."),
    "catalog": ("tianshan.cli.catalog", "Catalog: build it from waveforms, list it, export QuakeML/CSV/EQT."),
    "picks": ("tianshan.cli.picks", "Phase pickers: score a picker on analyst-picked windows."),
    "seedlink": ("tianshan.cli.seedlink", "SeedLink 3 server: replay an SDS archive or scenario in real time or faster."),
    "locate": ("tianshan.cli.locate", "Locate events from a NonLinLoc phase file (probabilistic, layered 1-D model)."),
    "run": ("tianshan.cli.run", "Real-time daemon: SeedLink/MQTT ingest, picking, events, products."),
    "alerts": ("tianshan.cli.alerts", "Earthquake early-warning messages: serve (WebSocket/MQTT/webhooks), publish, listen."),
    "etas": ("tianshan.cli.etas", "Space-time ETAS model: maximum-likelihood fit with stochastic declustering (R ETAS)."),
    "precursor": ("tianshan.cli.precursor", "Precursor series: ANA/ONA anomaly extraction (S-transform), R-score/Molchan efficacy."),
    "seismicity": ("tianshan.cli.seismicity", "Seismicity statistics: Mc and b-value, declustering, sequence types, foreshock traffic light."),
    "scenario": ("tianshan.cli.scenario", "Earthquake scenarios: intensity, exposure, PAGER losses, response level."),
    "serve": ("tianshan.cli.serve", "Data-centre web services: REST API, FDSN event/station/dataselect, dashboard; API tokens."),
    "qc": ("tianshan.cli.qc", "Data quality: MUSTANG/ISPAQ metrics per channel-day, PSD/PDF, channel exclusions."),
    "intensity": ("tianshan.cli.intensity", "Rapid intensity maps (GB/T 17742, MMI): ShakeMap v4 conditioning, grids, contours, grid.xml."),
    "report": ("tianshan.cli.report", "Bilingual HTML/PDF reports: loss (灾情评估) and consultation (会商)."),
    "eew": ("tianshan.cli.eew", "Earthquake early warning: replay OpenEEW records or simulated scenarios, score the alerts."),
}

#: Exit status for user errors (bad input, unusable files), as click uses for usage errors.
EXIT_USER_ERROR = 2


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[name][0])
        cmd = module.command
        cmd.name = name
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tianshan")
def cli() -> None:
    """Tianshan (天山): a regional seismic network system, from ground motion to alerts,
    maps, bulletins, loss estimates and forecasts."""


def _expected_errors() -> tuple[type[BaseException], ...]:
    from pydantic import ValidationError

    from tianshan.core.errors import DomainError, InputError

    return (InputError, DomainError, ValidationError, FileNotFoundError, PermissionError,
            IsADirectoryError, NotADirectoryError)


def _one_line(err: BaseException) -> str:
    text = str(err).strip() or err.__class__.__name__
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status (used by the console script)."""
    expected = _expected_errors()
    try:
        rv = cli.main(args=argv, prog_name="tianshan", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("tianshan: aborted", err=True)
        return 130
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except expected as err:  # noqa: B030 - tuple built at run time
        click.echo(f"tianshan: error: {_one_line(err)}", err=True)
        return EXIT_USER_ERROR
    except click.exceptions.Exit as err:
        return err.exit_code
    # With standalone_mode=False click returns ctx.exit()'s code or the command's return value.
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
