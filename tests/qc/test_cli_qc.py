"""``tianshan qc run`` over SDS archives: JSON/CSV output, products, stored QC records, exclusions, errors."""

from __future__ import annotations

import csv
import io
import json
import shutil

import numpy as np
import pytest

from tianshan.cli.main import main


@pytest.fixture()
def kapi_sds(shared_data, tmp_path):
    """The three KAPI day files laid out as an SDS archive in a temporary folder."""
    folder = tmp_path / "sds" / "2013" / "II" / "KAPI" / "BHZ.D"
    folder.mkdir(parents=True)
    for doy in (5, 6, 7):
        shutil.copy(shared_data / f"qc/ispaq_kapi/II.KAPI.00.BHZ.2013.{doy:03d}.M",
                    folder / f"II.KAPI.00.BHZ.D.2013.{doy:03d}")
    return tmp_path / "sds"


def test_json_metrics_products_and_store(kapi_sds, shared_data, tmp_path, capsys):
    from tianshan.core import QCKind
    from tianshan.store import EventStore

    url = f"sqlite:///{tmp_path / 'qc.sqlite'}"
    resp = shared_data / "qc/ispaq_kapi/RESP.KAPI.II.00.BHZ.txt"
    args = ["qc", "run", "--archive", str(kapi_sds), "--start", "2013-01-05", "--end", "2013-01-07",
            "--inventory", str(resp), "--out", str(tmp_path / "out"), "--store", url, "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["counts"]["channel_days"] == 2 and out["counts"]["psd"] == 2 and out["counts"]["failed"] == 0
    d5, d6 = out["metrics"]
    assert (d5["start"], d6["start"]) == ("2013-01-05T00:00:00Z", "2013-01-06T00:00:00Z")
    # MUSTANG's figures (../shared/data/README.md)
    assert round(d5["percent_availability"], 2) == 9.09 and d5["num_gaps"] == 2
    assert round(d6["percent_availability"], 2) == 85.62 and d6["num_gaps"] == 1
    assert d6["sample_min"] == -2246467.0
    assert d6["dead_channel_gsn"] == 0 and d6["dead_channel_lin"] > 3.0 and d6["timing_quality"] is None
    assert [e["start"] for e in out["exclusions"]] == ["2013-01-05T00:00:00Z"]  # 9 % availability
    assert out["stored"]["added"] > 0 and out["stored"]["conflicts"] == 0

    # products
    prod = tmp_path / "out"
    assert json.loads((prod / "metrics.json").read_text())["metrics"] == out["metrics"]
    rows = list(csv.DictReader(io.StringIO((prod / "metrics.csv").read_text())))
    avail = [r for r in rows if r["metric"] == "percent_availability"]
    assert [round(float(r["value"]), 2) for r in avail] == [9.09, 85.62]
    assert json.loads((prod / "exclusions.json").read_text())["exclusions"] == out["exclusions"]
    pdf = (prod / "psd" / "II.KAPI.00.BHZ_2013-01-06_PDF.txt").read_text().splitlines()
    assert pdf[1] == "# target: II.KAPI.00.BHZ" and pdf[5].startswith("#freq")
    psd = json.loads((prod / "psd" / "II.KAPI.00.BHZ_2013-01-06_PSD.json").read_text())
    assert psd["n_segments"] > 30 and set(psd["percentiles"]) == {"p10", "p50", "p90"}

    # stored findings, and a re-run stores nothing new
    with EventStore.open(url) as store:
        recs = store.qc_records("II.KAPI.00.BHZ")
    avail_recs = [r for r in recs if r.kind is QCKind.AVAILABILITY]
    assert [round(r.value, 2) for r in avail_recs] == [9.09, 85.62]
    assert sum(r.kind is QCKind.GAP for r in recs) == 3
    assert main(args[:-1] + ["--no-psd", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["stored"] == {"added": 0, "conflicts": 0}


def test_csv_table_and_stream_filter(kapi_sds, capsys):
    base = ["qc", "run", "--archive", str(kapi_sds), "--start", "2013-01-07T06:00:00", "--end", "2013-01-07T12:00"]
    assert main(base + ["--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["target", "start", "end", "metric", "value"]
    by_metric = {r[3]: r[4] for r in rows[1:]}
    assert by_metric["num_gaps"] == "2" and by_metric["num_spikes"] == "0"  # whole day 2013-01-07
    assert by_metric["pct_above_nhnm"] == ""  # no inventory: no PSD metrics
    assert rows[1][1] == "2013-01-07T00:00:00Z" and rows[1][2] == "2013-01-08T00:00:00Z"
    assert main(base) == 0
    text = capsys.readouterr().out
    assert "II.KAPI.00.BHZ" in text and "97.09" in text and "1 channel-days" in text
    assert main(base + ["--streams", "II.KAPI.*.HH?", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"] == []


def test_synthetic_archive_outage_and_dead_channel(tmp_path, capsys):
    """Written with our SDS writer: a working channel, a constant (dead) one, and a missing day."""
    from obspy import Stream, Trace, UTCDateTime

    from tianshan.io.sds import write_sds

    rng = np.random.default_rng(5)
    t0 = UTCDateTime(2024, 6, 1)
    hdr = dict(network="XJ", station="WUQ", location="00", sampling_rate=10.0, starttime=t0)
    good = Trace(rng.integers(-500, 500, 10 * 86400).astype(np.int32), header=dict(hdr, channel="HHZ"))
    dead = Trace(np.full(10 * 86400, 1234, dtype=np.int32), header=dict(hdr, channel="HHN"))
    write_sds(Stream([good, dead]), tmp_path / "sds")
    assert main(["qc", "run", "--archive", str(tmp_path / "sds"), "--start", "2024-06-01", "--end", "2024-06-03",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = {(m["stream_id"], m["start"][:10]): m for m in out["metrics"]}
    assert len(got) == 4 and out["counts"]["no_data"] == 2
    assert got[("XJ.WUQ.00.HHZ", "2024-06-01")]["percent_availability"] == pytest.approx(100.0)
    assert got[("XJ.WUQ.00.HHN", "2024-06-01")]["sample_rms"] == 0.0
    assert got[("XJ.WUQ.00.HHN", "2024-06-01")]["flat_spans"] == 1
    assert got[("XJ.WUQ.00.HHZ", "2024-06-02")]["percent_availability"] == 0.0
    reasons = {(e["stream_id"], e["start"][:10]): e["reasons"] for e in out["exclusions"]}
    assert set(reasons) == {("XJ.WUQ.00.HHN", "2024-06-01"), ("XJ.WUQ.00.HHN", "2024-06-02"),
                            ("XJ.WUQ.00.HHZ", "2024-06-02")}
    assert reasons[("XJ.WUQ.00.HHN", "2024-06-01")][0].startswith("constant signal")
    # own rules replace the built-in ones
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "flat"\nmetric = "flat_spans"\nat_least = 1\n')
    assert main(["qc", "run", "--archive", str(tmp_path / "sds"), "--start", "2024-06-01", "--end", "2024-06-02",
                 "--rules", str(rules), "--json"]) == 0
    (only,) = json.loads(capsys.readouterr().out)["exclusions"]
    assert only["stream_id"] == "XJ.WUQ.00.HHN" and only["reasons"] == ["flat: flat_spans = 1 (>= 1)"]


def test_bad_input_exits_2_without_traceback(tmp_path, capsys):
    (tmp_path / "sds").mkdir()
    cases = [
        (["--archive", str(tmp_path / "none"), "--start", "2024-01-01", "--end", "2024-01-02"], "SDS archive folder"),
        (["--archive", str(tmp_path / "sds"), "--start", "2024-01-02", "--end", "2024-01-01"], "is not after start"),
        (["--archive", str(tmp_path / "sds"), "--start", "yesterday", "--end", "2024-01-01"], "not an ISO-8601"),
        (["--archive", str(tmp_path / "sds"), "--start", "2024-01-01", "--end", "2024-01-02", "--json", "--csv"],
         "at most one"),
        (["--archive", str(tmp_path / "sds"), "--start", "2024-01-01", "--end", "2024-01-02",
          "--inventory", str(tmp_path / "missing.xml")], "inventory file not found"),
        (["--archive", str(tmp_path / "sds"), "--start", "2024-01-01", "--end", "2024-01-02",
          "--streams", "WUQ"], "NET.STA.LOC.CHA"),
    ]
    for args, message in cases:
        assert main(["qc", "run", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("tianshan: error:") and message in err and "Traceback" not in err


def test_corrupt_day_file_fails_only_its_channel_day(tmp_path, capsys):
    from obspy import Stream, Trace, UTCDateTime

    from tianshan.core.ids import StreamID
    from tianshan.io.sds import sds_path, write_sds

    rng = np.random.default_rng(8)
    t0 = UTCDateTime(2024, 6, 1)
    tr = Trace(rng.integers(-500, 500, 10 * 2 * 86400).astype(np.int32),
               header=dict(network="XJ", station="WUQ", location="00", channel="HHZ", sampling_rate=10.0,
                           starttime=t0))
    write_sds(Stream([tr]), tmp_path / "sds")
    day1 = sds_path(tmp_path / "sds", StreamID("XJ", "WUQ", "00", "HHZ"), t0.date)
    day1.write_bytes(np.random.default_rng(1).integers(0, 256, 8192, dtype=np.uint8).tobytes())
    assert main(["qc", "run", "--archive", str(tmp_path / "sds"), "--start", "2024-06-01", "--end", "2024-06-03",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["counts"]["failed"] == 1 and out["failures"][0].startswith("XJ.WUQ.00.HHZ 2024-06-01: ")
    (day2,) = out["metrics"]  # the next day is still measured (the bad file was its previous-day file)
    assert day2["start"] == "2024-06-02T00:00:00Z" and day2["percent_availability"] == pytest.approx(100.0)


def test_library_run_keeps_psds_and_writes_products(kapi_sds, shared_data, tmp_path):
    from tianshan.qc.metrics.archive import load_inventory, run_archive, write_products

    inv = load_inventory([shared_data / "qc/ispaq_kapi/RESP.KAPI.II.00.BHZ.txt"])
    seen = []
    run = run_archive(kapi_sds, "2013-01-07", "2013-01-08", inventory=inv, keep_psd=True,
                      progress=lambda done, total, label: seen.append((done, total, label)))
    assert seen == [(1, 1, "II.KAPI.00.BHZ 2013-01-07")]
    (p,) = run.psds
    assert p.n_segments == 45 and run.counts["psd"] == 1
    paths = write_products(run, tmp_path / "out")
    names = sorted(x.name for x in paths)
    assert names == ["II.KAPI.00.BHZ_2013-01-07_PDF.txt", "II.KAPI.00.BHZ_2013-01-07_PSD.json", "exclusions.json",
                     "metrics.csv", "metrics.json"]
    hits = sum(int(line.split(",")[2]) for line in (tmp_path / "out/psd/II.KAPI.00.BHZ_2013-01-07_PDF.txt")
               .read_text().splitlines() if not line.startswith("#"))
    assert hits == p.n_segments * p.periods_s.size
