"""The JSON Schemas in schemas/ are valid draft 2020-12 schemas and accept / reject the documented shapes.

Valid instances come from SPEC.md's examples where it has one."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from jsonschema import Draft202012Validator

from helpers import ALL_TOPICS, INPUT_TOPICS, OUTPUT_TOPICS, SCHEMA_DIR, load_schema, schema_errors

# --- SPEC examples ------------------------------------------------------------------------------------------------

PERP = {"symbol": "BTC-PERP", "kind": "perpetual", "underlying": "BTC", "reference": "BTC-PERP", "multiplier": 1,
        "tick_size": 0.5, "tiers": [{"cap": 50000, "imr": 0.008, "mmr": 0.004},
                                    {"cap": 250000, "imr": 0.01, "mmr": 0.005}]}
OPTION = {"symbol": "BTC-27DEC26-70000-C", "kind": "option", "underlying": "BTC", "reference": "BTC-PERP",
          "multiplier": 1, "expiry": 1798358400000000, "strike": 70000, "option_type": "call"}
QUOTE = {"instrument": "BTC-PERP", "ts": 1764000000000000, "bid": 64000.5, "bid_size": 2.1, "ask": 64001.0,
         "ask_size": 1.7, "bids": [[64000.5, 2.1], [64000.0, 5.0]], "asks": [[64001.0, 1.7], [64002.0, 3.3]],
         "iv": 0.55}
TRADE = {"instrument": "BTC-PERP", "ts": 1764000000100000, "id": "T-991", "price": 64001.0, "size": 0.5,
         "side": "buy", "buyer": "acct-17", "seller": "acct-4", "fee": 0.0002}
DEPOSIT = {"account": "acct-17", "ts": 1764000000000000, "id": "D-1", "type": "deposit", "asset": "USD",
           "amount": 25000}
TRIGGER = {"id": "BTC-PERP:spread-blowout:1764000005000000", "instrument": "BTC-PERP", "rule": "spread-blowout",
           "ts": 1764000005000000, "state": "activated", "severity": 1, "previous_severity": 0,
           "since": 1764000000000000, "evidence": {"spread_bps_avg": 31.2, "depth.50.bid": 410000.0}}
MARGIN_CALL = json.loads("""
{"id":"acct-17:margin_call:1764000000100000","account":"acct-17","ts":1764000000100000,"level":"margin_call",
 "previous":"warning","equity":1000.0,"maintenance":866.5,"initial":1831.5,"coverage":1.154068,"shortfall":831.5,
 "mode":"standard","cause":{"type":"mark","instrument":"BTC-PERP"},
 "positions":[{"instrument":"BTC-PERP","size":3.0,"entry":64000.0,"mark":61000.0,"notional":183000.0,
   "maintenance":866.5,"initial":1831.5,"liquidity_addon":1.5,"upnl":-9000.0}],
 "liquidation_prices":{"BTC":60955.28}}
""")
SNAPSHOT = {k: v for k, v in MARGIN_CALL.items() if k != "previous"} | {"id": "acct-17:snapshot:1764000000100000"}
METRICS = {
    "id": "BTC-PERP:metrics:1764000001000000", "instrument": "BTC-PERP", "start": 1764000000000000,
    "ts": 1764000001000000, "bid": 64000.5, "ask": 64001.0, "mid": 64000.75, "spread_bps": 0.078124,
    "spread_bps_avg": 0.0790, "microprice": 64000.72, "imbalance": 0.105263,
    "depth": {"10": {"bid": 454402.2, "ask": 236802.2}, "50": {"bid": 454402.2, "ask": 236802.2},
              "100": {"bid": 454402.2, "ask": 236802.2}},
    "volume": 0.5, "notional": 32000.5, "trades": 1, "vwap": 64001.0, "buy_volume": 0.5, "sell_volume": 0.0,
    "effective_spread_bps": 0.078124, "ret": None, "vol_ewma": None, "vol_parkinson": None, "amihud": None,
    "roll_spread_bps": None, "kyle_lambda": None, "vpin": None, "var_99": None, "es_975": None, "var_99_fhs": None,
    "lvar_99": None, "quotes": 3, "stale_s": 0.9,
}
METRICS_MINIMAL = {k: METRICS[k] for k in ["id", "instrument", "start", "ts", "bid", "ask", "mid", "spread_bps",
                                           "volume", "notional", "trades", "buy_volume", "sell_volume", "quotes",
                                           "stale_s"]}
MARK = {"instrument": "BTC-PERP", "ts": 1764000000000000, "mark": 64000.75, "iv": None,
        "bids": [[64000.5, 2.1], [64000.0, 5.0]], "asks": [[64001.0, 1.7], [64002.0, 3.3]], "stress": 0}
FILL = {"id": "acct-17:fill:T-991:buy", "account": "acct-17", "instrument": "BTC-PERP", "ts": 1764000000100000,
        "side": "buy", "size": 0.5, "price": 64001.0, "fee": 0.0002, "trade_id": "T-991"}
DLQ = {"topic": "quotes", "partition": 1, "offset": 42, "key": "BTC-PERP",
       "value": '{"instrument":"BTC-PERP","ts":1764000000000000,"bid":64002.0,"bid_size":1,"ask":64001.0,"ask_size":1}',
       "error": "crossed book: bid 64002.0 > ask 64001.0", "reason": "crossed_book", "ts": 1764000000000000}
DLQ_BINARY = DLQ | {"value": base64.b64encode(b"\xff\xfe not json").decode(), "value_base64": True,
                    "reason": "decode_error", "error": "invalid UTF-8 at byte 0"}


def with_(obj: dict, **changes) -> dict:
    """A deep copy of obj with top-level fields replaced (a value of DROP removes the field)."""
    out = copy.deepcopy(obj)
    for k, v in changes.items():
        if v is DROP:
            out.pop(k, None)
        else:
            out[k] = v
    return out


DROP = object()


def nested(obj: dict, path: list, value) -> dict:
    out = copy.deepcopy(obj)
    cur = out
    for p in path[:-1]:
        cur = cur[p]
    if value is DROP:
        del cur[path[-1]]
    else:
        cur[path[-1]] = value
    return out


VALID = {
    "instruments": [PERP, OPTION, {"symbol": "ETH-27DEC26", "kind": "future", "underlying": "ETH",
                                   "expiry": 1798358400000000}, PERP | {"listed_by": "ops"}],
    "quotes": [QUOTE, {k: QUOTE[k] for k in ["instrument", "ts", "bid", "bid_size", "ask", "ask_size"]},
               QUOTE | {"venue": "x"}],
    "trades": [TRADE, {k: TRADE[k] for k in ["instrument", "ts", "id", "price", "size", "side"]},
               TRADE | {"fee": -0.0001, "liquidation": True}],
    "accounts": [DEPOSIT,
                 {"account": "acct-17", "ts": 1764000000000000, "id": "W-1", "type": "withdrawal", "asset": "BTC",
                  "amount": 0.5},
                 {"account": "acct-17", "ts": 1764000000000000, "id": "A-1", "type": "adjustment", "asset": "USD",
                  "amount": -120.5},
                 {"account": "acct-17", "ts": 1764000000000000, "id": "M-1", "type": "mode", "mode": "portfolio"},
                 {"account": "acct-17", "ts": 1764000000000000, "id": "P-1", "type": "position",
                  "instrument": "BTC-PERP", "size": -3, "entry_price": 64000.0},
                 {"account": "acct-17", "ts": 1764000000000000, "type": "position", "instrument": "BTC-PERP",
                  "size": 0, "entry_price": 0}],
    "liquidity-metrics": [METRICS, METRICS_MINIMAL,
                          with_(METRICS_MINIMAL, bid=None, ask=None, mid=None, spread_bps=None, stale_s=None,
                                quotes=0, trades=2, volume=1.5, depth=None),
                          with_(METRICS, depth={"25": {"bid": 0, "ask": 0}}),
                          with_(METRICS, ret=-0.0001, vol_ewma=0.31, var_99=0.004, es_975=0.0041,
                                var_99_fhs=0.0039, lvar_99=0.0042, vpin=0.12, kyle_lambda=-0.5)],
    "backstop-triggers": [TRIGGER,
                          with_(TRIGGER, id="BTC-PERP:spread-blowout:1764000009000000", ts=1764000009000000,
                                state="escalated", severity=2, previous_severity=1),
                          with_(TRIGGER, state="deescalated", severity=1, previous_severity=2),
                          with_(TRIGGER, state="cleared", severity=0, previous_severity=2,
                                evidence={"spread_bps_avg": 12.0}),
                          with_(TRIGGER, id="ETH-PERP:stale-market:1764000012000000", instrument="ETH-PERP",
                                rule="stale-market", evidence={"stale_s": None})],
    "backstop-marks": [MARK, with_(MARK, iv=0.55, stress=2, bids=[], asks=[[64001.0, 1.7]]),
                       with_(MARK, id="BTC-PERP:mark:1764000000000000")],
    "backstop-fills": [FILL, with_(FILL, id="acct-4:fill:T-991:sell", account="acct-4", side="sell", fee=0)],
    "margin-calls": [MARGIN_CALL,
                     with_(MARGIN_CALL, id="acct-17:ok:1764000000200000", level="ok", previous="bankruptcy",
                           coverage=None, positions=[], liquidation_prices={}, cause={"type": "account", "id": "D-1"}),
                     with_(MARGIN_CALL, mode="portfolio", liquidation_prices={"BTC": None},
                           cause={"type": "fill", "instrument": "BTC-PERP", "id": "T-991"},
                           positions=[MARGIN_CALL["positions"][0] | {"maintenance": None, "initial": None}])],
    "account-margin": [SNAPSHOT, with_(SNAPSHOT, level="ok", coverage=None, positions=[],
                                       cause={"type": "instrument", "instrument": "BTC-PERP"})],
    "backstop-dlq": [DLQ, DLQ_BINARY, with_(DLQ, key=None, value=None, reason="decode_error"),
                     with_(DLQ, value_base64=False, reason="late"),
                     with_(DLQ, topic="trades", reason="duplicate"),
                     with_(DLQ, topic="accounts", reason="unknown_type")],
}

INVALID = {
    "instruments": {
        "missing symbol": with_(PERP, symbol=DROP),
        "unknown kind": with_(PERP, kind="swap"),
        "option without strike": with_(OPTION, strike=DROP),
        "bad option_type": with_(OPTION, option_type="straddle"),
        "tier without mmr": nested(PERP, ["tiers", 0, "mmr"], DROP),
        "zero multiplier": with_(PERP, multiplier=0),
        "expiry as string": with_(OPTION, expiry="2026-12-27"),
    },
    "quotes": {
        "string bid": with_(QUOTE, bid="abc"),
        "missing ask": with_(QUOTE, ask=DROP),
        "zero bid": with_(QUOTE, bid=0),
        "negative size": with_(QUOTE, ask_size=-1),
        "float ts": with_(QUOTE, ts=1764000000000000.5),
        "ts as string": with_(QUOTE, ts="1764000000000000"),
        "level with three items": nested(QUOTE, ["bids", 0], [64000.5, 2.1, 1]),
        "level as object": nested(QUOTE, ["asks", 0], {"price": 64001.0, "size": 1.7}),
        "not an object": [QUOTE],
    },
    "trades": {
        "missing id": with_(TRADE, id=DROP),
        "bad side": with_(TRADE, side="long"),
        "zero size": with_(TRADE, size=0),
        "non-string buyer": with_(TRADE, buyer=17),
    },
    "accounts": {
        "unknown type": with_(DEPOSIT, type="transfer"),
        "deposit without amount": with_(DEPOSIT, amount=DROP),
        "negative deposit": with_(DEPOSIT, amount=-5),
        "mode without mode": {"account": "a", "ts": 1, "type": "mode"},
        "bad mode": {"account": "a", "ts": 1, "type": "mode", "mode": "cross"},
        "position without size": {"account": "a", "ts": 1, "type": "position", "instrument": "BTC-PERP",
                                  "entry_price": 1.0},
    },
    "liquidity-metrics": {
        "string mid": with_(METRICS, mid="64000.75"),
        "missing stale_s": with_(METRICS, stale_s=DROP),
        "missing volume": with_(METRICS_MINIMAL, volume=DROP),
        "unknown field (typo)": with_(METRICS, spread_bsp=1.0),
        "bad id": with_(METRICS, id="BTC-PERP:1764000001000000"),
        "float trades": with_(METRICS, trades=1.5),
        "negative quotes": with_(METRICS, quotes=-1),
        "null volume": with_(METRICS, volume=None),
        "ts as string": with_(METRICS, ts="1764000001000000"),
        "depth key not an integer": with_(METRICS, depth={"ten": {"bid": 1.0, "ask": 1.0}}),
        "depth entry missing ask": nested(METRICS, ["depth", "10", "ask"], DROP),
        "depth entry null bid": nested(METRICS, ["depth", "10", "bid"], None),
        "string vpin": with_(METRICS, vpin="0.5"),
    },
    "backstop-triggers": {
        "unknown state": with_(TRIGGER, state="fired"),
        "missing evidence": with_(TRIGGER, evidence=DROP),
        "string evidence value": with_(TRIGGER, evidence={"spread_bps_avg": "31.2"}),
        "activated with previous severity": with_(TRIGGER, previous_severity=1),
        "cleared with severity": with_(TRIGGER, state="cleared", severity=1, previous_severity=1),
        "unknown field": with_(TRIGGER, sevrity=1),
        "float since": with_(TRIGGER, since=1764000000000000.5),
    },
    "backstop-marks": {
        "boolean stress": with_(MARK, stress=True),
        "negative stress": with_(MARK, stress=-1),
        "missing iv": with_(MARK, iv=DROP),
        "bad level": with_(MARK, bids=[[64000.5]]),
        "zero mark": with_(MARK, mark=0),
        "unknown field": with_(MARK, mid=64000.75),
    },
    "backstop-fills": {
        "signed size": with_(FILL, size=-0.5),
        "bad side": with_(FILL, side="short"),
        "missing trade_id": with_(FILL, trade_id=DROP),
        "unknown field": with_(FILL, buyer="acct-17"),
    },
    "margin-calls": {
        "unknown level": with_(MARGIN_CALL, level="danger"),
        "missing previous": with_(MARGIN_CALL, previous=DROP),
        "previous equal to level": with_(MARGIN_CALL, previous="margin_call"),
        "unknown cause type": with_(MARGIN_CALL, cause={"type": "timer"}),
        "mark cause without instrument": with_(MARGIN_CALL, cause={"type": "mark"}),
        "position missing upnl": nested(MARGIN_CALL, ["positions", 0, "upnl"], DROP),
        "position with unknown field": nested(MARGIN_CALL, ["positions", 0, "liquidity_add_on"], 1.5),
        "zero-size position": nested(MARGIN_CALL, ["positions", 0, "size"], 0),
        "string liquidation price": with_(MARGIN_CALL, liquidation_prices={"BTC": "60955.28"}),
        "negative shortfall": with_(MARGIN_CALL, shortfall=-1.0),
        "bad mode": with_(MARGIN_CALL, mode="cross"),
        "bad id": with_(MARGIN_CALL, id="acct-17:1764000000100000"),
    },
    "account-margin": {
        "has previous": SNAPSHOT | {"previous": "warning"},
        "margin-call id": with_(SNAPSHOT, id="acct-17:margin_call:1764000000100000"),
        "missing equity": with_(SNAPSHOT, equity=DROP),
        "string coverage": with_(SNAPSHOT, coverage="1.15"),
    },
    "backstop-dlq": {
        "unknown reason": with_(DLQ, reason="bad_json"),
        "missing error": with_(DLQ, error=DROP),
        "missing key": with_(DLQ, key=DROP),
        "offset as string": with_(DLQ, offset="42"),
        "negative partition": with_(DLQ, partition=-1),
        "value as object": with_(DLQ, value=json.loads(DLQ["value"])),
        "base64 flag on non-base64 value": with_(DLQ, value_base64=True),
        "base64 flag on null value": with_(DLQ, value=None, value_base64=True),
        "string value_base64": with_(DLQ_BINARY, value_base64="true"),
        "unknown field": with_(DLQ, message="x"),
    },
}


def test_every_topic_has_a_schema_file():
    files = sorted(p.stem for p in SCHEMA_DIR.glob("*.json"))
    assert files == sorted(ALL_TOPICS), f"schemas/ should hold exactly one <topic>.json per topic; found {files}"


@pytest.mark.parametrize("name", ALL_TOPICS)
def test_schema_is_valid_draft_2020_12(name):
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://backstop.dev/schemas/{name}/1"
    assert schema["title"] == name
    assert isinstance(schema.get("description"), str) and schema["description"]
    assert schema["type"] == "object"


@pytest.mark.parametrize("name", INPUT_TOPICS)
def test_input_schemas_allow_unknown_fields(name):
    schema = load_schema(name)
    assert schema.get("additionalProperties", True) is not False, \
        f"{name}: inputs ignore unknown fields (SPEC section 2), the schema must not reject them"


@pytest.mark.parametrize("name", OUTPUT_TOPICS)
def test_output_schemas_are_strict(name):
    schema = load_schema(name)
    assert schema.get("additionalProperties") is False, f"{name}: outputs must set additionalProperties: false"
    assert set(schema["required"]) <= set(schema["properties"]), f"{name}: a required field has no definition"


@pytest.mark.parametrize("name", ALL_TOPICS)
def test_time_fields_are_integers(name):
    props = load_schema(name)["properties"]
    for f in ["ts", "start", "partition", "offset", "expiry", "since"]:
        if f in props:
            assert props[f].get("type") == "integer", f"{name}.{f} must be an integer"


@pytest.mark.parametrize("name,index", [(n, i) for n in ALL_TOPICS for i in range(len(VALID[n]))])
def test_valid_instances(name, index):
    instance = VALID[name][index]
    errors = schema_errors(name, instance)
    assert not errors, f"{name} example #{index} should be valid:\n" + "\n".join(errors) + \
        f"\ninstance: {json.dumps(instance)}"


@pytest.mark.parametrize("name,case", [(n, c) for n in ALL_TOPICS for c in INVALID[n]])
def test_invalid_instances(name, case):
    instance = INVALID[name][case]
    assert schema_errors(name, instance), f"{name}: {case!r} should be rejected: {json.dumps(instance)}"


def test_every_schema_has_valid_and_invalid_examples():
    for name in ALL_TOPICS:
        assert VALID.get(name), f"no valid example for {name}"
        assert INVALID.get(name), f"no invalid example for {name}"


def test_spec_margin_call_example_validates():
    assert schema_errors("margin-calls", MARGIN_CALL) == []
    assert schema_errors("account-margin", SNAPSHOT) == []
    # margin-calls and account-margin share one shape, except previous and the id form.
    mc, am = load_schema("margin-calls"), load_schema("account-margin")
    assert set(mc["properties"]) - set(am["properties"]) == {"previous"}
    assert mc["$defs"]["position"] == am["$defs"]["position"]


def test_metrics_schema_covers_every_spec_field():
    spec_fields = {"bid", "ask", "mid", "spread_bps", "spread_bps_avg", "microprice", "imbalance", "depth", "volume",
                   "notional", "trades", "vwap", "buy_volume", "sell_volume", "effective_spread_bps", "ret",
                   "vol_ewma", "vol_parkinson", "amihud", "roll_spread_bps", "kyle_lambda", "vpin", "var_99",
                   "es_975", "var_99_fhs", "lvar_99", "quotes", "stale_s"}
    props = load_schema("liquidity-metrics")["properties"]
    assert spec_fields | {"id", "instrument", "start", "ts"} == set(props)


def test_dlq_reasons():
    assert load_schema("backstop-dlq")["properties"]["reason"]["enum"] == [
        "decode_error", "missing_field", "wrong_type", "non_positive", "non_finite", "crossed_book",
        "levels_out_of_order", "unknown_instrument", "late", "duplicate", "invalid_value", "unknown_type"]
