"""Independent reference implementation of SPEC §3 (liquidity metrics, pinned).

Written from /work/shared/SPEC.md §3 alone (the engine's Sources/ were not read).  Every record is recomputed
from scratch from the raw, merged events of its instrument: no incremental state is carried from one record to
the next, except the two quantities that the SPEC itself defines recursively over the record sequence
(`ret` = log change against the previous record, and the EWMA variance σ²_t).

Readings of the SPEC (where the text leaves room, the choice made here is written down):

R1  Merge order per instrument: (ts, quotes before trades, line number in its file), i.e. each file's lines are
    sorted by (ts, line).  (Observed, not pinned here: backstop keeps a file's arrival order for a line whose ts is
    slightly older than its predecessor's instead of re-sorting it; generated feeds are in ts order, and the
    hand-made feeds of the test are written in ts order, so this never matters for the tests.)  Events of
    instruments that are not in instruments.ndjson are ignored (they would go to the DLQ after `unknown_grace`;
    the test feeds never have any).
R2  Records: one per W-aligned interval [start, end) that holds at least one quote or trade of the instrument
    (a trade-only interval is not empty).  The last interval of every instrument is closed at end of input.
R3  "Last quote at or before the close" (bid, ask, mid, spread_bps, microprice, imbalance, depth, stale_s) is the
    last quote with ts < end.  A quote with ts == end belongs to the next interval [end, end+W): it is the very
    event that closes this one, so it is not yet applied.  It may come from any earlier interval (values carry
    forward).  No quote ever before `end` -> these fields are null.
R4  spread_bps_avg: the quotes weighed are the one standing at `start` (last quote with ts < start, weighted from
    `start`) plus every quote with start <= ts < end; weight = min(next quote's ts, end) - max(ts, start), so of
    several quotes at one ts only the last gets weight.  null when no quote has ts < end.
R5  effective_spread_bps: m = mid of the last quote with ts <= trade ts (quotes merge before trades at equal ts),
    possibly from an earlier interval.  null when no trade of the interval has such a quote.
R6  vwap = Σ price·size / Σ size (no multiplier, as written); null without trades.  volume/notional/buy/sell = 0
    and trades = 0 without trades (they are required numbers in the schema).
R7  ret = ln(mid / previous record's mid); null for the first record or when either mid is null.
    σ²: the first non-null ret r gives σ² = r²; later non-null rets update λσ² + (1−λ)r²; a null ret leaves σ²
    unchanged.  vol_ewma/var_99/es_975 are null while σ² is undefined.  σ_t (per-interval) = sqrt(σ²_t).
R8  Lookback of a record = events with end − Lb <= ts < end.  Bars = groups of lookback quotes/trades by
    floor(ts / B) (B-aligned, which automatically clips the first and last bar to the lookback).  Only bars with
    at least one lookback quote exist; trades of other bars are dropped from every bar metric (amihud, kyle).
    A bar's last mid / Hi / Lo use only the quotes inside the (clipped) bar, not the mid standing at its start.
R9  vol_parkinson: sqrt(mean · Y/B) with the full bar length B even for clipped bars; bars with Hi == Lo are
    excluded from the mean; null when no bar has Hi > Lo (one such bar is enough: a mean is not a sample stat).
R10 amihud: bars with an r_bar (every bar but the first existing one) and notional_bar > 0; notional_bar =
    Σ price·size·multiplier of the bar's lookback trades.  null when there is no such bar.
R11 kyle_lambda: x = bar signed notional Σ side·price·size·multiplier (0 for a bar without trades), y = bar Δmid,
    over the bars with a Δmid; OLS with intercept, β = Sxy/Sxx; null when n < 2 or Sxx == 0; reported
    β·1e6 / mid · 1e4 with mid = this record's mid.
R12 roll_spread_bps: the lookback's trades in merge order p_0..p_k (ALL lookback trades, also those in bars
    without quotes: the "count nowhere" clause is read as being about bars); Δp_i = p_i − p_{i−1}, i.e. a Δp
    needs both of its trades in the lookback, so a (Δp_t, Δp_{t−1}) pair needs three lookback trades.
    c = sample covariance (n − 1, each series about its own mean) of the pairs; null when fewer than 2 pairs
    (fewer than 4 lookback trades) or mid is null; 2·sqrt(−c)/mid·1e4 if c < 0 else 0.
R13 vpin: every trade of the instrument with ts < end (from the beginning of input, not only the lookback)
    fills buckets of V in merge order, splitting across bucket boundaries.  The number of full buckets is
    decided in exact decimal arithmetic on the sizes as written in the input (so a bucket filled to exactly V is
    full); the shares inside buckets are computed in floating point.  vpin over the last n full buckets; null
    before n full buckets.  V per instrument from bucket_volume[symbol], else bucket_volume.default.
R14 var_99_fhs: "records in the lookback (including this one)" = the instrument's records u with
    end − Lb < ts_u <= end (ts_u = the record's end, i.e. the records whose whole interval lies in the lookback
    [end − Lb, end), when Lb is a multiple of W), with a non-null r_u and σ_{u−1} > 0, where σ_{u−1} is the EWMA
    σ after the previous record.  z_u = r_u / σ_{u−1}; q = numpy.quantile(z, 0.01) (linear); the value is
    −q · σ_h of THIS record, σ_h = sqrt(σ²_t · h/W).  null without any z.
R15 lvar_99: s = (ask − bid)/mid of each lookback quote; μ_s = mean, σ_s = sample std (n − 1); null when
    var_99 is null or fewer than 2 lookback quotes.
R16 stale_s = (end − ts of the last quote with ts < end) / 1e6.  quotes = number of quotes with start <= ts < end.
"""

from __future__ import annotations

import bisect
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

Y_SECONDS = 365 * 86_400
US = 1_000_000
Z_99 = 2.326348
ES_975 = 2.337803

# Fields of a record, in the SPEC's order (plus the identifying ones).
ID_FIELDS = ("id", "instrument", "start", "ts")
INT_FIELDS = ("start", "ts", "trades", "quotes")
METRIC_FIELDS = (
    "bid", "ask", "mid", "spread_bps", "spread_bps_avg", "microprice", "imbalance", "depth",
    "volume", "notional", "trades", "vwap", "buy_volume", "sell_volume", "effective_spread_bps",
    "ret", "vol_ewma", "vol_parkinson", "amihud", "roll_spread_bps", "kyle_lambda", "vpin",
    "var_99", "es_975", "var_99_fhs", "lvar_99", "quotes", "stale_s",
)
# "Quantities built from sums over the lookback" (tolerance 1e-6).
LOOKBACK_FIELDS = frozenset({"vol_parkinson", "amihud", "roll_spread_bps", "kyle_lambda", "lvar_99",
                             "var_99_fhs", "vpin"})


def _fmt_duration(us: int) -> str:
    if us % US == 0:
        return f"{us // US}s"
    if us % 1000 == 0:
        return f"{us // 1000}ms"
    return f"{us}us"


@dataclass
class Config:
    """SPEC §9 `metrics` section; durations in integer microseconds."""
    interval_us: int = 1 * US
    lookback_us: int = 300 * US
    bar_us: int = 10 * US
    ewma_lambda: float = 0.94
    horizon_us: int = 60 * US
    depth_bps: tuple = (10, 50, 100)
    vpin_buckets: int = 50
    bucket_volume_default: float = 100.0
    bucket_volume_overrides: dict = field(default_factory=dict)

    def bucket_volume(self, symbol: str) -> float:
        return self.bucket_volume_overrides.get(symbol, self.bucket_volume_default)

    def to_yaml(self) -> str:
        bv = ", ".join([f"default: {self.bucket_volume_default!r}"]
                       + [f"{k}: {v!r}" for k, v in self.bucket_volume_overrides.items()])
        return (
            "metrics:\n"
            f"  interval: {_fmt_duration(self.interval_us)}\n"
            f"  lookback: {_fmt_duration(self.lookback_us)}\n"
            f"  bar: {_fmt_duration(self.bar_us)}\n"
            f"  ewma_lambda: {self.ewma_lambda!r}\n"
            f"  horizon: {_fmt_duration(self.horizon_us)}\n"
            f"  depth_bps: [{', '.join(str(k) for k in self.depth_bps)}]\n"
            f"  vpin: {{buckets: {self.vpin_buckets}, bucket_volume: {{{bv}}}}}\n"
        )


@dataclass
class Instrument:
    symbol: str
    multiplier: float
    # quotes, in merge order
    q_ts: np.ndarray
    q_bid: np.ndarray
    q_ask: np.ndarray
    q_bsz: np.ndarray
    q_asz: np.ndarray
    q_bids: list
    q_asks: list
    # trades, in merge order
    t_ts: np.ndarray
    t_px: np.ndarray
    t_sz: np.ndarray
    t_side: np.ndarray          # +1 buy aggressor, -1 sell aggressor
    t_sz_scaled: np.ndarray     # exact sizes as integers: size · 10**t_scale_exp
    t_scale_exp: int

    @property
    def q_mid(self) -> np.ndarray:
        return (self.q_bid + self.q_ask) / 2.0


def _read_ndjson(path: Path, exact: bool = False) -> list[tuple[int, dict]]:
    """(line number, object) of every line; `exact` parses non-integer numbers as Decimal (their text)."""
    if not path.exists():
        return []
    out = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f):
            if line.strip():
                out.append((line_no, json.loads(line, parse_float=Decimal) if exact else json.loads(line)))
    return out


def _f(x) -> float:
    return float(x)


def _scaled_sizes(sizes: list[Fraction]) -> dict:
    """Sizes as exact integers (decimal sizes scaled by a common power of ten) for the VPIN bucket count."""
    exp = 0
    while any((x * 10 ** exp).denominator != 1 for x in sizes):
        exp += 1
        if exp > 12:
            raise ValueError("trade sizes with more than 12 decimals")
    scaled = [int(x * 10 ** exp) for x in sizes]
    if sum(scaled) >= 2 ** 62:
        raise ValueError("total volume too large for exact int64 bucket counting")
    return {"t_sz_scaled": np.array(scaled, dtype=np.int64), "t_scale_exp": exp}


def load_feed(directory: str | Path) -> dict[str, Instrument]:
    directory = Path(directory)
    mult: dict[str, float] = {}
    for _, d in _read_ndjson(directory / "instruments.ndjson"):
        mult[d["symbol"]] = _f(d.get("multiplier", 1))
    quotes: dict[str, list] = {s: [] for s in mult}
    trades: dict[str, list] = {s: [] for s in mult}
    for line_no, d in _read_ndjson(directory / "quotes.ndjson"):
        if d["instrument"] in quotes:
            quotes[d["instrument"]].append((int(d["ts"]), line_no, d))
    for line_no, d in _read_ndjson(directory / "trades.ndjson", exact=True):
        if d["instrument"] in trades:
            trades[d["instrument"]].append((int(d["ts"]), line_no, d))
    result = {}
    for sym in mult:
        qs = sorted(quotes[sym], key=lambda e: (e[0], e[1]))
        ts_ = sorted(trades[sym], key=lambda e: (e[0], e[1]))
        if not qs and not ts_:
            continue

        def levels(d, side, best, size):
            lv = d.get(side)
            if lv is None:
                return [(_f(d[best]), _f(d[size]))]
            return [(_f(p), _f(s)) for p, s in lv]

        result[sym] = Instrument(
            symbol=sym, multiplier=mult[sym],
            q_ts=np.array([e[0] for e in qs], dtype=np.int64),
            q_bid=np.array([_f(e[2]["bid"]) for e in qs], dtype=float),
            q_ask=np.array([_f(e[2]["ask"]) for e in qs], dtype=float),
            q_bsz=np.array([_f(e[2]["bid_size"]) for e in qs], dtype=float),
            q_asz=np.array([_f(e[2]["ask_size"]) for e in qs], dtype=float),
            q_bids=[levels(e[2], "bids", "bid", "bid_size") for e in qs],
            q_asks=[levels(e[2], "asks", "ask", "ask_size") for e in qs],
            t_ts=np.array([e[0] for e in ts_], dtype=np.int64),
            t_px=np.array([_f(e[2]["price"]) for e in ts_], dtype=float),
            t_sz=np.array([_f(e[2]["size"]) for e in ts_], dtype=float),
            t_side=np.array([1.0 if e[2]["side"] == "buy" else -1.0 for e in ts_], dtype=float),
            **_scaled_sizes([Fraction(e[2]["size"]) for e in ts_]),
        )
    return result


# ---------------------------------------------------------------------------------------------------------------
# per-record computation


def _interval_fields(D: Instrument, start: int, end: int, cfg: Config) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    mids = D.q_mid
    qs = int(np.searchsorted(D.q_ts, start, "left"))
    qe = int(np.searchsorted(D.q_ts, end, "left"))          # quotes with ts < end: [0, qe)
    rec["quotes"] = qe - qs
    if qe == 0:
        for k in ("bid", "ask", "mid", "spread_bps", "spread_bps_avg", "microprice", "imbalance", "depth",
                  "stale_s"):
            rec[k] = None
    else:
        j = qe - 1
        bid, ask = float(D.q_bid[j]), float(D.q_ask[j])
        bsz, asz = float(D.q_bsz[j]), float(D.q_asz[j])
        mid = (bid + ask) / 2.0
        rec["bid"], rec["ask"], rec["mid"] = bid, ask, mid
        rec["spread_bps"] = 1e4 * (ask - bid) / mid
        rec["microprice"] = (bid * asz + ask * bsz) / (bsz + asz)
        rec["imbalance"] = (bsz - asz) / (bsz + asz)
        depth = {}
        for k in cfg.depth_bps:
            lo_thr = mid * (1 - k / 1e4)
            hi_thr = mid * (1 + k / 1e4)
            b = 0.0
            for p, s in D.q_bids[j]:
                if p >= lo_thr:
                    b += p * s * D.multiplier
            a = 0.0
            for p, s in D.q_asks[j]:
                if p <= hi_thr:
                    a += p * s * D.multiplier
            depth[str(k)] = {"bid": b, "ask": a}
        rec["depth"] = depth
        rec["stale_s"] = (end - int(D.q_ts[j])) / 1e6
        # time-weighted spread over [start, end)
        num = 0.0
        den = 0
        for i in range(max(qs - 1, 0), qe):
            a_t = max(int(D.q_ts[i]), start)
            b_t = min(int(D.q_ts[i + 1]) if i + 1 < qe else end, end)
            w = b_t - a_t
            if w > 0:
                sp = 1e4 * (D.q_ask[i] - D.q_bid[i]) / mids[i]
                num += w * sp
                den += w
        rec["spread_bps_avg"] = num / den if den > 0 else None

    ts0 = int(np.searchsorted(D.t_ts, start, "left"))
    te = int(np.searchsorted(D.t_ts, end, "left"))
    px, sz, side = D.t_px[ts0:te], D.t_sz[ts0:te], D.t_side[ts0:te]
    rec["trades"] = te - ts0
    rec["volume"] = float(sum(sz.tolist())) if te > ts0 else 0.0
    rec["notional"] = float(sum((px * sz * D.multiplier).tolist())) if te > ts0 else 0.0
    rec["buy_volume"] = float(sum(sz[side > 0].tolist())) if te > ts0 else 0.0
    rec["sell_volume"] = float(sum(sz[side < 0].tolist())) if te > ts0 else 0.0
    rec["vwap"] = float(sum((px * sz).tolist())) / rec["volume"] if rec["volume"] > 0 else None
    num = 0.0
    den = 0.0
    for i in range(ts0, te):
        qi = int(np.searchsorted(D.q_ts, D.t_ts[i], "right")) - 1
        if qi < 0:
            continue
        m = float(mids[qi])
        num += D.t_sz[i] * (2e4 * abs(D.t_px[i] - m) / m)
        den += D.t_sz[i]
    rec["effective_spread_bps"] = num / den if den > 0 else None
    return rec


def _lookback_fields(D: Instrument, end: int, mid: float | None, cfg: Config, readings: dict) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    lo = end - cfg.lookback_us
    B = cfg.bar_us
    mids = D.q_mid
    ql = int(np.searchsorted(D.q_ts, lo, "left"))
    qe = int(np.searchsorted(D.q_ts, end, "left"))
    tl = int(np.searchsorted(D.t_ts, lo, "left"))
    te = int(np.searchsorted(D.t_ts, end, "left"))

    # --- bars (R8): group the lookback's quotes by floor(ts / B); only bars with a quote exist
    bar_of_q = D.q_ts[ql:qe] // B
    m_lb = mids[ql:qe]
    if len(bar_of_q):
        bar_arr, first = np.unique(bar_of_q, return_index=True)     # ascending; ts sorted => contiguous groups
        last = np.append(first[1:], len(bar_of_q)) - 1
        last_mid = m_lb[last].tolist()
        hi = np.maximum.reduceat(m_lb, first).tolist()
        low = np.minimum.reduceat(m_lb, first).tolist()
    else:
        bar_arr = np.array([], dtype=np.int64)
        last_mid, hi, low = [], [], []
    nb = len(bar_arr)
    bar_of_t = D.t_ts[tl:te] // B
    k_t = np.searchsorted(bar_arr, bar_of_t)
    has_bar = (k_t < nb) & (bar_arr[np.minimum(k_t, max(nb - 1, 0))] == bar_of_t) if nb else np.zeros(len(bar_of_t), bool)
    # trades in a bar without quotes count nowhere
    tn = D.t_px[tl:te] * D.t_sz[tl:te] * D.multiplier
    notional_bar = np.bincount(k_t[has_bar], weights=tn[has_bar], minlength=nb).tolist()
    signed_bar = np.bincount(k_t[has_bar], weights=(D.t_side[tl:te] * tn)[has_bar], minlength=nb).tolist()
    bars = bar_arr.tolist()

    # vol_parkinson (R9)
    pk = [math.log(h / l) ** 2 / (4 * math.log(2)) for h, l in zip(hi, low) if h > l]
    rec["vol_parkinson"] = math.sqrt((sum(pk) / len(pk)) * Y_SECONDS * US / B) if pk else None

    # amihud (R10)
    am = []
    for k in range(1, len(bars)):
        if notional_bar[k] > 0:
            r = math.log(last_mid[k] / last_mid[k - 1])
            am.append(abs(r) / notional_bar[k] * 1e6)
    rec["amihud"] = sum(am) / len(am) if am else None

    # kyle_lambda (R11)
    x = np.array(signed_bar[1:], dtype=float)
    y = np.array([last_mid[k] - last_mid[k - 1] for k in range(1, len(bars))], dtype=float)
    kyle = None
    if len(x) >= 2 and mid is not None:
        dx = x - x.mean()
        dy = y - y.mean()
        sxx = float(np.dot(dx, dx))
        if sxx > 0:
            beta = float(np.dot(dx, dy)) / sxx
            kyle = beta * 1e6 / mid * 1e4
    rec["kyle_lambda"] = kyle

    # roll_spread_bps (R12)
    if readings.get("roll_quote_bars_only"):
        p = D.t_px[tl:te][has_bar]
    else:
        p = D.t_px[tl:te]
    roll = None
    if len(p) >= 4 and mid is not None:
        dp = np.diff(p)
        a, b_ = dp[1:], dp[:-1]
        c = float(np.dot(a - a.mean(), b_ - b_.mean())) / (len(a) - 1)
        roll = 2 * math.sqrt(-c) / mid * 1e4 if c < 0 else 0.0
    rec["roll_spread_bps"] = roll

    # lvar ingredients (R15)
    if qe - ql >= 2:
        s = (D.q_ask[ql:qe] - D.q_bid[ql:qe]) / mids[ql:qe]
        rec["_spread_mu"] = float(np.mean(s))
        rec["_spread_sd"] = float(np.std(s, ddof=1))
    else:
        rec["_spread_mu"] = rec["_spread_sd"] = None
    return rec


def _vpin(D: Instrument, end: int, cfg: Config) -> float | None:
    n = cfg.vpin_buckets
    V = cfg.bucket_volume(D.symbol)
    te = int(np.searchsorted(D.t_ts, end, "left"))
    if te == 0:
        return None
    # exact count of full buckets: Σ size (as written) // V, in integers
    total_exact = Fraction(int(D.t_sz_scaled[:te].sum()), 10 ** D.t_scale_exp)
    full = math.floor(total_exact / Fraction(V))
    if full < n:
        return None
    sz = D.t_sz[:te]
    cum_hi = np.cumsum(sz)
    cum_lo = cum_hi - sz
    buy = D.t_side[:te] > 0
    acc = 0.0
    for b in range(full - n, full):
        blo, bhi = b * V, (b + 1) * V
        ov = np.clip(np.minimum(cum_hi, bhi) - np.maximum(cum_lo, blo), 0.0, None)
        bv = float(ov[buy].sum())
        sv = float(ov[~buy].sum())
        acc += abs(bv - sv)
    return acc / (n * V)


def compute_metrics(directory: str | Path, cfg: Config | None = None, readings: dict | None = None,
                    feed: dict[str, Instrument] | None = None) -> list[dict]:
    """All liquidity-metrics records of a backtest over `directory`, as dicts keyed like the engine's output.
    `feed` = load_feed(directory) when already loaded (it is read-only here)."""
    cfg = cfg or Config()
    readings = readings or {}
    if feed is None:
        feed = load_feed(directory)
    W = cfg.interval_us
    out: list[dict] = []
    for sym, D in sorted(feed.items()):
        intervals = sorted(set((D.q_ts // W).tolist()) | set((D.t_ts // W).tolist()))
        recs = []
        for k in intervals:
            start, end = k * W, (k + 1) * W
            rec = {"id": f"{sym}:metrics:{end}", "instrument": sym, "start": start, "ts": end}
            rec.update(_interval_fields(D, start, end, cfg))
            rec.update(_lookback_fields(D, end, rec["mid"], cfg, readings))
            rec["vpin"] = _vpin(D, end, cfg)
            recs.append(rec)

        # ret / EWMA recursion over the record sequence (R7)
        sig2 = None
        prev_mid = None
        for i, rec in enumerate(recs):
            mid = rec["mid"]
            ret = math.log(mid / prev_mid) if (i > 0 and mid is not None and prev_mid is not None) else None
            rec["ret"] = ret
            rec["_sig2_prev"] = sig2
            if ret is not None:
                sig2 = ret * ret if sig2 is None else cfg.ewma_lambda * sig2 + (1 - cfg.ewma_lambda) * ret * ret
            rec["_sig2"] = sig2
            prev_mid = mid

        ends = [r["ts"] for r in recs]
        # z_u = r_u / σ_{u−1} of each record (None when r_u is null or σ_{u−1} is not > 0)
        z_of = []
        for u in recs:
            sd = math.sqrt(u["_sig2_prev"]) if u["_sig2_prev"] is not None else 0.0
            z_of.append(u["ret"] / sd if (u["ret"] is not None and sd > 0) else None)
        for i, rec in enumerate(recs):
            sig2 = rec["_sig2"]
            if sig2 is None:
                rec["vol_ewma"] = rec["var_99"] = rec["es_975"] = None
                sigma_h = None
            else:
                rec["vol_ewma"] = math.sqrt(sig2 * Y_SECONDS * US / W)
                sigma_h = math.sqrt(sig2 * cfg.horizon_us / W)
                rec["var_99"] = Z_99 * sigma_h
                rec["es_975"] = ES_975 * sigma_h
            # var_99_fhs (R14)
            end = rec["ts"]
            lo = end - cfg.lookback_us
            j0 = bisect.bisect_right(ends, lo) if not readings.get("fhs_closed") else bisect.bisect_left(ends, lo)
            zs = [z for z in z_of[j0: i + 1] if z is not None]
            rec["var_99_fhs"] = (-float(np.quantile(np.array(zs), 0.01)) * sigma_h
                                 if zs and sigma_h is not None else None)
            # lvar_99 (R15)
            if rec["var_99"] is not None and rec["_spread_mu"] is not None:
                rec["lvar_99"] = rec["var_99"] + 0.5 * (rec["_spread_mu"] + Z_99 * rec["_spread_sd"])
            else:
                rec["lvar_99"] = None

        for rec in recs:
            out.append({k: rec[k] for k in ID_FIELDS + METRIC_FIELDS})
    return out


# ---------------------------------------------------------------------------------------------------------------
# comparison


def _close(a: float, b: float, rel: float, abs_tol: float = 1e-12) -> bool:
    if a == b:
        return True
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_tol)


def compare(expected: list[dict], actual: list[dict], rel: float = 1e-9, rel_lookback: float = 1e-6) -> list[tuple]:
    """Mismatches as (id, field, expected, actual); ids missing on either side are reported with field '<record>'."""
    exp = {r["id"]: r for r in expected}
    act = {r["id"]: r for r in actual}
    bad: list[tuple] = []
    for rid in sorted(exp.keys() - act.keys()):
        bad.append((rid, "<record>", "present", "missing"))
    for rid in sorted(act.keys() - exp.keys()):
        bad.append((rid, "<record>", "missing", "present"))
    for rid in sorted(exp.keys() & act.keys()):
        e, a = exp[rid], act[rid]
        for f in ID_FIELDS + METRIC_FIELDS:
            ev, av = e.get(f), a.get(f, "<absent>")
            tol = rel_lookback if f in LOOKBACK_FIELDS else rel
            if f == "depth":
                if ev is None or av is None or not isinstance(av, dict):
                    if not (ev is None and av is None):
                        bad.append((rid, f, ev, av))
                    continue
                if set(ev) != set(av):
                    bad.append((rid, f, sorted(ev), sorted(av)))
                    continue
                for k in ev:
                    for side in ("bid", "ask"):
                        x, y = ev[k][side], av[k].get(side)
                        if y is None or not _close(x, y, tol):
                            bad.append((rid, f"depth.{k}.{side}", x, y))
                continue
            if ev is None or av is None:
                if not (ev is None and av is None):
                    bad.append((rid, f, ev, av))
                continue
            if isinstance(ev, str) or f in INT_FIELDS:
                if ev != av or (f in INT_FIELDS and not isinstance(av, int)):
                    bad.append((rid, f, ev, av))
                continue
            if not isinstance(av, (int, float)) or isinstance(av, bool) or not _close(float(ev), float(av), tol):
                bad.append((rid, f, ev, av))
    return bad
