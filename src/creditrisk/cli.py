"""The ``creditrisk`` command: generate, validate, features, train, score, compare, plan,
verify-plan, report, explain, simulate-cycles, demo.

Every fault exits with code 2 and one message naming the file, table, column, rule and
rows, never a traceback (``creditrisk --debug ...`` shows it). Outputs pass one guard
(:func:`creditrisk.data.paths.check_output`): an output is never an input, inside one or
around one, and appears complete or not at all.

Example
-------
>>> from typer.testing import CliRunner
>>> result = CliRunner().invoke(app, ["validate", "--help"])
>>> result.exit_code
0
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from typer.core import TyperGroup
from typer.exceptions import TyperException

from creditrisk import inspection, synth
from creditrisk._version import __version__
from creditrisk.data import sql as io
from creditrisk.data.paths import OutputError, check_output, commit, staging_dir
from creditrisk.data.register import Register
from creditrisk.data.schema import SchemaError
from creditrisk.data.spine import data_span, spine
from creditrisk.data.tables import EventTables, atomic_file, load_sample
from creditrisk.features.builder import FeatureSpec, build_features
from creditrisk.features.labels import build_labels
from creditrisk.features.related import COUNTS as RELATED_COUNTS
from creditrisk.inspection.draw import PlanMismatch
from creditrisk.jobs import monitoring, scoring, tracking
from creditrisk.jobs.tracking import TrainConfig
from creditrisk.model.estimator import ModelError, RiskModel
from creditrisk.model.evaluation import tier_table
from creditrisk.model.training import fit_model
from creditrisk.policy.rules import Policy, PolicyError
from creditrisk.report.card import explain_card
from creditrisk.report.page import build_report

BAD_INPUT = 2
_STATE = {"debug": False}


class _Faults(TyperGroup):
    """Every exception of a command ends in one message and exit code 2 (``--debug``:
    the traceback)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException, KeyboardInterrupt):
            raise
        except Exception as exc:
            if _STATE["debug"] or os.environ.get("CREDITRISK_DEBUG"):
                raise
            err.print(f"[bold red]error:[/] {escape(_describe(exc))}", highlight=False)
            err.print("[dim](creditrisk --debug ... shows the traceback)[/]", highlight=False)
            raise typer.Exit(BAD_INPUT) from None


def _describe(exc: Exception) -> str:
    """A fault in words: what, and where (file, table, column, rows)."""
    if isinstance(exc, SchemaError):
        return f"the event tables are not valid\n{exc}"
    if isinstance(exc, ModelError):
        return f"the model cannot be used: {exc}"
    if isinstance(exc, OutputError | PlanMismatch | PolicyError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return f"{exc.strerror or exc}{where}"
    if isinstance(exc, MemoryError):
        return "out of memory: score in smaller chunks (--chunk-size)"
    if isinstance(exc, ValueError | KeyError | TypeError):
        return str(exc).strip("'\"") or type(exc).__name__
    return f"an unexpected {type(exc).__name__}: {exc}"


app = typer.Typer(
    cls=_Faults,
    help="Enterprise credit-risk tiers, reasons and inspection plans for market regulators.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


def _show_version(value: bool) -> None:
    if value:
        out.print(f"creditrisk {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the installed version of creditrisk and exit.",
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show the traceback of a fault instead of one message."),
    ] = False,
) -> None:
    """Enterprise credit-risk tiers, reasons and inspection plans for market regulators."""
    _STATE["debug"] = debug


def _fail(message: str) -> typer.Exit:
    # the message quotes data values: never let them be read as Rich markup
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(BAD_INPUT)


def _shown(source: str | Path) -> str:
    """A data source as it may be printed (a database URL without its password)."""
    if io.is_url(str(source)):
        import sqlalchemy as sa

        try:
            return sa.make_url(str(source)).render_as_string(hide_password=True)
        except sa.exc.ArgumentError:
            return str(source)
    return str(source)


def _register(data_map: Path | None, extracted_on: str | None) -> Register | None:
    """The register mapping, with the extraction date given on the command line."""
    try:
        register = Register.read(data_map) if data_map is not None else None
        if extracted_on is not None:
            register = dataclasses.replace(register or Register(), extracted_on=extracted_on)
    except (FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from None
    return register


def _read(
    source: str | Path,
    data_map: Path | None = None,
    extracted_on: str | None = None,
    validate: bool = True,
) -> EventTables:
    """A register from a directory or a database URL, through its mapping if given,
    validated (every rule of the data model) unless told not to."""
    register = _register(data_map, extracted_on)
    try:
        if io.is_url(str(source)):
            import sqlalchemy as sa

            try:
                tables = EventTables.read_sql(str(source), validate=False, register=register)
            except (sa.exc.SQLAlchemyError, ImportError) as exc:
                raise _fail(f"cannot read from {_shown(source)}: {exc}") from None
        else:
            tables = EventTables.read(Path(source), register=register)
        return tables.validate() if validate else tables
    except SchemaError as exc:
        raise _fail(f"{_shown(source)} does not hold valid event tables\n{exc}") from None
    except (FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from None


def _guard(target, *inputs, kind: str = "file") -> None:
    """The output guard, before any work: exit 2 naming the output and the input."""
    try:
        check_output(target, [i for i in inputs if i is not None], kind=kind)
    except OutputError as exc:
        raise _fail(str(exc)) from None


def _read_scores(path: Path, what: str = "scores") -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _fail(f"cannot read {what} from {path}: {first}") from None


def _load_model(model: str):
    try:
        return tracking.resolve_model(model)
    except (ModelError, OSError) as exc:
        raise _fail(f"cannot load the model {model}: {exc}") from None


def _local(path) -> Path | None:
    """A path worth guarding (a local file or directory), else None (a URL, an MLflow URI)."""
    text = str(path)
    return None if "://" in text or text.startswith(("models:/", "runs:/")) else Path(text)


_DATA_HELP = (
    "Directory of event tables, or a database URL (sqlite:///..., postgresql+psycopg://...)."
)
_MAP_HELP = (
    "Register mapping (TOML): tables, columns, vocabularies, dates, labels and declared "
    "features, for files and databases alike (see creditrisk.data.register)."
)
_EXTRACTED_HELP = (
    "The day the register was extracted: a date after it is an error (default: the "
    "mapping's extracted_on; without one, a year past today)."
)


def _summary_table(tables: EventTables, title: str) -> Table:
    table = Table(title=title)
    for col in ("table", "rows", "entities", "first known", "last known"):
        table.add_column(col, justify="right" if col in ("rows", "entities") else "left")
    for name, row in tables.summary().iterrows():
        dates = [str(d.date()) if d == d else "-" for d in (row.first_known, row.last_known)]
        table.add_row(str(name), f"{row.rows:,}", f"{row.entities:,}", *dates)
    return table


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the tables to.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of enterprises.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same world).")] = 7,
    start: Annotated[str, typer.Option(help="First day of the register.")] = "2018-01-01",
    end: Annotated[str, typer.Option(help="Last day of the register.")] = "2025-12-31",
    format: Annotated[str, typer.Option(help="parquet or csv.")] = "parquet",
    overwrite: Annotated[bool, typer.Option(help="Replace tables already there.")] = False,
    indicators: Annotated[
        bool,
        typer.Option(
            help="Also the indicator system's tables (roles, changes, complaints, "
            "external_lists) and enterprises' addresses; --no-indicators: the six "
            "event tables only."
        ),
    ] = True,
) -> None:
    """Generate a synthetic register (six event tables + inspectors) into a directory."""
    if format not in ("parquet", "csv"):
        raise _fail(f"--format must be parquet or csv, not {format!r}")
    if any(out_dir.glob("enterprises.*")) and not overwrite:
        raise _fail(f"{out_dir} already holds tables; pass --overwrite to replace them")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} months"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(f"simulating {n:,} enterprises", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            world = synth.generate(
                n, start=start, end=end, seed=seed, progress=progress, indicators=indicators
            )
        except ValueError as exc:
            raise _fail(str(exc)) from None
    try:
        world.write(out_dir, format=format, overwrite=overwrite)
    except (OutputError, FileExistsError) as exc:
        raise _fail(str(exc)) from None
    out.print(_summary_table(world.tables, f"Wrote {out_dir}"))


@app.command()
def validate(
    data: Annotated[str, typer.Argument(help=_DATA_HELP)],
    data_map: Annotated[Path | None, typer.Option(help=_MAP_HELP)] = None,
    extracted_on: Annotated[str | None, typer.Option(help=_EXTRACTED_HELP)] = None,
) -> None:
    """Check event tables against the data model; exit 2 with the problems if any."""
    tables = _read(data, data_map, extracted_on, validate=False)
    try:
        tables.validate()
    except SchemaError as exc:
        raise _fail(f"{_shown(data)} fails validation\n{exc}") from None
    out.print(_summary_table(tables, f"{_shown(data)}: valid"))


@app.command()
def features(
    data: Annotated[str, typer.Option("--data", help=_DATA_HELP)],
    as_of: Annotated[list[str], typer.Option("--as-of", help="As-of date (repeat for several).")],
    out_file: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    outcome: Annotated[
        str | None,
        typer.Option(help="Also write this label: inspection_finding, any_finding, adverse_event."),
    ] = None,
    horizon: Annotated[
        str | None, typer.Option(help="Label horizon (default: the mapping's, else 365D).")
    ] = None,
    penalty_counting: Annotated[
        str, typer.Option(help="disclosed (only while disclosed) or known.")
    ] = "disclosed",
    restored_penalties: Annotated[
        str, typer.Option(help="exclude (stop counting once restored) or include.")
    ] = "exclude",
    data_map: Annotated[Path | None, typer.Option(help=_MAP_HELP)] = None,
    extracted_on: Annotated[str | None, typer.Option(help=_EXTRACTED_HELP)] = None,
) -> None:
    """Build point-in-time features (and optionally labels) for every registered entity."""
    _guard(out_file, _local(data), data_map)
    tables = _read(data, data_map, extracted_on)
    try:
        spec = FeatureSpec(penalty_counting=penalty_counting, restored_penalties=restored_penalties)
        rows = spine(tables, as_of)
        frame = build_features(tables, rows, spec)
        if outcome:
            frame[outcome] = build_labels(tables, rows, outcome=outcome, horizon=horizon)
    except SchemaError as exc:
        raise _fail(f"{_shown(data)}: {exc}") from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    with atomic_file(out_file, inputs=[_local(data), data_map, tables]) as tmp:
        frame.to_parquet(tmp, index=False)
    dates = ", ".join(sorted({str(d.date()) for d in frame["as_of"]}))
    out.print(f"Wrote {len(frame):,} rows x {frame.shape[1] - 2} columns ({dates}) to {out_file}")


@app.command()
def train(
    data: Annotated[str, typer.Option("--data", help=_DATA_HELP)],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Also write the model directory here.")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="train.toml: train, log to MLflow, register, promote if better."),
    ] = None,
    track: Annotated[
        bool, typer.Option(help="Log to MLflow with the default settings (no --config).")
    ] = False,
    promote: Annotated[
        bool, typer.Option(help="Make the new version champion whatever the comparison.")
    ] = False,
    tracking_uri: Annotated[
        str | None,
        typer.Option(help="MLflow store (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)."),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(help="Policy: a shipped name (national, daqing) or a TOML path."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing model directory.")] = False,
    threads: Annotated[int | None, typer.Option(help="LightGBM threads (default 2).")] = None,
    data_map: Annotated[Path | None, typer.Option(help=_MAP_HELP)] = None,
    extracted_on: Annotated[str | None, typer.Option(help=_EXTRACTED_HELP)] = None,
) -> None:
    """Train a risk model over as-of dates and test it on a later one.

    With --config (or --track) the run is logged to MLflow, registered as a new version
    of the model and made champion only if it beats the current one. With --out the
    model directory (LightGBM text + JSON metadata, MODEL_CARD.md) is written too, signed
    when CREDITRISK_SIGNING_KEY names a key (see creditrisk.model.signing).
    """
    if out_dir is None and config is None and not track:
        raise _fail("nothing to do: give --out DIR, --config train.toml, or --track")
    if out_dir is not None and out_dir.exists() and not overwrite:
        raise _fail(f"{out_dir} exists; pass --overwrite to replace it")
    if out_dir is not None:
        _guard(out_dir, _local(data), data_map, config, kind="model")
    tables = _read(data, data_map, extracted_on)
    try:
        settings = TrainConfig.from_toml(config) if config else TrainConfig()
        if policy is not None:
            settings = dataclasses.replace(settings, policy=policy)
        if threads is not None or "num_threads" not in settings.model:
            model_params = settings.model | {"num_threads": threads or 2}
            settings = dataclasses.replace(settings, model=model_params)
        if config or track:
            run = tracking.train(tables, settings, tracking_uri=tracking_uri, promote=promote)
            result = run.result
        else:
            result = fit_model(
                tables,
                settings.policy,
                settings.train_as_of,
                settings.test_as_of,
                settings.horizon,
                **settings.model,
            )
    except SchemaError as exc:
        raise _fail(f"{_shown(data)}: {exc}") from None
    except (ValueError, PolicyError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    m = result.metrics
    out.print(
        f"Trained {result.model.n_trees_} trees; test AUC {m['auc']:.3f}, average precision "
        f"{m['average_precision']:.3f}, Brier {m['brier']:.4f} on {m['n']:,} labelled rows."
    )
    if out_dir is not None:
        _save_model(result.model, result.card, out_dir)
        out.print(f"Wrote {out_dir} (card: {out_dir / 'MODEL_CARD.md'})")
    if config or track:
        c = run.comparison
        against = (
            f"champion v{c['champion_version']} {c['champion']:.4f}"
            if c["champion"] is not None
            else "no champion to compare"
        )
        out.print(
            f"MLflow run {run.run_id} ({run.tracking_uri}): registered "
            f"{run.registered_model} v{run.version}; {c['metric']} {c['challenger']:.4f} vs "
            f"{against}: {c['decision']}; "
            + (f"now {run.model_uri} is @champion" if run.promoted else "champion unchanged")
        )


def _save_model(model, card: str, out_dir: Path) -> None:
    """The model directory and its card, in place together or not at all."""
    try:
        with staging_dir(out_dir) as staging:
            folder = model.save(staging / "model")
            (folder / "MODEL_CARD.md").write_text(card, encoding="utf-8")
            commit([(folder, out_dir)])
    except (ModelError, OutputError) as exc:
        raise _fail(str(exc)) from None


@app.command()
def score(
    model: Annotated[
        str, typer.Option(help="Model directory or MLflow URI (models:/creditrisk@champion).")
    ],
    data: Annotated[str, typer.Option("--data", help=_DATA_HELP)],
    as_of: Annotated[list[str], typer.Option("--as-of", help="As-of date (repeat for several).")],
    out_file: Annotated[
        str, typer.Option("--out", help="Parquet file of scores, or a database URL.")
    ],
    chunk_size: Annotated[
        int, typer.Option(min=1, help="Entities per chunk (memory follows the chunk).")
    ] = 250_000,
    features: Annotated[
        bool, typer.Option(help="Write the features beside the scores (for compare).")
    ] = True,
    top_k: Annotated[int | None, typer.Option(min=0, help="Reasons per entity.")] = None,
    threads: Annotated[int | None, typer.Option(min=1, help="Threads for explanations.")] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            help="Processes scoring chunks side by side (-1: one per core; 1: one process).",
        ),
    ] = -1,
    engine: Annotated[str, typer.Option(help="pandas (one machine) or spark.")] = "pandas",
    spark_master: Annotated[str, typer.Option(help="Spark master for --engine spark.")] = (
        "local[*]"
    ),
    buckets: Annotated[
        int | None, typer.Option(min=1, help="Entity buckets for --engine spark.")
    ] = None,
    data_map: Annotated[Path | None, typer.Option(help=_MAP_HELP)] = None,
    table: Annotated[
        str, typer.Option(help="Database table when --out is a URL.")
    ] = "creditrisk_scores",
    if_exists: Annotated[
        str,
        typer.Option(
            help="When --out is a URL and the table exists: fail, replace, append (refused "
            "when the run is already there), replace-run (replace just this run)."
        ),
    ] = "fail",
    extracted_on: Annotated[str | None, typer.Option(help=_EXTRACTED_HELP)] = None,
) -> None:
    """Score every registered entity: probability, tier and reasons, with a manifest.

    The output and its manifest (model registry name, version, run and digest, whether
    its signature was verified, data fingerprint, as_of, counts, timings) are committed
    together when complete: an interrupted job leaves the previous pair as it was, and
    the next run removes what it left. --out may not be, contain or lie inside an input.
    With a database URL as --out, the rows go to --table in one transaction, each with
    the run's identifiers.
    """
    if engine not in ("pandas", "spark"):
        raise _fail(f"--engine must be pandas or spark, not {engine!r}")
    if jobs == 0:
        raise _fail("--jobs must not be 0: -1 for one process per core, 1 for one process")
    if engine == "spark" and (io.is_url(data) or io.is_url(out_file)):
        raise _fail("--engine spark reads and writes parquet: export the tables first")
    if if_exists not in io.IF_EXISTS:
        raise _fail(f"--if-exists must be one of {', '.join(io.IF_EXISTS)}, not {if_exists!r}")
    if not io.is_url(out_file):
        kind = "dir" if engine == "spark" else "file"
        _guard(out_file, _local(data), data_map, _local(model), kind=kind)
        _guard(scoring.manifest_path(out_file), _local(data), data_map, _local(model))
    # a database is read chunk by chunk (each chunk's entities in its SQL), as is a
    # directory of our tables; a directory through a mapping is read (and mapped) whole
    register = None
    if io.is_url(data):
        source, register = data, _register(data_map, extracted_on)
    elif data_map is not None:
        source = _read(data, data_map, extracted_on, validate=False)
    else:
        source = Path(data)
    chosen = _load_model(model)
    if threads is not None:
        chosen.set_params(num_threads=threads)
    if engine == "spark":
        _score_spark(
            chosen,
            Path(data),
            as_of,
            Path(out_file),
            features,
            top_k,
            spark_master,
            buckets,
            extracted_on,
        )
        return

    def score_into(target: Path) -> dict:
        return _score_pandas(
            chosen, source, as_of, target, chunk_size, features, top_k, extracted_on, register, jobs
        )

    if io.is_url(out_file):
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "scores.parquet"
            manifest = score_into(target)
            rows = pd.read_parquet(target)
        ids = io.run_identifiers(manifest)
        _write_sql(rows, out_file, table, if_exists, ids)
        _print_scoring(manifest, f"{_shown(out_file)} table {table} (run {ids['run_id']})")
        return
    manifest = score_into(Path(out_file))
    _print_scoring(manifest, Path(out_file))


def _write_sql(
    frame: pd.DataFrame, url: str, table: str, if_exists: str, ids=None, run_column="run_id"
) -> None:
    """Write rows to a database table in one transaction, or exit 2 having written none."""
    try:
        io.write_sql(frame, url, table, if_exists, identifiers=ids, run_column=run_column)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    except Exception as exc:  # the database refused: the transaction rolled back
        raise _fail(f"cannot write to {_shown(url)}: {exc}") from None


def _score_pandas(
    chosen,
    source,
    as_of,
    out_file: Path,
    chunk_size,
    features,
    top_k,
    extracted_on=None,
    register=None,
    jobs: int = -1,
) -> dict:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("entities"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("scoring", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            manifest = scoring.score_register(
                source,
                chosen,
                as_of,
                out_file,
                chunk_size=chunk_size,
                features=features,
                top_k=top_k,
                progress=progress,
                extracted_on=extracted_on if isinstance(source, Path) else None,
                register=register,
                n_jobs=jobs,
            )
    except SchemaError as exc:
        raise _fail(f"{_shown(source)} does not hold valid event tables\n{exc}") from None
    except ImportError as exc:
        raise _fail(f"cannot read from {_shown(source)}: {exc}") from None
    except (ModelError, ValueError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    except scoring.ScoringProcessError as exc:  # not the input's fault: exit 1, said plainly
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except Exception as exc:
        import sqlalchemy as sa

        if isinstance(exc, sa.exc.SQLAlchemyError):  # the database refused or is away
            raise _fail(f"cannot read from {_shown(source)}: {exc}") from None
        raise
    return manifest


def _print_scoring(manifest: dict, target: Path | str) -> None:
    tiers = ", ".join(f"{t} {n:,}" for t, n in sorted(manifest["tiers"].items()))
    timing = manifest["timings_s"]["total"]
    where = f"{target} and {scoring.manifest_path(target)}" if isinstance(target, Path) else target
    out.print(
        f"Scored {manifest['rows']:,} rows as of {', '.join(manifest['as_of'])} in "
        f"{timing:.1f} s; tiers: {tiers}. Wrote {where}"
    )


def _score_spark(
    model, data, as_of, out_file, features, top_k, master, buckets, extracted_on=None
) -> None:
    try:
        import pyspark  # noqa: F401

        from creditrisk.jobs import spark as engine
    except ImportError:
        raise _fail("--engine spark needs PySpark: pip install 'creditrisk[spark]'") from None

    if not data.is_dir():
        raise _fail(f"no event-table directory at {data}")
    from pyspark.sql import SparkSession

    existing = SparkSession.getActiveSession()  # e.g. a notebook's: leave it running
    session = engine.local_session(master)
    try:
        engine.score(
            session,
            data,
            model,
            as_of,
            out_file,
            buckets=buckets,
            features=features,
            top_k=top_k,
            extracted_on=extracted_on,
        )
    except (ModelError, ValueError) as exc:
        raise _fail(str(exc)) from None
    finally:
        if existing is None:
            session.stop()
    manifest = json.loads(scoring.manifest_path(out_file).read_text(encoding="utf-8"))
    _print_scoring(manifest, out_file)


@app.command()
def compare(
    old: Annotated[Path, typer.Argument(help="Scores of the earlier run (parquet).")],
    new: Annotated[Path, typer.Argument(help="Scores of the later run (parquet).")],
    psi_warn: Annotated[float, typer.Option(help="Warn at this PSI.")] = 0.10,
    psi_alert: Annotated[float, typer.Option(help="Alert at this PSI.")] = 0.25,
    migration_warn: Annotated[
        float, typer.Option(help="Warn when this share of entities changes tier.")
    ] = 0.10,
    tier_share_warn: Annotated[
        float, typer.Option(help="Warn when a tier's share moves this much (absolute).")
    ] = 0.05,
    bins: Annotated[int, typer.Option(min=2, help="PSI bins (equal count in OLD).")] = 10,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the comparison as JSON.")
    ] = None,
    fail_on_alert: Annotated[
        bool, typer.Option(help="Exit with code 1 when any PSI reaches the alert level.")
    ] = False,
) -> None:
    """Population stability (score and every feature) and tier migration between runs."""
    if json_out is not None:
        _guard(json_out, old, new)
    frames = [_read_scores(path) for path in (old, new)]
    limits = monitoring.Thresholds(psi_warn, psi_alert, migration_warn, tier_share_warn)
    try:
        result = monitoring.compare(*frames, thresholds=limits, bins=bins)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    s = result.summary
    out.print(
        f"{s['in_both']:,} entities in both runs ({s['only_old']:,} only in {old.name}, "
        f"{s['only_new']:,} only in {new.name}); score PSI {s['score_psi']:.4f}; "
        f"{s['tier_changed_share']:.1%} changed tier ({s['to_riskier_tier']:,} riskier, "
        f"{s['to_safer_tier']:,} safer)"
    )
    shown = Table(title="Tier migration (rows: old tier, columns: new tier)")
    shown.add_column("old tier")
    for tier in result.migration.columns:
        shown.add_column(str(tier), justify="right")
    for tier, row in result.migration.iterrows():
        shown.add_row(str(tier), *(f"{v:,}" for v in row))
    out.print(shown)
    psi_table = Table(title="Population stability index (largest first)")
    for column in ("variable", "kind", "PSI", "status"):
        psi_table.add_column(column, justify="right" if column == "PSI" else "left")
    top = pd.concat([result.psi.iloc[:1], result.psi.iloc[1:].head(10)])
    for variable, row in top.iterrows():
        psi_table.add_row(str(variable), row["kind"], f"{row['psi']:.4f}", row["status"])
    out.print(psi_table)
    for warning in result.warnings:
        err.print(f"[yellow]{escape(warning)}[/]", highlight=False)
    if not result.warnings:
        out.print("No warnings.")
    if json_out is not None:
        with atomic_file(json_out, inputs=[old, new]) as tmp:
            tmp.write_text(json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")
        out.print(f"Wrote {json_out}")
    if fail_on_alert and result.alert:
        raise typer.Exit(1)


def _plan_inputs(scores_file: Path, inspectors: Path, policy: str, history: Path | None):
    scores = _read_scores(scores_file)
    try:
        register = inspection.InspectorRegister.read(inspectors)
        chosen = Policy.load(policy)
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    tables = _read(history) if history else None
    return scores, register, chosen, tables


def _rates(scores, chosen, period: str, budget: float | None):
    if budget is None:
        return inspection.frequency_table(scores, chosen, period)
    return inspection.allocate(scores, budget, chosen, period).table


_SCORES_HELP = "Parquet of scores: entity_id, tier, probability, key_sector, region."


@app.command()
def plan(
    scores_file: Annotated[Path, typer.Option("--scores", help=_SCORES_HELP)],
    inspectors: Annotated[
        Path, typer.Option(help="Directory with inspectors and inspector_conflicts files.")
    ],
    seed: Annotated[int, typer.Option(help="Seed of the draw (publish it with the plan).")],
    out_file: Annotated[
        str, typer.Option("--out", help="Parquet file of the plan, or a database URL.")
    ],
    policy: Annotated[str, typer.Option(help="Policy name or TOML path.")] = "national",
    period: Annotated[str, typer.Option(help="Planning period, e.g. 1Y or 6M.")] = "1Y",
    budget: Annotated[
        float | None, typer.Option(help="Inspections available: allocate rates to it.")
    ] = None,
    history: Annotated[
        Path | None, typer.Option(help="Event tables: avoid each entity's last inspectors.")
    ] = None,
    table: Annotated[
        str, typer.Option(help="Database table when --out is a URL.")
    ] = "creditrisk_plan",
    if_exists: Annotated[
        str,
        typer.Option(
            help="When --out is a URL and the table exists: fail, replace, append, replace-run."
        ),
    ] = "fail",
) -> None:
    """Draw the targets and inspectors of a double-random inspection plan."""
    if not io.is_url(out_file):
        _guard(out_file, scores_file, inspectors, history, _local(policy))
    scores, register, chosen, tables = _plan_inputs(scores_file, inspectors, policy, history)
    try:
        rates = _rates(scores, chosen, period, budget)
        drawn = inspection.draw(scores, register, chosen, seed, period, rates, tables)
    except ValueError as exc:  # StaffingError included
        raise _fail(str(exc)) from None
    if io.is_url(out_file):
        _write_sql(drawn, out_file, table, if_exists, run_column="plan_sha256")
        where = f"{_shown(out_file)} table {table}"
        workload = _workload(drawn, register)
    else:
        workload = _write_plan(drawn, register, Path(out_file))
        where = out_file
    out.print(
        f"Plan of {len(drawn):,} visits to {drawn['entity_id'].nunique():,} entities, seed "
        f"{seed}, {workload}; wrote {where}"
    )


def _write_plan(drawn: pd.DataFrame, register, target: Path) -> str:
    """Write a plan atomically; its inspector workload in words."""
    with atomic_file(target) as tmp:
        drawn.to_parquet(tmp, index=False)
    return _workload(drawn, register)


def _workload(drawn: pd.DataFrame, register) -> str:
    load = inspection.workload(drawn, register)["visits"]
    return f"workload {load.min()}-{load.max()} visits per inspector"


@app.command("verify-plan")
def verify_plan(
    plan_file: Annotated[Path, typer.Option("--plan", help="The plan's parquet file.")],
    scores_file: Annotated[Path, typer.Option("--scores", help=_SCORES_HELP)],
    inspectors: Annotated[
        Path, typer.Option(help="Directory with inspectors and inspector_conflicts files.")
    ],
    policy: Annotated[str, typer.Option(help="Policy name or TOML path.")] = "national",
    budget: Annotated[float | None, typer.Option(help="The budget the plan used, if any.")] = None,
    history: Annotated[Path | None, typer.Option(help="The event tables the plan used.")] = None,
) -> None:
    """Re-draw a published plan from its inputs and seed, and confirm it."""
    scores, register, chosen, tables = _plan_inputs(scores_file, inspectors, policy, history)
    published = _read_scores(plan_file, "the plan")
    try:
        if not len(published) or "period" not in published:
            raise inspection.PlanMismatch(
                "the file holds no creditrisk plan (no visits, no period)"
            )
        period = str(published["period"].iat[0])
        table = _rates(scores, chosen, period, budget)
        inspection.verify(published, scores, register, chosen, table, tables)
    except (OSError, ValueError) as exc:  # PlanMismatch included
        raise _fail(f"the plan does not verify: {exc}") from None
    out.print(f"Verified: {plan_file} is the draw of seed {published['seed'].iat[0]}")


@app.command()
def report(
    scores_file: Annotated[Path, typer.Option("--scores", help="Parquet of a scoring run.")],
    model: Annotated[
        str, typer.Option(help="Model directory or MLflow URI (models:/creditrisk@champion).")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
    data: Annotated[
        str | None,
        typer.Option("--data", help=_DATA_HELP + " For finding rates and fairness checks."),
    ] = None,
    data_map: Annotated[Path | None, typer.Option(help=_MAP_HELP)] = None,
    previous: Annotated[
        Path | None, typer.Option(help="Scores of the last run, for the tier migration.")
    ] = None,
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="Inspection plan (parquet) to summarise.")
    ] = None,
    inspectors: Annotated[
        Path | None, typer.Option(help="Inspector register, for the plan's workload.")
    ] = None,
    outcome_as_of: Annotated[
        str | None,
        typer.Option(
            help="As-of date of the finding rates (default: the latest whose "
            "12 months are in the data)."
        ),
    ] = None,
    shap_rows: Annotated[
        int, typer.Option(min=1, help="Rows sampled (seeded) for the SHAP summary.")
    ] = 5_000,
) -> None:
    """Write the supervisor's report of a scoring run as one self-contained HTML file."""
    inputs = (scores_file, _local(model), data and _local(data), data_map, previous, plan_file)
    _guard(out_file, *inputs, inspectors, scoring.manifest_path(scores_file))
    scores = _read_scores(scores_file)
    chosen = _load_model(model)
    tables = _read(data, data_map) if data is not None else None
    manifest_file = scoring.manifest_path(scores_file)
    try:
        manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(f"{manifest_file} is not a readable manifest: {exc}") from None
    try:
        register = inspection.InspectorRegister.read(inspectors) if inspectors else None
        result = build_report(
            scores,
            chosen,
            tables=tables,
            previous=_read_scores(previous, "the previous run") if previous else None,
            plan=_read_scores(plan_file, "the plan") if plan_file else None,
            register=register,
            manifest=manifest,
            outcome_as_of=outcome_as_of,
            max_shap_rows=shap_rows,
        )
    except (KeyError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    result.write(out_file)
    for note in result.notes:
        out.print(f"[dim]not shown: {escape(note)}[/]")
    out.print(f"Wrote the report to {out_file} ({out_file.stat().st_size / 1024:,.0f} KiB)")


@app.command()
def explain(
    entity_id: Annotated[str, typer.Argument(help="The enterprise's entity_id.")],
    model: Annotated[
        str, typer.Option(help="Model directory or MLflow URI (models:/creditrisk@champion).")
    ],
    data: Annotated[str, typer.Option("--data", help=_DATA_HELP)],
    as_of: Annotated[str, typer.Option("--as-of", help="The date of the assessment.")],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the card here (.html, or .txt for text).")
    ] = None,
    data_map: Annotated[Path | None, typer.Option(help=_MAP_HELP)] = None,
) -> None:
    """Explain one enterprise's tier: records, reasons with weights, overrides, recourse."""
    if out_file is not None:
        _guard(out_file, _local(model), _local(data), data_map)
    chosen = _load_model(model)
    tables = _read(data, data_map)
    try:
        card = explain_card(chosen, entity_id, tables=tables, as_of=as_of)
    except (KeyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    out.print(card.text, highlight=False, markup=False)
    if out_file is not None:
        card.write(out_file)
        out.print(f"Wrote the card to {out_file}")


@app.command("simulate-cycles")
def simulate_cycles(
    out_file: Annotated[
        Path, typer.Option("--out", help="The cycle table: a .csv or .parquet file.")
    ],
    budget: Annotated[float, typer.Option(help="Inspections a month, in every regime.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Enterprises in the world.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Seed of the world and of the loop.")] = 7,
    start: Annotated[str, typer.Option(help="First day of the world.")] = "2019-01-01",
    end: Annotated[str, typer.Option(help="Last day of the world.")] = "2025-12-31",
    months: Annotated[
        int, typer.Option(min=1, help="Monthly cycles, the last in the world's last month.")
    ] = 12,
    retrain_every: Annotated[
        int, typer.Option(min=0, help="Retrain every this many cycles (0: never).")
    ] = 6,
    regime: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Regime ({', '.join(synth.REGIMES)}); repeat for several. Default: all."
        ),
    ] = None,
    policy: Annotated[str, typer.Option(help="Policy name or TOML path.")] = "national",
    model: Annotated[
        Path | None,
        typer.Option(help="Model directory for the first cycles (default: trained on the world)."),
    ] = None,
    min_inspectors: Annotated[
        int,
        typer.Option(
            min=1,
            help="Inspectors per region at least: the world's default 6 leaves a small world "
            "one or two specialists per key sector, too few to staff the draw.",
        ),
    ] = 20,
    threads: Annotated[int, typer.Option(min=1, help="LightGBM threads.")] = 2,
) -> None:
    """Close the loop on a synthetic world: score, draw, inspect, retrain, month by month.

    Every regime runs on the same world, seed and budget; the cycle table (one row per
    regime and month: findings per 100 inspections, the model's AUC against the truth,
    naive and weighted estimates of the population finding rate against the true one,
    entities never inspected) is written to --out.
    """
    regimes = list(regime or synth.REGIMES)
    unknown = [r for r in regimes if r not in synth.REGIMES]
    if unknown:
        raise _fail(f"--regime must be among {', '.join(synth.REGIMES)}, not {unknown[0]!r}")
    if not budget > 0:
        raise _fail(f"--budget must be a positive number of inspections a month, not {budget}")
    if out_file.suffix not in (".csv", ".parquet"):
        raise _fail(f"--out must end in .csv or .parquet, not {out_file.name!r}")
    if out_file.is_dir():
        raise _fail(f"--out {out_file} is a directory")
    inputs = [Path(policy), *([model] if model is not None else [])]
    if any(p.exists() and p.resolve() == out_file.resolve() for p in inputs):
        raise _fail(f"--out {out_file} is an input of the run: refusing to write over it")
    try:
        chosen = Policy.load(policy)
        first = RiskModel.load(model) if model is not None else None
    except (OSError, ValueError) as exc:  # PolicyError and ModelError included
        raise _fail(str(exc)) from None
    params = synth.WorldParams(min_inspectors_per_region=min_inspectors)
    try:
        with err.status(f"simulating {n:,} enterprises"):
            world = synth.generate(n, start=start, end=end, seed=seed, params=params)
        with err.status(f"{months} cycles x {len(regimes)} regimes"):
            table = synth.compare_regimes(
                world,
                chosen,
                regimes,
                months=months,
                budget=budget,
                retrain_every=retrain_every or None,
                seed=seed,
                model=first,
                model_params={"num_threads": threads},
            )
    except ValueError as exc:  # StaffingError and ModelError included
        raise _fail(str(exc)) from None
    with atomic_file(out_file) as tmp:
        if out_file.suffix == ".csv":
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)
    shown = Table(title=f"{months} cycles, {budget:,.0f} inspections a month")
    for column in ("regime", "findings / 100", "Hajek covers", "naive error", "never inspected"):
        shown.add_column(column, justify="left" if column == "regime" else "right")
    for name, part in table.groupby("regime", sort=False):
        shown.add_row(
            str(name),
            f"{part['findings_per_100'].mean():.1f}",
            f"{int(part['hajek_covers'].sum())}/{len(part)}",
            f"{part['naive_error'].mean():+.3f}",
            f"{int(part['never_inspected'].iat[-1]):,}",
        )
    out.print(shown)
    out.print(f"Wrote {len(table):,} cycles to {out_file}")


def _tier_rich(table: pd.DataFrame, title: str) -> Table:
    shown = Table(title=title)
    for column in ("tier", "entities", "share", "mean probability", "labelled", "finding rate"):
        shown.add_column(column, justify="left" if column == "tier" else "right")
    for tier, row in table.iterrows():
        shown.add_row(
            str(tier),
            f"{int(row['entities']):,}",
            f"{row['share']:.1%}",
            f"{row['mean_probability']:.3f}",
            f"{int(row['labelled']):,}",
            "" if pd.isna(row["finding_rate"]) else f"{row['finding_rate']:.1%}",
        )
    return shown


def _frequency_rich(table: pd.DataFrame, title: str) -> Table:
    shown = Table(title=title)
    for column in ("tier", "sector", "entities", "rate", "inspections", "findings", "rule"):
        shown.add_column(
            column, justify="left" if column in ("tier", "sector", "rule") else "right"
        )
    for row in table.itertuples():
        shown.add_row(
            str(row.tier),
            row.sector,
            f"{row.entities:,}",
            f"{row.rate:.3f}",
            f"{row.expected_inspections:,.0f}",
            f"{row.expected_findings:,.0f}",
            escape(row.rule),
        )
    return shown


def _explanation(row: pd.Series, top_k: int) -> str:
    lines = [
        f"[bold]{escape(row['entity_id'])}[/]: tier [bold]{row['tier']}[/] "
        f"(probability {row['probability']:.1%}, model tier {row['score_tier']})"
    ]
    if row["override_reason"]:
        lines.append(f"  override: {escape(row['override_reason'])}")
    for i in range(1, top_k + 1):
        if row[f"reason_{i}"]:
            lines.append(
                f"  {i}. {escape(row[f'reason_{i}'])} "
                f"[dim](+{row[f'reason_{i}_contribution']:.2f} log-odds)[/]"
            )
    return "\n".join(lines)


def _example_card(model, scores: pd.DataFrame, tables, as_of):
    """The card of the riskiest entity on the abnormal list that has a way to a lower
    tier (of the first twenty), else of the riskiest entity."""
    listed = scores[scores["on_abnormal_list"] == 1] if "on_abnormal_list" in scores else scores
    candidates = listed.sort_values("probability", ascending=False, kind="stable").head(20)
    first = None
    for entity_id in [
        *candidates["entity_id"],
        scores.loc[scores["probability"].idxmax(), "entity_id"],
    ]:
        card = explain_card(model, str(entity_id), tables=tables, as_of=as_of)
        if len(card.helpful_plans()):
            return card
        first = first or card
    return first


def _related_card(model, scores: pd.DataFrame, tables, as_of):
    """The card of the riskiest entity with a related-party reason (None without one)."""
    reasons = [c for c in scores.columns if c.startswith("reason_") and c.endswith("_feature")]
    relational = set(RELATED_COUNTS) - {"linked_enterprises"}
    hit = scores[reasons].apply(lambda c: c.astype("str").isin(relational)).any(axis=1)
    if not hit.any():
        return None
    riskiest = scores[hit].sort_values("probability", ascending=False, kind="stable")
    return explain_card(model, str(riskiest["entity_id"].iloc[0]), tables=tables, as_of=as_of)


@app.command()
def demo(
    n: Annotated[
        int, typer.Option("--n", help="Generate this many enterprises instead of the sample.")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Seed when generating.")] = 7,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where to write scores, plan and the MLflow store.")
    ] = Path("demo-output"),
) -> None:
    """Run the whole flow on the packaged sample (or a freshly generated world)."""
    if n:
        out.print(f"Generating a synthetic world of {n:,} enterprises (seed {seed})...")
        world = synth.generate(n, seed=seed)
        tables = world.tables
        register = inspection.InspectorRegister(world.inspectors, world.conflicts)
        source = f"synthetic world, {n:,} enterprises, seed {seed}"
    else:
        tables = load_sample()
        register = inspection.load_sample_register()
        source = "packaged sample (10,000 enterprises, 2018-2025, seed 7)"
    tables.validate()
    out.print(_summary_table(tables, f"Event tables: {source} - valid"))
    ent = tables.enterprises
    shares = ent["entity_type"].value_counts(normalize=True)
    out.print("Entity types: " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items() if v > 0))
    registered = ent["deregistered_on"].isna().sum()
    out.print(f"Still registered at the end: {registered:,} of {len(ent):,}")
    ins = tables.inspections
    random = ins[ins["kind"] == "random"]
    rate = (random["outcome"] != "compliant").mean()
    out.print(f"Random inspections: {len(random):,}, finding rate {rate:.1%}")

    last_day = data_span(tables)[1]
    as_of = last_day + pd.Timedelta(days=1) - pd.DateOffset(months=18)  # 1 July
    rows = spine(tables, as_of)
    frame = build_features(tables, rows)
    label = build_labels(tables, rows, outcome="inspection_finding", horizon="365D")
    defined = label.notna()
    out.print(
        f"Features as of {as_of.date()}: {len(frame):,} registered entities x "
        f"{frame.shape[1] - 2} features; inspection_finding label defined for "
        f"{defined.sum():,} ({defined.mean():.1%}), positive rate {label[defined].mean():.1%}"
    )

    store = tracking.resolve_tracking_uri(
        None if "MLFLOW_TRACKING_URI" in os.environ else f"sqlite:///{out_dir.resolve()}/mlflow.db"
    )
    out.print(f"Training a risk model (policy national), tracked in MLflow at {store}...")
    run = tracking.train(
        tables,
        TrainConfig(model={"num_threads": 2}, experiment="creditrisk-demo"),
        tracking_uri=store,
    )
    result = run.result
    model, m = result.model, result.metrics
    out.print(
        f"{model.n_trees_} trees of depth {model.max_depth}; test as of "
        f"{result.X_test['as_of'].iloc[0].date()}: AUC {m['auc']:.3f}, Brier {m['brier']:.4f}"
    )
    c = run.comparison
    out.print(
        f"Registered {run.registered_model} v{run.version} (run {run.run_id}); "
        f"{c['decision']}: "
        + ("it is now @champion" if run.promoted else f"v{c['champion_version']} stays champion")
    )
    scores = model.classify(result.X_test)
    out.print(_tier_rich(tier_table(scores, result.y_test), "Tiers on the test date"))
    examples = [
        scores[scores["tier"] == scores["tier"].cat.categories[-1]].head(1),
        scores[scores["override"] != ""].head(1),
        scores[scores["tier"] == scores["tier"].cat.categories[1]].head(1),
    ]
    out.print("[bold]Three example explanations[/]")
    for example in examples:
        if len(example):
            out.print(_explanation(example.iloc[0], model.top_k))

    # batch scoring of the register today (the day after the data ends), with a manifest
    today = last_day + pd.Timedelta(days=1)
    target = out_dir / "scores.parquet"
    manifest = scoring.score_register(tables, model, today, target, chunk_size=4_000)
    _print_scoring(manifest, target)
    current = pd.read_parquet(target)
    test_scores = scoring.score_chunk(tables, model, result.X_test["as_of"].iloc[0])
    drift = monitoring.compare(test_scores, current)
    out.print(
        f"Since the test date: score PSI {drift.summary['score_psi']:.3f}, "
        f"{drift.summary['tier_changed_share']:.1%} of entities changed tier; "
        f"{len(drift.warnings)} warning(s)"
    )

    # inspection planning for the year ahead, from today's scores
    table = inspection.frequency_table(current, model.policy_)
    out.print(_frequency_rich(table, f"Inspection frequency table ({model.policy_.name}, 1Y)"))
    drawn = inspection.draw(current, register, model.policy_, seed=20260101, history=tables)
    target = out_dir / "plan.parquet"
    workload = _write_plan(drawn, register, target)
    out.print(
        f"Double-random plan: {len(drawn):,} visits, two inspectors each, {workload} "
        f"(seed 20260101); wrote {target}"
    )

    # the supervisor's report and one enterprise's explanation card
    page = build_report(
        current,
        model,
        tables=tables,
        previous=test_scores,
        plan=drawn,
        register=register,
        manifest=manifest,
    )
    report_file = page.write(out_dir / "report.html")
    flagged = sum(
        len(t.query("flag != ''")) for k, t in page.tables.items() if k.startswith("fairness-")
    )
    out.print(
        f"Report: finding rates and fairness measured on {page.facts['outcomes']}; "
        f"{flagged} group(s) flagged"
    )
    card = _example_card(model, current, tables, today)
    card_file = card.write(out_dir / f"card-{card.entity_id}.html")
    card.write(card_file.with_suffix(".txt"))
    out.print(
        f"Explanation card of {card.entity_id}: tier {card.tier}, "
        f"{len(card.helpful_plans())} way(s) to a lower tier"
    )
    related = _related_card(model, current, tables, today)
    if related is not None:
        related_file = related.write(out_dir / f"card-{related.entity_id}.html")
        related.write(related_file.with_suffix(".txt"))
        up = related.raising()
        reason = "; ".join(up.loc[up["feature"].isin(list(RELATED_COUNTS)), "sentence"])
        named = related.related if related.related is not None else pd.DataFrame({"related_id": []})
        out.print(
            f"Explanation card of {related.entity_id}, with a related-party reason "
            f"({escape(reason)}): {len(named)} related enterprise(s) named, "
            f"{', '.join(named['related_id'].head(5))}"
        )
    else:
        out.print("No entity has a related-party reason: the register keeps no roles or addresses")
    out.print(
        f"Everything went to {out_dir}: scores.parquet (+ manifest), plan.parquet; the "
        f"MLflow run, model versions and artifacts are in {store} (browse with "
        f"`mlflow ui --backend-store-uri {store}`)"
    )
    out.print(f"Report: {report_file.resolve()}")
    out.print(f"Card:   {card_file.resolve()} (text: {card_file.with_suffix('.txt').name})")
    if related is not None:
        out.print(f"Card:   {related_file.resolve()} (related enterprises named)")


def main() -> None:  # pragma: no cover - console entry point
    app()
