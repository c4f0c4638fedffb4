"""Issue 17's twelve defects, each reproduced through the command line, and the fix.

Each test names its defect. Besides the exit code and the message, every test checks
that the inputs are byte-identical afterwards and that no partial file remains.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from _faults import (
    AS_OF,
    BAD_INPUT,
    MODEL,
    SAMPLE,
    TABLES,
    cli,
    cli_process,
    consistent,
    copy_register,
    flat,
    leftovers,
    manifest_of,
    problems,
    rewrite,
    score_args,
    snapshot,
)

import creditrisk as cr
from creditrisk.data import paths
from creditrisk.jobs import scoring
from creditrisk.model import signing
from creditrisk.model.integrity import files_digest


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def reg(tmp_path) -> Path:
    return copy_register(tmp_path)


@pytest.fixture(scope="module")
def scores_file(tmp_path_factory) -> Path:
    """The sample scored once (for plans, reports and comparisons)."""
    out = tmp_path_factory.mktemp("scored") / "scores.parquet"
    assert cli(*score_args(SAMPLE, out)).exit_code == 0
    return out


# -- 1. the Spark engine deleted whatever was at --out -------------------------------------
@pytest.mark.parametrize("where", ["the register", "inside the register", "another directory"])
def test_01_spark_never_deletes_what_is_at_out(tmp_path, reg, where) -> None:
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("not creditrisk's")
    out = {"the register": reg, "inside the register": reg / "s", "another directory": other}
    before = snapshot(tmp_path)
    result = cli(*score_args(reg, out[where], "--engine", "spark"))
    assert result.exit_code == BAD_INPUT
    words = {
        "the register": "it is an input",
        "inside the register": "lies inside the input directory",
        "another directory": "not an output of creditrisk",
    }[where]
    assert words in flat(result.output)
    assert snapshot(tmp_path) == before
    assert leftovers(tmp_path) == []


def test_01_the_spark_job_itself_refuses_before_reading(tmp_path, reg) -> None:
    from creditrisk.jobs import spark as engine

    # the guard runs before any Spark work: no session is needed to be refused
    with pytest.raises(paths.OutputError, match="it is an input"):
        engine.score(None, reg, MODEL, AS_OF, reg)
    with pytest.raises(paths.OutputError, match="contains the input"):
        engine.score(None, reg, MODEL, AS_OF, tmp_path)
    assert (reg / "enterprises.parquet").exists()


# -- 2. the pandas engine overwrote an input, or crashed on a directory --------------------
def test_02_scores_never_overwrite_an_input(tmp_path, reg) -> None:
    link = tmp_path / "link.parquet"
    link.symlink_to(reg / "penalties.parquet")
    before = snapshot(reg)
    for out, words in [
        (reg / "enterprises.parquet", "lies inside the input directory"),
        (reg, "it is an input"),
        (link, "inside the input directory"),  # a symbolic link is where it points
        (MODEL / "scores.parquet", "lies inside the input directory"),
    ]:
        result = cli(*score_args(reg, out))
        assert result.exit_code == BAD_INPUT, out
        assert words in flat(result.output), (out, result.output)
    assert snapshot(reg) == before
    cr.EventTables.read(reg).validate()
    assert leftovers(tmp_path) == []


def test_02_an_existing_directory_is_refused_before_any_work(tmp_path, reg) -> None:
    out = tmp_path / "scores"
    out.mkdir()
    beside = tmp_path / "scores.manifest.json"
    beside.write_text('{"kept": true}')
    before = snapshot(tmp_path)
    started = time.perf_counter()
    result = cli(*score_args(reg, out))
    assert result.exit_code == BAD_INPUT
    assert "is a directory" in flat(result.output) and "Scored" not in result.output
    assert time.perf_counter() - started < 10
    assert snapshot(tmp_path) == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("command", ["features", "train", "plan", "report", "explain", "compare"])
def test_02_every_writer_refuses_an_output_inside_its_input(
    tmp_path, reg, scores_file, command
) -> None:
    scores = tmp_path / "scores.parquet"
    shutil.copy(scores_file, scores)
    args = {
        "features": ["features", "--data", reg, "--as-of", AS_OF, "--out", reg / "x.parquet"],
        "train": ["train", "--data", reg, "--out", reg / "model"],
        "plan": [
            "plan",
            "--scores",
            scores,
            "--inspectors",
            reg,
            "--seed",
            "1",
            "--out",
            reg / "plan.parquet",
        ],
        "report": ["report", "--scores", scores, "--model", MODEL, "--out", MODEL / "r.html"],
        "explain": [
            "explain",
            "E0000025",
            "--model",
            MODEL,
            "--data",
            reg,
            "--as-of",
            AS_OF,
            "--out",
            reg / "card.html",
        ],
        "compare": ["compare", scores, scores, "--json", scores],
    }[command]
    before = snapshot(reg, scores, MODEL)
    result = cli(*args)
    assert result.exit_code == BAD_INPUT
    assert "refusing to write" in flat(result.output)
    assert snapshot(reg, scores, MODEL) == before
    assert leftovers(tmp_path) == []


# -- 3. optional columns matched case-sensitively without a word ---------------------------
@pytest.mark.parametrize("chunks", ["250000", "4000"])
def test_03_a_near_miss_of_an_optional_column_is_named(tmp_path, reg, chunks) -> None:
    renamed = {"revenue": "Revenue", "assets": "Assets", "tax_paid": "TaxPaid"}
    rewrite(reg, "annual_reports", lambda f: f.rename(columns=renamed))
    before = snapshot(reg)
    for args in (
        ["validate", reg],
        score_args(reg, tmp_path / "out" / "s.parquet", "--chunk-size", chunks),
    ):
        result = cli(*args)
        assert result.exit_code == BAD_INPUT
        text = flat(result.output)
        for theirs in renamed.values():
            assert f"but has '{theirs}'" in text, text
        assert "[column name near miss]" in text
        assert str(reg / "annual_reports.parquet") in "".join(text.split())  # the file
    assert snapshot(reg) == before
    assert not (tmp_path / "out").exists() or leftovers(tmp_path / "out") == []


# -- 4. one mistyped far-future date disabled the as_of guard ------------------------------
def test_04_a_far_future_date_is_an_error_naming_its_row(tmp_path, reg) -> None:
    pen = rewrite(
        reg,
        "penalties",
        lambda f: f.assign(
            published_on=f["published_on"].where(f.index != 7, pd.Timestamp("2099-06-01"))
        ),
    )
    result = cli("validate", reg)
    assert result.exit_code == BAD_INPUT
    text = flat(result.output)
    assert "penalties.published_on [after extraction]" in text
    assert str(pen.loc[7, "penalty_id"]) in text and "(1 row)" in text
    for as_of in ("2031-01-01", "2090-01-01"):
        scored = cli(*score_args(reg, tmp_path / "s.parquet", as_of=as_of))
        assert scored.exit_code == BAD_INPUT
        assert not (tmp_path / "s.parquet").exists()


def test_04_no_expiry_is_allowed_but_a_revocation_in_9999_is_not(reg) -> None:
    rewrite(reg, "licenses", lambda f: f.assign(expires_on=pd.Timestamp("9999-12-31")))
    assert cli("validate", reg).exit_code == 0  # a scheduled date may lie ahead
    rewrite(
        reg,
        "licenses",
        lambda f: f.assign(
            revoked_on=f["revoked_on"].where(f.index != 3, pd.Timestamp("9999-12-31"))
        ),
    )
    result = cli("validate", reg)
    assert result.exit_code == BAD_INPUT
    assert "licenses.revoked_on [after extraction]" in flat(result.output)


def test_04_the_extraction_date_bounds_every_recorded_date(tmp_path, reg) -> None:
    early = cli("validate", reg, "--extracted-on", "2025-12-15")
    assert early.exit_code == BAD_INPUT
    assert "after the register's extraction date 2025-12-15" in flat(early.output)
    assert cli("validate", reg, "--extracted-on", "2026-01-05").exit_code == 0
    scored = cli(*score_args(reg, tmp_path / "s.parquet", "--extracted-on", "2025-12-15"))
    assert scored.exit_code == BAD_INPUT
    ok = cli(*score_args(reg, tmp_path / "s.parquet", "--extracted-on", "2026-01-05"))
    assert ok.exit_code == 0
    assert manifest_of(tmp_path / "s.parquet")["data"]["extracted_on"] == "2026-01-05"


# -- 5. chunked reading silently dropped rows ----------------------------------------------
def test_05_chunked_scoring_refuses_what_whole_scoring_refuses(tmp_path, reg) -> None:
    rewrite(reg, "penalties", lambda f: f.assign(entity_id=f["entity_id"].where(f.index != 3)))
    before = snapshot(reg)
    outputs = {}
    for chunks in ("1000000", "4000", "1500"):
        result = cli(*score_args(reg, tmp_path / chunks / "s.parquet", "--chunk-size", chunks))
        assert result.exit_code == BAD_INPUT
        outputs[chunks] = problems(result.output)
        assert not (tmp_path / chunks / "s.parquet").exists()
    assert outputs["4000"] == outputs["1500"] == outputs["1000000"]
    assert "penalties.entity_id [required]" in outputs["4000"]
    # the library agrees: the chunked refusal is the whole register's, problem by problem
    with pytest.raises(cr.SchemaError) as whole:
        cr.EventTables.read(reg).validate()
    with pytest.raises(cr.SchemaError) as chunked:
        scoring.score_register(reg, MODEL, AS_OF, tmp_path / "lib.parquet", chunk_size=1_500)
    headline = {(p.headline()) for p in whole.value.problems}
    assert {p.headline() for p in chunked.value.problems} == headline
    assert snapshot(reg) == before
    assert leftovers(tmp_path) == []


# -- 6. verify-plan certified edited plans -------------------------------------------------
@pytest.mark.parametrize(
    ("column", "edit"),
    [
        ("tier", lambda v: "D" if v != "D" else "A"),
        ("probability", lambda v: v + 1e-9),
        ("region", lambda v: "district_99"),
        ("inclusion_probability", lambda v: v / 2),
    ],
)
def test_06_verify_plan_refuses_an_edited_row(tmp_path, scores_file, column, edit) -> None:
    plan = tmp_path / "plan.parquet"
    args = ["--scores", scores_file, "--inspectors", SAMPLE, "--history", SAMPLE]
    assert cli("plan", *args, "--seed", "5", "--out", plan).exit_code == 0
    assert cli("verify-plan", "--plan", plan, *args).exit_code == 0
    frame = pd.read_parquet(plan)
    frame[column] = frame[column].astype(object)
    frame.loc[0, column] = edit(frame.loc[0, column])
    frame.to_parquet(plan, index=False)
    result = cli("verify-plan", "--plan", plan, *args)
    assert result.exit_code == BAD_INPUT
    text = flat(result.output)
    assert "do not match their digest" in text
    assert f"visit 0 differs in {column}" in text


# -- 7. integer ids crashed chunked scoring ------------------------------------------------
def test_07_integer_ids_score_in_chunks_as_whole(tmp_path, reg) -> None:
    for table in TABLES:
        rewrite(reg, table, lambda f: f.assign(entity_id=f["entity_id"].str[1:].astype("int64")))
    assert cli("validate", reg).exit_code == 0
    runs = {}
    for chunks in ("1000000", "4000"):
        out = tmp_path / chunks / "s.parquet"
        assert cli(*score_args(reg, out, "--chunk-size", chunks)).exit_code == 0
        runs[chunks] = pd.read_parquet(out)
    pd.testing.assert_frame_equal(runs["4000"], runs["1000000"])
    # the same entities under other ids: the same probabilities
    by_id = runs["4000"].assign(entity_id="E" + runs["4000"]["entity_id"].str.zfill(7))
    expected = scoring.score_chunk(cr.load_sample(), cr.RiskModel.load(MODEL), AS_OF)
    merged = expected.merge(by_id[["entity_id", "probability"]], on="entity_id")
    assert len(merged) == len(expected)
    np.testing.assert_array_equal(merged["probability_x"], merged["probability_y"])


# -- 8. provenance was lost -----------------------------------------------------------------
@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A tracking store holding one registered, champion version of a small model."""
    store = f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"
    run = cr.train(
        cr.load_sample(), {"model": {"n_estimators": 25, "num_threads": 1}}, tracking_uri=store
    )
    return store, run


def test_08_a_registry_model_is_recorded_as_what_it_is(tmp_path, registry) -> None:
    store, run = registry
    env = {"MLFLOW_TRACKING_URI": store}
    out = tmp_path / "s.parquet"
    assert (
        cli(*score_args(SAMPLE, out, model="models:/creditrisk@champion"), env=env).exit_code == 0
    )
    model = manifest_of(out)["model"]
    assert model["source"] == "models:/creditrisk@champion"
    assert model["registered_model"] == "creditrisk"
    assert model["version"] == run.version == "1"
    assert model["run_id"] == run.run_id
    assert model["tracking_uri"] == store
    saved = run.model.save(tmp_path / "artifact")  # the bytes MLflow holds
    both = {name: sha(saved / name) for name in ("model.txt", "metadata.json")}
    assert model["model_sha256"] == files_digest(both)
    assert model["signature"]["verified"] is False  # no key configured
    # the database rows carry the same
    url = f"sqlite:///{tmp_path}/out.db"
    db = cli(*score_args(SAMPLE, url, model="models:/creditrisk@champion"), env=env)
    assert db.exit_code == 0
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    rows = pd.read_sql(
        "SELECT DISTINCT model_name, model_version, model_run_id, tracking_uri, "
        "model_sha256 FROM creditrisk_scores",
        engine,
    )
    engine.dispose()
    assert rows.to_dict("records") == [
        {
            "model_name": "creditrisk",
            "model_version": "1",
            "model_run_id": run.run_id,
            "tracking_uri": store,
            "model_sha256": model["model_sha256"],
        }
    ]
    # the trained model in memory knows its registration too (the demo's report)
    manifest = scoring.score_register(cr.load_sample(), run.model, AS_OF, tmp_path / "m.parquet")
    assert manifest["model"]["version"] == "1" and manifest["model"]["run_id"] == run.run_id


def test_08_a_metadata_only_edit_changes_the_model_digest(tmp_path) -> None:
    edited = tmp_path / "model"
    shutil.copytree(MODEL, edited)
    meta = json.loads((edited / "metadata.json").read_text())
    meta["cutoffs"][0] = meta["cutoffs"][0] * 0.5  # tiers change, model.txt does not
    (edited / "metadata.json").write_text(json.dumps(meta, indent=2))
    (edited / "CHECKSUMS").write_text(
        "".join(f"{sha(edited / n)}  {n}\n" for n in ("model.txt", "metadata.json"))
    )
    digests = []
    for i, folder in enumerate((MODEL, edited)):
        out = tmp_path / f"scores-{i}" / "s.parquet"
        assert cli(*score_args(SAMPLE, out, model=folder)).exit_code == 0
        digests.append(manifest_of(out)["model"]["model_sha256"])
    assert digests[0] != digests[1]


# -- 9. appending the same run twice duplicated it -----------------------------------------
def test_09_a_run_is_appended_once(tmp_path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path}/scores.db"
    args = score_args(SAMPLE, url, "--if-exists", "append")

    def rows() -> tuple[int, int]:
        engine = sa.create_engine(url)
        n = pd.read_sql(
            "SELECT COUNT(*) AS n, COUNT(DISTINCT entity_id) AS e FROM creditrisk_scores", engine
        )
        engine.dispose()
        return int(n["n"].iat[0]), int(n["e"].iat[0])

    assert cli(*args).exit_code == 0
    first = rows()
    assert first[0] == first[1]
    again = cli(*args)
    assert again.exit_code == BAD_INPUT
    assert "already holds run" in flat(again.output) and "replace-run" in flat(again.output)
    assert rows() == first
    assert cli(*score_args(SAMPLE, url, "--if-exists", "replace-run")).exit_code == 0
    assert rows() == first
    other = cli(*score_args(SAMPLE, url, "--if-exists", "append", as_of="2024-07-01"))
    assert other.exit_code == 0  # another run appends
    assert rows()[0] > first[0]


# -- 10. output without manifest, partial files forever -----------------------------------
def test_10_no_output_without_its_manifest(tmp_path, reg, monkeypatch) -> None:
    import errno
    import types

    out = tmp_path / "out" / "scores.parquet"
    assert cli(*score_args(reg, out, as_of="2024-01-01")).exit_code == 0
    before = snapshot(tmp_path / "out", reg)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(scoring, "json", types.SimpleNamespace(dumps=full))
    result = cli(*score_args(reg, out))
    assert result.exit_code == BAD_INPUT
    assert "No space left on device" in flat(result.output)
    assert snapshot(tmp_path / "out", reg) == before  # the previous pair, untouched
    assert leftovers(tmp_path) == []


def test_10_what_a_killed_run_left_is_removed_by_the_next(tmp_path, reg) -> None:
    out = tmp_path / "out" / "scores.parquet"
    out.parent.mkdir()
    stale = [
        out.with_name(".scores.parquet.999999999-0badc0de.partial"),
        out.with_name(".scores.manifest.json.999999999-0badc0de.partial"),
        out.with_name(".scores.parquet.k3j4h5g6"),  # an older version's temporary
    ]
    for path in stale:
        path.write_bytes(b"half a file")
    assert cli(*score_args(reg, out)).exit_code == 0
    assert leftovers(tmp_path) == []
    assert consistent(out)


def test_10_a_half_done_commit_is_finished_not_left_inconsistent(tmp_path) -> None:
    out = tmp_path / "scores.parquet"
    manifest = out.with_name("scores.manifest.json")
    out.write_text("old scores")
    manifest.write_text("old manifest")
    new_out, new_manifest = (paths.partial_path(p) for p in (out, manifest))
    new_out.write_text("new scores")
    new_manifest.write_text("new manifest")
    # a process (long gone) wrote its journal and made the first rename, then was killed
    journal = out.with_name(".scores.parquet.999999999-0badc0de.commit")
    journal.write_text(
        json.dumps(
            {"steps": [[str(new_out), str(out), None], [str(new_manifest), str(manifest), None]]}
        )
    )
    os.replace(new_out, out)
    paths.recover(out, manifest)
    assert out.read_text() == "new scores" and manifest.read_text() == "new manifest"
    assert leftovers(tmp_path) == []


# -- 11. a misnamed inspector_conflicts file was ignored -----------------------------------
@pytest.mark.parametrize("name", ["inspector_conflict", "Inspector_Conflicts", "conflicts"])
def test_11_a_misnamed_conflicts_file_is_an_error(tmp_path, reg, scores_file, name) -> None:
    (reg / "inspector_conflicts.parquet").rename(reg / f"{name}.parquet")
    before = snapshot(reg)
    out = tmp_path / "plan.parquet"
    result = cli("plan", "--scores", scores_file, "--inspectors", reg, "--seed", "3", "--out", out)
    assert result.exit_code == BAD_INPUT
    said = "".join(result.output.split())
    assert f"{name}.parquetisnotread:didyoumeaninspector_conflicts.parquet" in said
    assert not out.exists() and snapshot(reg) == before


# -- 12. tracebacks or an abort instead of exit 2 ------------------------------------------
def test_12_timezone_aware_dates_read_as_their_day(tmp_path, reg) -> None:
    def aware(frame):
        return frame.assign(published_on=frame["published_on"].dt.tz_localize("Asia/Shanghai"))

    rewrite(reg, "penalties", aware)
    assert cli("validate", reg).exit_code == 0
    runs = []
    for i, data in enumerate((SAMPLE, reg)):
        out = tmp_path / f"scores-{i}" / "s.parquet"
        assert cli(*score_args(data, out, "--chunk-size", "4000")).exit_code == 0
        runs.append(pd.read_parquet(out))
    pd.testing.assert_frame_equal(runs[0], runs[1])


def test_12_an_empty_enterprise_id_is_exit_2(tmp_path, reg) -> None:
    rewrite(reg, "enterprises", lambda f: f.assign(entity_id=f["entity_id"].where(f.index != 5)))
    for chunks in ("4000", "1000000"):
        result = cli(*score_args(reg, tmp_path / "s.parquet", "--chunk-size", chunks))
        assert result.exit_code == BAD_INPUT
        assert "enterprises.entity_id [required]" in flat(result.output)
    assert leftovers(tmp_path) == []


def _flip_in_column(path: Path, column: str) -> None:
    """Flip one bit in the middle of a column's first data page."""
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    chunk = meta.row_group(0).column(names.index(column))
    at = chunk.data_page_offset + chunk.total_compressed_size // 2
    data = bytearray(path.read_bytes())
    data[at] ^= 0x10
    path.write_bytes(bytes(data))


def test_12_a_flipped_bit_in_a_file_creditrisk_wrote_is_an_error(tmp_path) -> None:
    written = cr.load_sample().write(tmp_path / "reg")
    _flip_in_column(written / "penalties.parquet", "fine_amount")
    before = snapshot(written)
    for args in (["validate", written], score_args(written, tmp_path / "s.parquet")):
        result = cli(*args)
        assert result.exit_code == BAD_INPUT
        assert "penalties [unreadable file]" in flat(result.output)
        assert str(written / "penalties.parquet") in "".join(result.output.split())
    assert snapshot(written) == before


def _recompute_checksums(folder: Path) -> None:
    """What an editor covering their tracks does: CHECKSUMS made to match again."""
    (folder / "CHECKSUMS").write_text(
        "".join(f"{sha(folder / n)}  {n}\n" for n in ("model.txt", "metadata.json"))
    )


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda folder: (folder / "metadata.json").write_text("{not json"), "not valid JSON"),
        (
            lambda folder: (folder / "metadata.json").write_text(
                json.dumps(
                    {
                        k: v
                        for k, v in json.loads((folder / "metadata.json").read_text()).items()
                        if k != "cutoffs"
                    }
                )
            ),
            "lacks keys a model needs: cutoffs",
        ),
    ],
    ids=["bad-json", "missing-key"],
)
def test_12_a_broken_metadata_json_is_exit_2(tmp_path, edit, words) -> None:
    folder = tmp_path / "model"
    shutil.copytree(MODEL, folder)
    edit(folder)
    _recompute_checksums(folder)
    result = cli(*score_args(SAMPLE, tmp_path / "s.parquet", model=folder))
    assert result.exit_code == BAD_INPUT
    assert words in flat(result.output)


@pytest.mark.parametrize("cut", ["threshold", "tree"])
def test_12_a_model_txt_of_another_length_never_aborts(tmp_path, cut) -> None:
    folder = tmp_path / "model"
    shutil.copytree(MODEL, folder)
    text = (folder / "model.txt").read_text()
    if cut == "threshold":  # one value fewer in a tree: LightGBM aborted the process
        lines = text.splitlines(keepends=True)
        i = next(k for k, line in enumerate(lines) if line.startswith("threshold="))
        lines[i] = lines[i].rsplit(" ", 1)[0] + "\n"
        text = "".join(lines)
    else:  # a truncated file
        text = text[: len(text) // 2]
    (folder / "model.txt").write_text(text)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["files"]["model.txt"] = sha(folder / "model.txt")
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2))
    _recompute_checksums(folder)
    done = cli_process(*score_args(SAMPLE, tmp_path / "s.parquet", model=folder))
    assert done.returncode == BAD_INPUT, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "model.txt" in flat(done.stderr)
    assert not (tmp_path / "s.parquet").exists()


def test_12_a_mapping_onto_a_column_already_there_is_exit_2(tmp_path, reg) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text('[tables.enterprises]\ncolumns = { region = "entity_id" }\n')
    result = cli("validate", reg, "--data-map", mapping)
    assert result.exit_code == BAD_INPUT
    assert "enterprises.entity_id [duplicate column]" in flat(result.output)
    assert "renames 'region' to it" in flat(result.output)


def test_12_an_output_directory_that_cannot_be_written_is_exit_2(tmp_path) -> None:
    if os.geteuid() == 0:  # root writes anywhere on a normal filesystem: use sysfs
        out = Path("/sys/creditrisk-faults/scores.parquet")
        words = "cannot create the directory"
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        out = locked / "scores.parquet"
        words = "cannot write into"
    result = cli(*score_args(SAMPLE, out))
    assert result.exit_code == BAD_INPUT
    assert words in flat(result.output)


def test_12_an_unwritable_mlflow_store_is_exit_2_at_once(tmp_path) -> None:
    started = time.perf_counter()
    store = "sqlite:////sys/creditrisk-faults/mlflow.db"
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        store = f"sqlite:///{locked}/sub/mlflow.db"
    result = cli("train", "--track", "--tracking-uri", store, "--data", SAMPLE)
    assert result.exit_code == BAD_INPUT
    assert "cannot create the MLflow store" in flat(result.output)
    assert time.perf_counter() - started < 30  # MLflow alone retried for minutes


def test_12_two_first_trainings_into_a_new_store_both_succeed(tmp_path) -> None:
    config = tmp_path / "train.toml"
    config.write_text(
        "[training]\nhistory_years = 1\n[model]\nn_estimators = 15\nnum_threads = 1\n"
    )
    store = f"sqlite:///{tmp_path}/store/mlflow.db"
    import subprocess
    import sys

    from _faults import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = [
        sys.executable,
        "-m",
        "creditrisk",
        "train",
        "--config",
        str(config),
        "--tracking-uri",
        store,
        "--data",
        str(SAMPLE),
    ]
    runs = [
        subprocess.Popen(
            args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    finished = [run.communicate(timeout=600) for run in runs]
    for run, (_, stderr) in zip(runs, finished, strict=True):
        assert run.returncode == 0, stderr[-3000:]
        assert "already exists" not in stderr
    import mlflow

    versions = mlflow.MlflowClient(store).search_model_versions("name='creditrisk'")
    assert sorted(str(v.version) for v in versions) == ["1", "2"]


def test_12_an_infinite_fine_is_exit_2(tmp_path, reg) -> None:
    pen = rewrite(
        reg,
        "penalties",
        lambda f: f.assign(fine_amount=f["fine_amount"].where(f.index != 4, np.inf)),
    )
    result = cli(*score_args(reg, tmp_path / "s.parquet", "--chunk-size", "4000"))
    assert result.exit_code == BAD_INPUT
    text = flat(result.output)
    assert "penalties.fine_amount [non-finite]" in text
    assert str(pen.loc[4, "penalty_id"]) in text


@pytest.mark.parametrize("kind", ["gbk", "semicolons"])
def test_12_a_csv_that_cannot_be_read_names_its_file(tmp_path, kind) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    frame = pd.read_parquet(SAMPLE / "enterprises.parquet").astype({"region": str})
    frame.loc[0, "region"] = "北京市"
    path = folder / "enterprises.csv"
    if kind == "gbk":
        frame.to_csv(path, index=False, encoding="gbk")
        words = "is not UTF-8 text"
    else:
        frame.to_csv(path, index=False, sep=";")
        words = "separated by semicolons"
    before = snapshot(folder)
    result = cli("validate", folder)
    assert result.exit_code == BAD_INPUT
    assert words in flat(result.output)
    assert str(path) in "".join(result.output.split())  # the file, however Rich wraps it
    assert snapshot(folder) == before


def test_12_debug_shows_the_traceback_of_an_unexpected_fault(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from creditrisk.cli import app

    def broken(*args, **kwargs):
        raise RuntimeError("a bug, not the user's fault")

    monkeypatch.setattr(cr.EventTables, "summary", broken)
    quiet = cli("validate", SAMPLE)
    assert quiet.exit_code == BAD_INPUT
    assert "unexpected RuntimeError: a bug" in flat(quiet.output)
    loud = CliRunner().invoke(app, ["--debug", "validate", str(SAMPLE)])
    assert isinstance(loud.exception, RuntimeError)


# -- loading: signatures, the feature cross-check, MLflow's data path ----------------------
def test_signed_models_refuse_unsigned_or_altered(tmp_path) -> None:
    private, public = signing.generate_key(tmp_path / "keys" / "models.pem")
    signed = cr.RiskModel.load(MODEL).save(tmp_path / "signed", signing_key=private)
    env = {signing.ENV: str(public)}
    unsigned = cli(*score_args(SAMPLE, tmp_path / "u.parquet"), env=env)
    assert unsigned.exit_code == BAD_INPUT
    assert "is not signed" in flat(unsigned.output)
    ok = cli(*score_args(SAMPLE, tmp_path / "s.parquet", model=signed), env=env)
    assert ok.exit_code == 0
    signature = manifest_of(tmp_path / "s.parquet")["model"]["signature"]
    assert signature["verified"] is True and signature["algorithm"] == "ed25519"
    meta = json.loads((signed / "metadata.json").read_text())
    meta["cutoffs"][0] = 0.0001
    (signed / "metadata.json").write_text(json.dumps(meta, indent=2))
    _recompute_checksums(signed)  # checksums recomputed: only the signature sees it
    altered = cli(*score_args(SAMPLE, tmp_path / "a.parquet", model=signed), env=env)
    assert altered.exit_code == BAD_INPUT
    assert "the signature does not match" in flat(altered.output)
    hmac = cli(
        *score_args(SAMPLE, tmp_path / "h.parquet", model=signed),
        env={signing.ENV: "hmac:another secret"},
    )
    assert hmac.exit_code == BAD_INPUT and "signed with another key" in flat(hmac.output)


def test_metadata_features_are_checked_against_model_txt(tmp_path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(MODEL, folder)
    meta = json.loads((folder / "metadata.json").read_text())
    first, second = meta["features"][:2]
    meta["features"][:2] = [second, first]  # the columns would be read swapped
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2))
    _recompute_checksums(folder)
    result = cli(*score_args(SAMPLE, tmp_path / "s.parquet", model=folder))
    assert result.exit_code == BAD_INPUT
    assert "disagree on feature 0" in flat(result.output)


def test_an_mlmodel_pointing_outside_its_artifacts_is_refused(tmp_path, registry) -> None:
    import mlflow

    store, _ = registry
    client = mlflow.MlflowClient(store)
    run = client.create_run(client.get_experiment_by_name("creditrisk").experiment_id)
    folder = tmp_path / "pyfunc"
    mlflow.pyfunc.save_model(
        folder,
        loader_module="creditrisk.jobs.tracking",
        data_path=str(MODEL),
        pip_requirements=["creditrisk"],
    )
    mlmodel = (folder / "MLmodel").read_text()
    assert "data: data/sample" in mlmodel
    (folder / "MLmodel").write_text(mlmodel.replace("data: data/sample", "data: ../../outside"))
    client.log_artifacts(run.info.run_id, str(folder), "model")
    with pytest.raises(cr.ModelError, match="points outside the model's artifacts"):
        cr.tracking.load_model(f"runs:/{run.info.run_id}/model", store)
