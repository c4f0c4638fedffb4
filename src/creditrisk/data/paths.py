"""Where outputs go: one guard for every writer, and writes that are all or nothing.

Every writer of creditrisk (scores and their manifest, Spark outputs, event tables,
models, plans, reports, cards, features) passes :func:`check_output` before it
writes: an output may never be, contain or lie inside one of its inputs, a file
output may not be an existing directory, and a directory is replaced only when
creditrisk wrote it (a model directory, an output carrying the :data:`MARKER` file)
or it is empty.

Writes are all or nothing. A file is written under a hidden temporary name beside
it (``.scores.parquet.<pid>-<token>.partial``) and renamed into place when complete
(:func:`atomic_file`); several files that belong together, such as scores and their
manifest, are committed as one unit (:func:`atomic_files`, :func:`commit`): a small
journal lists the renames before the first one is made, so a process killed half-way
is finished by the next writer of the same output (:func:`recover`) and never leaves
new scores beside an old manifest. Temporaries of a process that is no longer running
are removed by the next writer too (:func:`clean_partials`).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as d:
...     register = Path(d) / "register"
...     register.mkdir()
...     try:
...         check_output(register / "scores.parquet", inputs=[register])
...     except OutputError as err:
...         print("inside the input directory" in str(err))
True
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

__all__ = [
    "MARKER",
    "OutputError",
    "atomic_file",
    "atomic_files",
    "check_output",
    "clean_partials",
    "commit",
    "is_ours",
    "mark_directory",
    "partial_path",
    "recover",
    "staging_dir",
]

#: the file inside an output directory that says creditrisk wrote it (Spark and Hadoop
#: skip files whose names start with ``_`` when they read the directory)
MARKER = "_CREDITRISK"

Kind = Literal["file", "dir", "model", "into"]

_PARTIAL = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-(?P<token>[0-9a-f]{8})\.(?P<kind>[a-z]+)$")


class OutputError(ValueError):
    """An output path creditrisk refuses, or cannot write, with the reason.

    A subclass of ``ValueError``: the command line reports it as bad input (exit 2).

    Examples
    --------
    >>> str(OutputError("refusing to write x: it is an input"))
    'refusing to write x: it is an input'
    """


def _is_url(value: str) -> bool:
    return "://" in value and not value.startswith("file://")


def _input_paths(inputs: Iterable) -> list[Path]:
    """The local paths among ``inputs`` (paths, strings, objects with ``sources``)."""
    found: list[Path] = []
    for item in inputs or ():
        if item is None:
            continue
        sources = getattr(item, "sources", None)
        if sources is not None and not isinstance(item, str | os.PathLike):
            found += _input_paths(sources)
        elif isinstance(item, str | os.PathLike):
            text = os.fspath(item)
            if isinstance(text, bytes) or _is_url(text):
                continue
            found.append(Path(text.removeprefix("file://")))
        elif isinstance(item, Iterable):
            found += _input_paths(item)
    return found


def _inside(path: Path, parent: Path) -> bool:
    return path != parent and path.is_relative_to(parent)


def is_ours(path: str | os.PathLike, kind: str = "dir") -> bool:
    """Whether creditrisk may replace the directory ``path`` as a whole.

    It may when the directory is empty or is what creditrisk writes there: an output
    carrying the :data:`MARKER` file (``kind="dir"``: scores written by the Spark
    engine), or a model directory, ``CHECKSUMS`` and ``metadata.json``
    (``kind="model"``).

    Parameters
    ----------
    path : str or path-like
        An existing directory.
    kind : {"dir", "model"}, default "dir"
        What is about to be written there.

    Returns
    -------
    bool
        True when replacing it loses nothing creditrisk did not write.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     empty = is_ours(d)
    ...     _ = (Path(d) / "notes.txt").write_text("mine")
    ...     empty, is_ours(d)
    (True, False)
    """
    path = Path(path)
    if kind == "model":
        if (path / "CHECKSUMS").is_file() and (path / "metadata.json").is_file():
            return True
    elif (path / MARKER).is_file():
        return True
    return not any(path.iterdir())


def mark_directory(path: str | os.PathLike) -> Path:
    """Write the :data:`MARKER` file into an output directory creditrisk wrote.

    Parameters
    ----------
    path : str or path-like
        The directory (it must exist).

    Returns
    -------
    pathlib.Path
        The marker file.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "part-0.parquet").write_text("")
    ...     _ = mark_directory(d)
    ...     is_ours(d)
    True
    """
    from creditrisk._version import __version__

    marker = Path(path) / MARKER
    marker.write_text(json.dumps({"written_by": "creditrisk", "version": __version__}) + "\n")
    return marker


def check_output(target: str | os.PathLike, inputs: Iterable = (), *, kind: Kind = "file") -> Path:
    """Refuse an output path that would destroy an input or a directory not ours.

    The one guard every writer passes. ``target`` may not be an input (the same path,
    through a symbolic link, or a hard link to it), contain an input, or lie inside an
    input directory. By ``kind``: a ``"file"`` output may not be an existing directory;
    a ``"dir"`` output (replaced as a whole) may only replace a directory creditrisk
    wrote (:func:`is_ours`: one carrying :data:`MARKER`), a ``"model"`` directory only a
    model directory; an ``"into"`` output is a directory files are written into (it is
    never removed) and may not be a file.

    Parameters
    ----------
    target : str or path-like
        The output. A URL (``hdfs://``, ``s3a://``) is not checked here.
    inputs : iterable
        What the job reads: paths, strings (URLs are skipped), or objects with a
        ``sources`` attribute (:class:`~creditrisk.EventTables` read from files).
    kind : {"file", "dir", "model", "into"}, default "file"
        How the output is written.

    Returns
    -------
    pathlib.Path
        ``target`` as a path.

    Raises
    ------
    OutputError
        Naming the output, the input or directory at stake, and what to do.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = check_output(Path(d) / "out" / "scores.parquet", inputs=[Path(d) / "reg"])
    ...     try:
    ...         check_output(d, kind="file")
    ...     except OutputError as err:
    ...         print("is a directory" in str(err))
    True
    """
    text = os.fspath(target)
    if _is_url(text):
        return Path(text)
    target = Path(text.removeprefix("file://"))
    resolved = target.resolve()
    sources = _input_paths(inputs)
    for source in sources:  # the same file first: the plainest thing to say
        same = resolved == source.resolve()
        if not same and target.exists() and source.exists():
            try:
                same = os.path.samefile(target, source)
            except OSError:  # pragma: no cover - a race with the file going away
                same = False
        if same:
            raise OutputError(
                f"refusing to write {target}: it is an input ({source}); choose another output"
            )
    for source in sources:
        known = source.resolve()
        if _inside(known, resolved):
            raise OutputError(
                f"refusing to write {target}: it contains the input {source}; choose another output"
            )
        if _inside(resolved, known) and known.is_dir():
            raise OutputError(
                f"refusing to write {target}: it lies inside the input directory {source}; "
                "write outputs outside the inputs"
            )
    if kind == "file" and target.is_dir():
        raise OutputError(
            f"{target} is a directory: give the path of a file to write (for example "
            f"{target / 'scores.parquet'})"
        )
    if kind in ("dir", "model", "into") and target.exists() and not target.is_dir():
        raise OutputError(f"{target} is a file: give the path of a directory to write")
    if kind in ("dir", "model") and target.is_dir() and not is_ours(target, kind):
        what = "a model directory" if kind == "model" else f"an output of creditrisk ({MARKER})"
        raise OutputError(
            f"refusing to replace {target}: it is not {what} but a directory of other files; "
            "remove it yourself or choose another output"
        )
    return target


def partial_path(target: str | os.PathLike, kind: str = "partial") -> Path:
    """A hidden temporary name beside ``target``, tagged with this process's id.

    Parameters
    ----------
    target : str or path-like
        The final path.
    kind : str, default "partial"
        ``partial`` (being written), ``old`` (moved aside) or ``commit`` (a journal).

    Returns
    -------
    pathlib.Path
        ``.<name>.<pid>-<token>.<kind>`` in the directory of ``target``.

    Examples
    --------
    >>> p = partial_path("out/scores.parquet")
    >>> p.name.startswith(".scores.parquet."), p.suffix
    (True, '.partial')
    """
    target = Path(target)
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.{kind}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _leftovers(target: Path, kinds: tuple[str, ...]) -> list[tuple[Path, int, str]]:
    parent = target.parent
    if not parent.is_dir():
        return []
    found = []
    for entry in parent.iterdir():
        match = _PARTIAL.match(entry.name)
        if match and match["name"] == target.name and match["kind"] in kinds:
            found.append((entry, int(match["pid"]), match["kind"]))
    return sorted(found)


def clean_partials(target: str | os.PathLike) -> list[Path]:
    """Remove what interrupted writers of ``target`` left behind; return what went.

    Temporaries (``.partial``), directories moved aside (``.old``) and journals of
    processes that are no longer running are removed, with the temporaries of older
    creditrisk versions (``.<name>.XXXXXXXX``, ``.<name>.old``, ``<name>._staging-*``).
    A process still running keeps its own.

    Parameters
    ----------
    target : str or path-like
        The output whose leftovers to remove.

    Returns
    -------
    list of pathlib.Path
        The paths removed.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     stale = Path(d) / ".scores.parquet.999999999-0123abcd.partial"
    ...     _ = stale.write_text("half")
    ...     [p.name for p in clean_partials(Path(d) / "scores.parquet")]
    ['.scores.parquet.999999999-0123abcd.partial']
    """
    target = Path(target)
    removed = []
    for path, pid, _ in _leftovers(target, ("partial", "old", "commit")):
        if not _alive(pid):
            _remove(path)
            removed.append(path)
    parent = target.parent
    if parent.is_dir():
        legacy = re.compile(
            rf"^(\.{re.escape(target.name)}\.([a-z0-9_]{{8}}|old)|"
            rf"{re.escape(target.name)}\._staging-[0-9a-f]{{32}})$"
        )
        for entry in parent.iterdir():
            if legacy.match(entry.name):
                _remove(entry)
                removed.append(entry)
    return removed


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _apply(steps: list[list]) -> None:
    """Carry out a journal's renames; each step can be repeated safely."""
    for source, target, aside in steps:
        if not os.path.lexists(source):
            continue  # done before the interruption
        if aside and os.path.isdir(target) and not os.path.islink(target):
            if os.path.lexists(aside):
                _remove(Path(aside))
            os.replace(target, aside)
        os.replace(source, target)
    for _, _, aside in steps:
        if aside:
            _remove(Path(aside))


def commit(moves: Sequence[tuple[str | os.PathLike, str | os.PathLike]]) -> None:
    """Move finished temporaries into place as one unit: all of them, or (killed) all
    of them at the next :func:`recover`.

    A journal listing the renames is written (and synced) beside the first target
    before the first rename; it is removed after the last. A directory being replaced
    is moved aside first and removed at the end.

    Parameters
    ----------
    moves : sequence of (source, target)
        Complete temporaries and where they go.

    Raises
    ------
    OSError
        A rename failed (the journal stays, so the next writer finishes the commit).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     a, b = Path(d) / ".a.tmp", Path(d) / ".b.tmp"
    ...     _ = a.write_text("scores"); _ = b.write_text("manifest")
    ...     commit([(a, Path(d) / "scores.txt"), (b, Path(d) / "scores.json")])
    ...     sorted(p.name for p in Path(d).iterdir())
    ['scores.json', 'scores.txt']
    """
    if not moves:
        return
    steps = []
    for source, target in moves:
        target = Path(target)
        aside = None
        if target.is_dir() and not target.is_symlink():
            aside = str(partial_path(target, "old"))
        steps.append([os.fspath(source), os.fspath(target), aside])
    first = Path(moves[0][1])
    journal = partial_path(first, "commit")
    draft = partial_path(first, "partial")
    try:
        with open(draft, "w", encoding="utf-8") as handle:
            json.dump({"steps": steps}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(draft, journal)
        _fsync_dir(first.parent)
        _apply(steps)
    except OSError as exc:
        draft.unlink(missing_ok=True)
        raise _unwritable(exc, f"cannot move {first} into place") from exc
    journal.unlink(missing_ok=True)


def recover(*targets: str | os.PathLike) -> None:
    """Finish commits of ``targets`` that a killed process left half-done, then remove
    its temporaries (:func:`clean_partials`).

    Parameters
    ----------
    *targets : str or path-like
        Outputs about to be written (e.g. scores and their manifest).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     recover(Path(d) / "scores.parquet")  # nothing to do
    ...     sorted(Path(d).iterdir())
    []
    """
    for target in targets:
        target = Path(target)
        for journal, pid, _ in _leftovers(target, ("commit",)):
            if _alive(pid):
                continue
            try:
                steps = json.loads(journal.read_text(encoding="utf-8"))["steps"]
                _apply(steps)
            except (OSError, ValueError, KeyError, TypeError):
                pass  # an unreadable journal: its temporaries are cleaned below
            journal.unlink(missing_ok=True)
    for target in targets:
        clean_partials(target)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _unwritable(exc: OSError, words: str) -> OSError:
    """The filesystem's error, of its own kind, saying which directory and why."""
    return type(exc)(exc.errno, f"{words}: {exc.strerror or exc}")


def _prepare(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(exc, f"cannot create the directory {target.parent}") from None
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise PermissionError(13, f"cannot write into {target.parent}: permission denied")


def _new_file(path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise _unwritable(exc, f"cannot write into {path.parent}") from None
    os.close(fd)


@contextmanager
def atomic_files(*targets: str | os.PathLike, inputs: Iterable = ()) -> Iterator[list[Path]]:
    """Write several files under temporary names; commit them together on success.

    Each target passes :func:`check_output` (as a file) first, and what an interrupted
    writer of it left behind is finished or removed (:func:`recover`). On an exception
    inside the block no target changes and no temporary remains.

    Parameters
    ----------
    *targets : str or path-like
        The files to write.
    inputs : iterable, optional
        What the job reads (see :func:`check_output`).

    Yields
    ------
    list of pathlib.Path
        One empty temporary file per target, in order.

    Raises
    ------
    OutputError
        A target is refused (see :func:`check_output`).
    OSError
        Its directory cannot be created or written (the message says which).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with atomic_files(Path(d) / "s.parquet", Path(d) / "s.json") as (data, meta):
    ...         _ = data.write_text("rows"); _ = meta.write_text("{}")
    ...     sorted(p.name for p in Path(d).iterdir())
    ['s.json', 's.parquet']
    """
    paths = [check_output(t, inputs, kind="file") for t in targets]
    for path in paths:
        _prepare(path)
    recover(*paths)
    temporaries: list[Path] = []
    try:
        for path in paths:
            tmp = partial_path(path)
            _new_file(tmp)
            tmp.chmod(0o666 & ~_umask())
            temporaries.append(tmp)
        yield temporaries
        commit(list(zip(temporaries, paths, strict=True)))
    finally:
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)


@contextmanager
def atomic_file(target: str | os.PathLike, inputs: Iterable = ()) -> Iterator[Path]:
    """Write to a temporary path beside ``target``; it becomes ``target`` only on success.

    An exception inside the block leaves ``target`` as it was and no temporary behind;
    ``target`` passes :func:`check_output` first.

    Parameters
    ----------
    target : str or path-like
        The file to write.
    inputs : iterable, optional
        What the job reads (see :func:`check_output`).

    Yields
    ------
    pathlib.Path
        An empty temporary file to write.

    Raises
    ------
    OutputError
        ``target`` is refused (see :func:`check_output`).
    OSError
        Its directory cannot be created or written (the message says which).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with atomic_file(Path(d) / "scores.txt") as tmp:
    ...         _ = tmp.write_text("A")
    ...     sorted(p.name for p in Path(d).iterdir())
    ['scores.txt']
    """
    with atomic_files(target, inputs=inputs) as (tmp,):
        yield tmp


@contextmanager
def staging_dir(target: str | os.PathLike, inputs: Iterable = ()) -> Iterator[Path]:
    """A fresh directory beside ``target`` to write into before moving files into place.

    Whatever is left in it is removed on exit, so a failed write leaves nothing behind;
    one left by a killed process is removed by the next writer of ``target``.

    Parameters
    ----------
    target : str or path-like
        The directory (or file) the staged files are for.
    inputs : iterable, optional
        What the job reads: ``target`` may not be, contain or lie inside one.

    Yields
    ------
    pathlib.Path
        The empty staging directory.

    Raises
    ------
    OutputError
        ``target`` is refused (see :func:`check_output`).
    OSError
        Its parent cannot be created or written (the message says which).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with staging_dir(Path(d) / "model") as tmp:
    ...         _ = (tmp / "a.txt").write_text("A")
    ...     sorted(p.name for p in Path(d).iterdir())
    []
    """
    target = Path(target)
    if inputs:
        check_output(target, inputs, kind="into")
    _prepare(target)
    recover(target)
    staging = partial_path(target)
    try:
        staging.mkdir()
    except OSError as exc:
        raise _unwritable(exc, f"cannot write into {target.parent}") from None
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)
