"""Compares `backstop backtest` liquidity-metrics output with the independent reference (SPEC §3).

    cd /work/main && BACKSTOP=/work/main/.build/debug/backstop .deps/venv/bin/python -m pytest -q tests/reference

Every record of the engine's output must exist in the reference and vice versa (same ids); null must equal null;
numbers agree to relative 1e-9 (absolute 1e-12 near zero), 1e-6 for the lookback sums (vol_parkinson, amihud,
roll_spread_bps, kyle_lambda, lvar_99, var_99_fhs, vpin); integers exactly.  The readings of the SPEC that the
reference makes are listed (R1..R16) at the top of metrics_reference.py.
"""

from __future__ import annotations

import collections
import json
import math
import os
import random
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import metrics_reference as ref  # noqa: E402

BACKSTOP = os.environ.get("BACKSTOP", "/work/main/.build/debug/backstop")
T0 = 1_764_000_000_000_000          # µs; a multiple of 1 s, 2 s, 3 s and 5 s
US = ref.US

# The non-default grid of the brief: every window, λ, horizon and depth band differs from the defaults, and
# BTC-PERP has its own VPIN bucket volume.
CUSTOM = ref.Config(interval_us=2 * US, lookback_us=60 * US, bar_us=5 * US, ewma_lambda=0.9, horizon_us=30 * US,
                    depth_bps=(5, 25), vpin_buckets=5, bucket_volume_default=10.0,
                    bucket_volume_overrides={"BTC-PERP": 2.0})

# (scenario, seed, duration): a 10-minute feed, and 6 minutes for the other scenarios to keep the run short
# (the default 300 s lookback starts rolling off after 5 minutes).
GENERATED = [("calm", 11, "10m"), ("flash-crash", 12, "6m"), ("liquidity-drain", 13, "6m"), ("vol-spike", 14, "6m")]


# ---------------------------------------------------------------------------------------------------------------
# helpers


def start_backtest(indir: Path, outdir: Path, cfg: ref.Config | None = None) -> tuple[subprocess.Popen, Path]:
    """Starts `backstop backtest` (it runs while the reference computes: the machine has two cores)."""
    cmd = [BACKSTOP, "backtest", "--input", str(indir), "--output", str(outdir)]
    if cfg is not None:
        cfg_path = outdir.parent / f"{outdir.name}.yaml"
        cfg_path.write_text(cfg.to_yaml())
        cmd += ["--config", str(cfg_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, outdir


def finish_backtest(started: tuple[subprocess.Popen, Path]) -> list[dict]:
    proc, outdir = started
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, f"backtest failed ({proc.returncode}):\n{out}\n{err}"
    dlq = outdir / "backstop-dlq.ndjson"
    if dlq.exists():
        rejected = [line for line in dlq.read_text().splitlines() if line.strip()]
        assert not rejected, f"backtest rejected valid input: {rejected[:3]}"
    path = outdir / "liquidity-metrics.ndjson"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_backtest(indir: Path, outdir: Path, cfg: ref.Config | None = None) -> list[dict]:
    return finish_backtest(start_backtest(indir, outdir, cfg))


_feeds: dict[Path, dict] = {}


def feed_of(indir: Path) -> dict:
    """ref.load_feed, once per input directory."""
    if indir not in _feeds:
        _feeds[indir] = ref.load_feed(indir)
    return _feeds[indir]


def _vpin_note(indir: Path, cfg: ref.Config, rid: str) -> str:
    """For a vpin mismatch: does the exact (decimal) traded volume sit exactly on a bucket boundary?"""
    sym, _, end = rid.rpartition(":metrics:")
    D = feed_of(indir)[sym]
    V = Fraction(cfg.bucket_volume(sym))
    te = int(np.searchsorted(D.t_ts, int(end), "left"))
    cum = Fraction(0)
    last_exact = None
    for i in range(te):
        cum += Fraction(int(D.t_sz_scaled[i]), 10 ** D.t_scale_exp)
        if (cum / V).denominator == 1:
            last_exact = (int(D.t_ts[i]), cum)
    if last_exact is None:
        return ""
    ts_, c = last_exact
    return (f"  [exact traded volume hit {float(c)} = {int(c / V)}·V exactly at ts {ts_}; "
            f"naive float cumsum {float(np.cumsum(D.t_sz[:te])[-1])!r}]")


def assert_match(expected: list[dict], actual: list[dict], indir: Path, cfg: ref.Config, show: int = 12) -> None:
    bad = ref.compare(expected, actual)
    if not bad:
        return
    by_field = collections.Counter(b[1] for b in bad)
    lines = [f"{len(bad)} mismatches over {len(expected)} reference / {len(actual)} backstop records; "
             f"by field: {dict(by_field)}", "(id, field, reference, backstop):"]
    shown = collections.Counter()
    for b in bad:                       # the first few of every field
        if shown[b[1]] >= max(2, show // max(len(by_field), 1)):
            continue
        shown[b[1]] += 1
        note = _vpin_note(indir, cfg, b[0]) if b[1] == "vpin" else ""
        lines.append(f"  {b}{note}")
    pytest.fail("\n".join(lines), pytrace=False)


def write_feed(d: Path, instruments: list[dict], quotes: list[dict], trades: list[dict]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, rows in (("instruments", instruments), ("quotes", quotes), ("trades", trades)):
        with open(d / f"{name}.ndjson", "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    return d


def t(sec: float) -> int:
    return T0 + round(sec * US)


def q(sym: str, sec: float, mid: float, half: float = 0.01, bsz: float = 1.0, asz: float = 2.0,
      levels: bool = True, tick: float = 0.01) -> dict:
    bid, ask = round(mid - half, 2), round(mid + half, 2)
    d = {"instrument": sym, "ts": t(sec), "bid": bid, "bid_size": bsz, "ask": ask, "ask_size": asz}
    if levels:
        d["bids"] = [[bid, bsz], [round(bid - 5 * tick, 2), 2.0], [round(bid - 60 * tick, 2), 4.0]]
        d["asks"] = [[ask, asz], [round(ask + 5 * tick, 2), 1.5], [round(ask + 60 * tick, 2), 3.0]]
    return d


_trade_ids = iter(range(1, 10 ** 9))


def tr(sym: str, sec: float, price: float, size: float, side: str) -> dict:
    return {"instrument": sym, "ts": t(sec), "id": f"T-{next(_trade_ids)}", "price": price, "size": size,
            "side": side}


def by_id(records: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in records}


# ---------------------------------------------------------------------------------------------------------------
# generated feeds


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    cache: dict[str, Path] = {}

    def get(scenario: str, seed: int, duration: str) -> Path:
        if scenario not in cache:
            d = tmp_path_factory.mktemp(f"gen-{scenario}") / "in"
            proc = subprocess.run([BACKSTOP, "generate", "--scenario", scenario, "--seed", str(seed),
                                   "--duration", duration, "--output", str(d)],
                                  capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, proc.stderr
            cache[scenario] = d
        return cache[scenario]

    return get


@pytest.mark.parametrize("scenario,seed,duration", GENERATED, ids=[g[0] for g in GENERATED])
def test_generated_default_config(generated, tmp_path, scenario, seed, duration):
    indir = generated(scenario, seed, duration)
    started = start_backtest(indir, tmp_path / "out")
    expected = ref.compute_metrics(indir, ref.Config(), feed=feed_of(indir))
    actual = finish_backtest(started)
    assert expected, "reference produced no records"
    assert_match(expected, actual, indir, ref.Config())


@pytest.mark.parametrize("scenario,seed,duration", GENERATED, ids=[g[0] for g in GENERATED])
def test_generated_custom_config(generated, tmp_path, scenario, seed, duration):
    indir = generated(scenario, seed, duration)
    started = start_backtest(indir, tmp_path / "out", CUSTOM)
    expected = ref.compute_metrics(indir, CUSTOM, feed=feed_of(indir))
    actual = finish_backtest(started)
    # the non-default grid really is in effect
    assert {k for r in actual if r["depth"] for k in r["depth"]} == {"5", "25"}
    assert all((r["ts"] - r["start"]) == 2 * US for r in actual)
    assert_match(expected, actual, indir, CUSTOM)


# ---------------------------------------------------------------------------------------------------------------
# hand-made feed with the edge cases

EDGE_CFG = ref.Config(interval_us=1 * US, lookback_us=10 * US, bar_us=3 * US, ewma_lambda=0.9, horizon_us=2 * US,
                      depth_bps=(10, 50), vpin_buckets=2, bucket_volume_default=1.0,
                      bucket_volume_overrides={"BBB": 0.5})


def edge_feed(d: Path) -> Path:
    """AAA: the scripted edge cases, then a seeded random tail; BBB: multiplier 10, books without levels;
    CCC: trades only, never a quote.  All sizes are multiples of 1/8 (exact in binary floating point), so the
    VPIN bucket arithmetic is exact on both sides and only the bucket semantics are tested."""
    instruments = [
        {"symbol": "AAA", "kind": "perpetual", "underlying": "A", "reference": "AAA", "multiplier": 1},
        {"symbol": "BBB", "kind": "perpetual", "underlying": "B", "reference": "BBB", "multiplier": 10},
        {"symbol": "CCC", "kind": "perpetual", "underlying": "C", "reference": "CCC"},   # multiplier default 1
    ]
    quotes = [
        q("AAA", 0.5, 100.0), q("AAA", 1.4, 101.0),
        q("AAA", 2.0, 102.0),                      # exactly at the end of [1 s, 2 s): belongs to [2 s, 3 s)
        # [3 s, 4 s): trades only.  [4 s, 7 s): no event at all (empty intervals, no records)
        q("AAA", 7.2, 102.5), q("AAA", 7.6, 103.0), q("AAA", 9.1, 103.5), q("AAA", 9.9, 102.8),
        q("AAA", 10.5, 103.2), q("AAA", 11.2, 103.7),
        q("AAA", 12.0, 103.1),                     # exactly at the end of [11 s, 12 s)
        q("AAA", 13.4, 104.0),
        q("BBB", 0.3, 50.05, half=0.05, bsz=2.0, asz=3.0, levels=False),
        q("BBB", 1.5, 50.15, half=0.05, bsz=1.0, asz=1.0, levels=False),
        q("BBB", 2.7, 50.25, half=0.15, bsz=4.0, asz=1.0, levels=False),
    ]
    trades = [
        tr("AAA", 0.2, 100.0, 0.25, "buy"),        # before any quote: skipped by effective_spread_bps
        tr("AAA", 0.7, 100.01, 0.75, "buy"),       # fills VPIN bucket 1 (V = 1) exactly: buy 1.0
        tr("AAA", 2.0, 101.98, 0.25, "sell"),      # same ts as the 2.0 s quote, merged after it
        tr("AAA", 2.5, 102.01, 1.0, "buy"),        # split: 0.75 into bucket 2, 0.25 into bucket 3
        tr("AAA", 3.3, 102.5, 0.125, "buy"),       # only event of [3 s, 4 s); its 3 s-bar [3, 6) has no quote
        tr("AAA", 7.4, 102.6, 0.5, "sell"),
        tr("AAA", 9.5, 103.4, 0.25, "buy"),
        tr("AAA", 10.7, 103.3, 0.375, "sell"),
        tr("AAA", 11.5, 103.8, 0.5, "buy"),
        tr("AAA", 13.5, 104.1, 0.25, "sell"),
        tr("BBB", 0.6, 50.1, 0.375, "buy"),
        tr("BBB", 1.5, 50.1, 0.25, "sell"),        # same ts as a BBB quote
        tr("BBB", 2.9, 50.4, 0.5, "buy"),
        tr("BBB", 3.1, 50.0, 0.125, "sell"),
        tr("CCC", 0.1, 10.0, 0.5, "buy"), tr("CCC", 0.9, 10.2, 0.5, "sell"), tr("CCC", 1.1, 10.1, 0.75, "buy"),
        tr("CCC", 1.2, 10.3, 0.25, "sell"), tr("CCC", 2.6, 10.0, 0.125, "buy"),
    ]
    # seeded random tail for AAA, 15 s .. 60 s, with a 14 s gap (longer than the lookback) at 33..47 s
    rng = random.Random(20251125)
    mid = 104.0
    sec = 15.0
    while sec < 60.0:
        if 33.0 <= sec < 47.0:
            sec = 47.0
        mid = round(max(50.0, mid + rng.choice([-0.3, -0.1, -0.05, 0, 0.05, 0.1, 0.3]) * rng.choice([1, 1, 2])), 2)
        quotes.append(q("AAA", round(sec, 6), mid, half=rng.choice([0.01, 0.02, 0.05]),
                        bsz=rng.choice([0.5, 1.0, 2.25]), asz=rng.choice([0.75, 1.0, 3.5])))
        if rng.random() < 0.7:
            sec_t = round(sec + rng.random() * 0.3, 6)
            side = rng.choice(["buy", "sell"])
            px = round(mid + (0.02 if side == "buy" else -0.02) + rng.choice([0, 0.01, -0.01]), 2)
            trades.append(tr("AAA", sec_t, px, rng.choice([0.125, 0.25, 0.5, 0.875, 1.5]), side))
        sec += rng.choice([0.1, 0.35, 0.6, 1.3, 2.5])
    # files in ts order, as a feed on a topic partition is (a trade of the random tail may fall after the next
    # quote's time; sorting keeps every line in order so the merge is unambiguous)
    quotes.sort(key=lambda r: r["ts"])
    trades.sort(key=lambda r: r["ts"])
    return write_feed(d, instruments, quotes, trades)


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    d = tmp_path_factory.mktemp("edge")
    indir = edge_feed(d / "in")
    actual = run_backtest(indir, d / "out", EDGE_CFG)
    expected = ref.compute_metrics(indir, EDGE_CFG)
    return indir, by_id(expected), by_id(actual), expected, actual


def test_edge_feed_matches(edge):
    indir, _, _, expected, actual = edge
    assert_match(expected, actual, indir, EDGE_CFG)


def _rid(sym: str, end_sec: int) -> str:
    return f"{sym}:metrics:{T0 + end_sec * US}"


def test_edge_reference_hand_values(edge):
    """The reference itself against values worked by hand from the SPEC (guards the reference's own readings)."""
    _, exp, _, _, _ = edge
    r1, r2, r3, r4 = (exp[_rid("AAA", s)] for s in (1, 2, 3, 4))
    # record set: [4 s, 7 s) is empty -> no records there
    assert _rid("AAA", 5) not in exp and _rid("AAA", 6) not in exp and _rid("AAA", 7) not in exp
    # [0,1): trade before the first quote is skipped by the effective spread; time before the first quote ignored
    assert r1["trades"] == 2 and r1["volume"] == 1.0 and r1["quotes"] == 1
    assert r1["vwap"] == pytest.approx((100.0 * 0.25 + 100.01 * 0.75) / 1.0, rel=1e-12)
    assert r1["effective_spread_bps"] == pytest.approx(2e4 * 0.01 / 100.0, rel=1e-9)
    assert r1["spread_bps_avg"] == pytest.approx(1e4 * 0.02 / 100.0, rel=1e-9)
    assert r1["ret"] is None and r1["vol_ewma"] is None and r1["stale_s"] == 0.5
    # [1,2): the quote at exactly 2.0 s is not in it
    assert r2["bid"] == 100.99 and r2["quotes"] == 1 and r2["stale_s"] == pytest.approx(0.6, abs=1e-12)
    assert r2["spread_bps_avg"] == pytest.approx((0.4 * 2.0 + 0.6 * 1e4 * 0.02 / 101.0) / 1.0, rel=1e-9)
    assert r2["ret"] == pytest.approx(math.log(101.0 / 100.0), rel=1e-12)
    assert r2["vpin"] is None                                      # only one full bucket
    # [2,3): quote at 2.0 s counts here; the trade at 2.0 s uses its mid (quotes merge before trades)
    assert r3["quotes"] == 1 and r3["bid"] == 101.99 and r3["stale_s"] == 1.0
    assert r3["effective_spread_bps"] == pytest.approx(
        (0.25 * 2e4 * 0.02 / 102.0 + 1.0 * 2e4 * 0.01 / 102.0) / 1.25, rel=1e-9)
    # VPIN, V = 1, n = 2: bucket 1 = buy 1.0; bucket 2 = sell 0.25 + buy 0.75 (the 1.0 trade split 0.75/0.25)
    assert r3["vpin"] == pytest.approx((1.0 + 0.5) / (2 * 1.0), rel=1e-12)
    # [3,4): trades only, values carried from the 2.0 s quote
    assert r4["quotes"] == 0 and r4["trades"] == 1 and r4["bid"] == 101.99 and r4["stale_s"] == 2.0
    assert r4["spread_bps_avg"] == pytest.approx(1e4 * 0.02 / 102.0, rel=1e-9)
    assert r4["effective_spread_bps"] == pytest.approx(2e4 * 0.5 / 102.0, rel=1e-9)
    # [7,8) after the gap: ret against the previous record ([3,4), mid 102), not against an empty interval
    r8 = exp[_rid("AAA", 8)]
    assert r8["ret"] == pytest.approx(math.log(103.0 / 102.0), rel=1e-12)
    # [11,12): lookback [2 s, 12 s); bars of 3 s: [2,3) (clipped: only the 2.0 s quote, not 0.5 s / 1.4 s),
    # [3,6) no quote (the 3.3 s trade counts nowhere), [6,9), [9,12).  The 12.0 s quote is not in it.
    r12 = exp[_rid("AAA", 12)]
    assert r12["mid"] == pytest.approx(103.7, rel=1e-15) and r12["stale_s"] == pytest.approx(0.8, abs=1e-12)
    bars = [(102.0, 102.0, 102.0), (103.0, 102.5, 103.0), (103.7, 102.8, 103.7)]   # (last, lo, hi)
    pk = [math.log(h / lo) ** 2 / (4 * math.log(2)) for _, lo, h in bars if h > lo]
    assert r12["vol_parkinson"] == pytest.approx(math.sqrt(sum(pk) / len(pk) * ref.Y_SECONDS / 3.0), rel=1e-12)
    # amihud: bar [6,9) notional 102.6·0.5, bar [9,12) 103.4·.25 + 103.3·.375 + 103.8·.5; the 2.0 s and 2.5 s
    # trades are in the first bar (no r_bar), the 3.3 s one in a bar without quotes
    n69, n912 = 102.6 * 0.5, 103.4 * 0.25 + 103.3 * 0.375 + 103.8 * 0.5
    am = [abs(math.log(103.0 / 102.0)) / n69 * 1e6, abs(math.log(103.7 / 103.0)) / n912 * 1e6]
    assert r12["amihud"] == pytest.approx(sum(am) / 2, rel=1e-12)
    # kyle: two bars with a Δmid -> the OLS line through two points
    s69, s912 = -102.6 * 0.5, 103.4 * 0.25 - 103.3 * 0.375 + 103.8 * 0.5
    beta = ((103.7 - 103.0) - (103.0 - 102.0)) / (s912 - s69)
    assert r12["kyle_lambda"] == pytest.approx(beta * 1e6 / 103.7 * 1e4, rel=1e-9)
    # roll over the lookback's trades 2.0, 2.5, 3.3, 7.4, 9.5, 10.7, 11.5 s
    p = np.array([101.98, 102.01, 102.5, 102.6, 103.4, 103.3, 103.8])
    dp = np.diff(p)
    c = np.cov(dp[1:], dp[:-1], ddof=1)[0, 1]
    assert r12["roll_spread_bps"] == pytest.approx(2 * math.sqrt(-c) / 103.7 * 1e4 if c < 0 else 0.0, rel=1e-9)
    # BBB: multiplier 10, no levels -> depth = best level only, within the band
    b1 = exp[_rid("BBB", 1)]
    assert b1["notional"] == pytest.approx(50.1 * 0.375 * 10, rel=1e-12)
    assert b1["depth"]["50"] == {"bid": pytest.approx(50.0 * 2.0 * 10), "ask": pytest.approx(50.1 * 3.0 * 10)}
    # 10 bps of mid 50.05 reaches down to 49.99995 and up to 50.10005: the best levels are inside
    assert b1["depth"]["10"] == b1["depth"]["50"]
    # CCC: no quote ever
    c2 = exp[_rid("CCC", 2)]
    assert c2["mid"] is None and c2["depth"] is None and c2["stale_s"] is None and c2["roll_spread_bps"] is None
    assert c2["vwap"] == pytest.approx((10.1 * 0.75 + 10.3 * 0.25) / 1.0, rel=1e-12)


def test_edge_quote_at_end_not_in_closing_interval(edge):
    _, exp, act, _, _ = edge
    for rid in (_rid("AAA", 2), _rid("AAA", 12)):
        assert rid in act, f"{rid} missing from backstop output"
        e, a = exp[rid], act[rid]
        assert (a["bid"], a["quotes"], a["stale_s"]) == (e["bid"], e["quotes"], e["stale_s"]), rid


def test_edge_record_set(edge):
    _, exp, act, _, _ = edge
    assert sorted(exp) == sorted(act)


# ---------------------------------------------------------------------------------------------------------------
# VPIN: a bucket filled to exactly V by decimal sizes


def test_vpin_bucket_filled_exactly_by_decimal_sizes(tmp_path):
    """Ten buys of 0.1 fill a bucket of V = 1 exactly (SPEC §3: buckets of V volume).  In binary floating point
    0.1 added ten times is 0.9999999999999999, so an engine that accumulates the fill in doubles and tests
    `fill >= V` never sees this bucket full (until the next trade tops it up with ~1e-16)."""
    cfg = ref.Config(vpin_buckets=1, bucket_volume_default=1.0)
    inst = [{"symbol": "DDD", "kind": "perpetual", "underlying": "D", "reference": "DDD", "multiplier": 1}]
    quotes = [q("DDD", 0.05, 20.0)]
    trades = [tr("DDD", 0.1 + 0.05 * i, 20.01, 0.1, "buy") for i in range(10)]
    trades += [tr("DDD", 1.5, 19.99, 0.3, "sell")]
    indir = write_feed(tmp_path / "in", inst, quotes, trades)
    actual = run_backtest(indir, tmp_path / "out", cfg)
    expected = ref.compute_metrics(indir, cfg)
    e1 = by_id(expected)[_rid("DDD", 1)]
    assert e1["vpin"] == pytest.approx(1.0, rel=1e-12)     # one full bucket, all buys
    assert_match(expected, actual, indir, cfg)
