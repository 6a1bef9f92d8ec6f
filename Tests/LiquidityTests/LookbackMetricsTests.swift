import Events
import Foundation
import Liquidity
import Testing

/// Lookback metrics of SPEC §3 (pinned): `vol_parkinson`, `amihud`, `roll_spread_bps`, `kyle_lambda`, `var_99_fhs`,
/// `lvar_99`. Expected values are worked out by hand (arithmetic in the comments) or by a direct transcription of
/// the SPEC over the raw events; never by the code under test.
///
/// Times below are seconds after `T0` (a multiple of 10 s, so `T0 + k·1 s` and `T0 + 2k s` are interval and bar
/// boundaries). A record "end=e" is the record of the interval `[e − 1 s, e)`.
@Suite("Lookback metrics")
struct LookbackMetricsTests {
    static let year = 365.0 * 86_400
    static let z99 = 2.326348

    static func configuration(
        intervalMicros: Int64 = 1_000_000,
        barMicros: Int64 = 2_000_000,
        lookbackMicros: Int64 = 6_000_000,
        horizonMicros: Int64 = 1_000_000,
        lambda: Double = 0.5
    ) -> MetricsConfiguration {
        var c = MetricsConfiguration()
        c.intervalMicros = intervalMicros
        c.barMicros = barMicros
        c.lookbackMicros = lookbackMicros
        c.horizonMicros = horizonMicros
        c.ewmaLambda = lambda
        return c
    }

    /// A quote whose mid is exactly `mid` (bid and ask ± `half`, both exact in binary).
    static func q(ms: Int64, mid: Double, half: Double = 0.5) -> Event {
        .q(quote(at(ms: ms), bid: mid - half, ask: mid + half))
    }

    static func t(ms: Int64, price: Double, size: Double = 1, side: Side = .buy) -> Event {
        .t(trade(at(ms: ms), price: price, size: size, side: side))
    }

    /// The record whose interval ends `seconds` after T0.
    static func record(endingAt seconds: Int64, in records: [LiquidityRecord]) throws -> LiquidityRecord {
        try #require(records.first { $0.ts == T0 + seconds * 1_000_000 })
    }

    // MARK: - vol_parkinson

    /// W = 1 s, B = 2 s, Lb = 6 s. Mids (s → mid):
    ///   bar [0,2): 0.5 → 100, 1.5 → 104, 1.8 → 102
    ///   bar [2,4): 2.2 → 101, 3.3 → 101            (Hi == Lo: excluded)
    ///   bar [4,6): 4.5 → 100, 5.5 → 110
    ///   bar [6,8): 6.2 → 108, 6.7 → 105
    /// 4·ln 2 = 2.772588722239781, Y/B = 31 536 000/2 = 15 768 000.
    ///
    /// end=6, lookback [0,6): bar [0,2) whole: ln(104/100) = 0.03922071315328133, ² = 0.0015382643402519752;
    ///   bar [4,6): ln 1.1 = 0.09531017980432493, ² = 0.009084030374332749;
    ///   mean = (0.0015382643402519752 + 0.009084030374332749)/(2·2.772588722239781) = 0.0019155914884490537;
    ///   vol = sqrt(0.0019155914884490537·15 768 000) = 173.7959912940016.
    /// end=7, lookback [1,7): bar [0,2) is clipped to [1,2): mids 104, 102 (the 100 at 0.5 s is outside):
    ///   ln(104/102) = 0.019418085857101516, ² = 0.00037706205835376594;
    ///   bar [4,6): 0.009084030374332749; bar [6,7): ln(108/105) = 0.028170876966696224, ² = 0.0007935983090727359;
    ///   mean = 0.010254690741759 /(3·2.772588722239781) = 0.0012328659565821697;
    ///   vol = sqrt(0.0012328659565821697·15 768 000) = 139.42679227245978.
    @Test func parkinsonClipsTheFirstBarAndSkipsFlatBars() throws {
        let records = run(
            [
                Self.q(ms: 500, mid: 100), Self.q(ms: 1_500, mid: 104), Self.q(ms: 1_800, mid: 102),
                Self.q(ms: 2_200, mid: 101), Self.q(ms: 3_300, mid: 101),
                Self.q(ms: 4_500, mid: 100), Self.q(ms: 5_500, mid: 110),
                Self.q(ms: 6_200, mid: 108), Self.q(ms: 6_700, mid: 105),
            ],
            configuration: Self.configuration()
        )
        try #require(records.count == 7)

        // end=1: one quote, Hi == Lo → no bar qualifies → null.
        #expect(try Self.record(endingAt: 1, in: records).volParkinson == nil)
        // end=2: bar [0,2) holds 100, 104, 102 → ln(1.04)²/(4 ln 2) alone: sqrt(0.0015382643402519752/2.772588722239781
        //   ·15 768 000) = sqrt(0.000554812… · 15 768 000) = 93.53…
        let lnA = Foundation.log(104.0 / 100)
        expectClose(
            try Self.record(endingAt: 2, in: records).volParkinson,
            (lnA * lnA / (4 * Foundation.log(2.0)) * Self.year / 2).squareRoot(),
            "end=2"
        )
        // end=4: the flat bar [2,4) adds nothing: same value as end=2.
        expectClose(
            try Self.record(endingAt: 4, in: records).volParkinson,
            (lnA * lnA / (4 * Foundation.log(2.0)) * Self.year / 2).squareRoot(),
            "end=4"
        )
        expectClose(try Self.record(endingAt: 6, in: records).volParkinson, 173.7959912940016, "end=6")
        expectClose(try Self.record(endingAt: 7, in: records).volParkinson, 139.42679227245978, "end=7 (clipped bar)")
    }

    /// A quote exactly at `end − Lb` is inside the lookback (`end − Lb ≤ ts`). W = 1 s, B = 1 s, Lb = 2 s:
    /// quotes 1.0 → 100, 1.6 → 101, 2.4 → 103. end=3, lookback [1,3): bar [1,2): ln(1.01)², bar [2,3): one quote.
    /// ln 1.01 = 0.009950330853168092; mean = 0.0000990090839…/2.772588722239781; Y/B = 31 536 000.
    @Test func parkinsonIncludesAQuoteAtTheLookbackStart() throws {
        let records = run(
            [Self.q(ms: 1_000, mid: 100), Self.q(ms: 1_600, mid: 101), Self.q(ms: 2_400, mid: 103)],
            configuration: Self.configuration(barMicros: 1_000_000, lookbackMicros: 2_000_000)
        )
        let ln = Foundation.log(1.01)
        expectClose(
            try Self.record(endingAt: 3, in: records).volParkinson,
            (ln * ln / (4 * Foundation.log(2.0)) * Self.year).squareRoot(),
            "end=3"
        )
    }

    // MARK: - amihud and kyle_lambda

    /// W = 1 s, B = 2 s, Lb = 10 s (everything stays in the lookback). Events (s):
    ///   bar0 [0,2): 0.5 quote mid 100; 1.0 buy 1 @ 100 (first bar: no r_bar, no Δmid)
    ///   bar1 [2,4): 2.5 quote mid 102; 3.0 buy 2 @ 102 (204); 3.5 sell 1 @ 101 (101)
    ///   bar2 [4,6): 4.5 buy 5 @ 103, no quote: skipped entirely, its 515 counts nowhere
    ///   bar3 [6,8): 6.5 quote mid 99; 7.0 sell 3 @ 99 (297), r_bar and Δmid against bar1 (the previous quoted bar)
    ///   bar4 [8,10): 8.5 quote mid 100; no trade (notional 0: no Amihud term; Kyle point x = 0)
    static let barEvents: [Event] = [
        q(ms: 500, mid: 100), t(ms: 1_000, price: 100, size: 1, side: .buy),
        q(ms: 2_500, mid: 102), t(ms: 3_000, price: 102, size: 2, side: .buy),
        t(ms: 3_500, price: 101, size: 1, side: .sell),
        t(ms: 4_500, price: 103, size: 5, side: .buy),
        q(ms: 6_500, mid: 99), t(ms: 7_000, price: 99, size: 3, side: .sell),
        q(ms: 8_500, mid: 100),
    ]

    /// Multiplier m scales every notional, so Amihud and β scale by 1/m. With m = 1:
    ///   end=3: bar1 has no trade yet → no term → null.
    ///   end=4, 5, 7: only bar1: |ln(102/100)|/305·1e6 = 0.01980262729617973/305·1e6 = 64.92664687272043.
    ///   end=8, 9: bar1 and bar3: |ln(99/102)|/297·1e6 = 0.02985296314968116/297·1e6 = 100.5150274400039;
    ///     mean = (64.92664687272043 + 100.5150274400039)/2 = 82.72083715636217.
    ///   (Counting bar2's 515 in bar3 would give 36.76…, taking bar3's r against bar2 is undefined.)
    @Test(arguments: [1.0, 2.0, 0.25])
    func amihudSkipsBarsWithoutQuotes(multiplier m: Double) throws {
        let records = run(Self.barEvents, configuration: Self.configuration(lookbackMicros: 10_000_000), multiplier: m)
        #expect(records.map(\.ts) == [1, 2, 3, 4, 5, 7, 8, 9].map { T0 + $0 * 1_000_000 })
        #expect(try Self.record(endingAt: 1, in: records).amihud == nil)
        #expect(try Self.record(endingAt: 2, in: records).amihud == nil)
        #expect(try Self.record(endingAt: 3, in: records).amihud == nil)
        for end: Int64 in [4, 5, 7] {
            expectClose(try Self.record(endingAt: end, in: records).amihud, 64.92664687272043 / m, "end=\(end)")
        }
        for end: Int64 in [8, 9] {
            expectClose(try Self.record(endingAt: end, in: records).amihud, 82.72083715636217 / m, "end=\(end)")
        }
    }

    /// Kyle: points (x = bar signed notional·m, y = Δmid) for bars with a Δmid; reported β·1e6/mid·1e4 = β·1e10/mid.
    ///   end=4, 5: one point (bar1: x = 204 − 101 = 103, y = 2) → null.
    ///   end=7: (103, 2), (0, −3) [bar3 quoted, no trade yet]: β = (−3 − 2)/(0 − 103) = 5/103; mid 99
    ///     → 5/103·1e10/99 = 4 903 402.9616553895.
    ///   end=8: (103, 2), (−297, −3): β = −5/−400 = 1/80; mid 99 → 1e10/(80·99) = 1 262 626.2626262626.
    ///   end=9: (103, 2), (−297, −3), (0, 1): x̄ = −194/3, ȳ = 0; Sxy = Σxy = 206 + 891 + 0 = 1097;
    ///     Sxx = Σx² − 3·x̄² = 98 818 − 37 636/3 = 258 818/3; β = 3·1097/258 818 = 3291/258 818
    ///     = 0.012715498922022426; mid 100 → β·1e10/100 = β·1e8 = 1 271 549.8922022425.
    @Test(arguments: [1.0, 2.0, 0.25])
    func kyleLambdaRegressesBarMoveOnSignedNotional(multiplier m: Double) throws {
        let records = run(Self.barEvents, configuration: Self.configuration(lookbackMicros: 10_000_000), multiplier: m)
        for end: Int64 in [1, 2, 3, 4, 5] {
            #expect(try Self.record(endingAt: end, in: records).kyleLambda == nil, "end=\(end)")
        }
        expectClose(try Self.record(endingAt: 7, in: records).kyleLambda, 5.0 / 103 * 1e10 / 99 / m, "end=7")
        expectClose(try Self.record(endingAt: 8, in: records).kyleLambda, 1e10 / (80 * 99) / m, "end=8")
        expectClose(try Self.record(endingAt: 9, in: records).kyleLambda, 3291.0 / 258_818 * 1e8 / m, "end=9")
    }

    /// A bar cut by `end − Lb` holds only the lookback's part: if that part has no quote, the bar is skipped and its
    /// trades count nowhere. W = 1 s, B = 2 s, Lb = 5 s. Events (s):
    ///   bar [0,2): 0.5 quote mid 100; 1.5 buy 1 @ 101 (101)
    ///   bar [2,4): 2.5 quote mid 102; 3.0 buy 1 @ 102 (102)
    ///   bar [4,6): 4.5 quote mid 100; 5.0 sell 2 @ 100 (200)
    /// end=5, lookback [0,5): bars [0,2) (first), [2,4): r = ln 1.02, [4,5): no trade yet.
    ///   Amihud = 0.01980262729617973/102·1e6 = 194.14340486450715.
    ///   Kyle: (102, 2), (0, −2) → β = (−2 − 2)/(0 − 102) = 2/51; mid 100 → 2/51·1e10/100 = 3 921 568.6274509807.
    /// end=6, lookback [1,6): [1,2) has the 1.5 s trade but no quote → skipped; [2,4) is now the first bar;
    ///   [4,6): |ln(100/102)| = ln 1.02 = 0.01980262729617973, /200·1e6 = 99.0131364808987. Kyle: one point → null.
    ///   (Using the whole bar [0,2) would give Amihud mean(194.14…, 99.01…) and a Kyle value.)
    @Test func barClippedToAPartWithoutQuotesIsSkipped() throws {
        let records = run(
            [
                Self.q(ms: 500, mid: 100), Self.t(ms: 1_500, price: 101, size: 1, side: .buy),
                Self.q(ms: 2_500, mid: 102), Self.t(ms: 3_000, price: 102, size: 1, side: .buy),
                Self.q(ms: 4_500, mid: 100), Self.t(ms: 5_000, price: 100, size: 2, side: .sell),
            ],
            configuration: Self.configuration(lookbackMicros: 5_000_000)
        )
        let end5 = try Self.record(endingAt: 5, in: records)
        expectClose(end5.amihud, Foundation.log(1.02) / 102 * 1e6, "amihud end=5")
        expectClose(end5.kyleLambda, 2.0 / 51 * 1e10 / 100, "kyle end=5")
        let end6 = try Self.record(endingAt: 6, in: records)
        expectClose(end6.amihud, Foundation.log(1.02) / 200 * 1e6, "amihud end=6")
        #expect(end6.kyleLambda == nil)
    }

    /// Quotes in four bars (one each), no trade at all: every x is 0 (no variance) → Kyle null, and no bar has
    /// notional → Amihud null; one quote per bar is Hi == Lo everywhere → Parkinson null.
    @Test func noTradesLeavesAmihudAndKyleNull() throws {
        let records = run(
            [
                Self.q(ms: 500, mid: 100), Self.q(ms: 2_500, mid: 101), Self.q(ms: 4_500, mid: 99),
                Self.q(ms: 6_500, mid: 100),
            ],
            configuration: Self.configuration(lookbackMicros: 10_000_000)
        )
        let last = try #require(records.last)
        #expect(last.kyleLambda == nil && last.amihud == nil)
        #expect(last.volParkinson == nil)
    }

    /// Equal signed notional in every bar: x has no variance → Kyle null (Amihud is defined).
    /// Bars [0,2)…[6,8): mids 100, 101, 99, 100, each bar with buy 1 @ 100 → x = 100 for every point.
    /// Amihud = mean(ln(101/100), |ln(99/101)|, ln(100/99))/100·1e6.
    @Test func constantSignedNotionalLeavesKyleNull() throws {
        var events: [Event] = []
        for (k, mid) in [100.0, 101, 99, 100].enumerated() {
            events.append(Self.q(ms: Int64(k) * 2_000 + 500, mid: mid))
            events.append(Self.t(ms: Int64(k) * 2_000 + 600, price: 100, size: 1, side: .buy))
        }
        let records = run(events, configuration: Self.configuration(lookbackMicros: 10_000_000))
        let last = try #require(records.last)
        #expect(last.kyleLambda == nil)
        let terms = [Foundation.log(101.0 / 100), abs(Foundation.log(99.0 / 101)), Foundation.log(100.0 / 99)]
        expectClose(last.amihud, terms.reduce(0, +) / 3 / 100 * 1e6, "amihud")
    }

    // MARK: - roll_spread_bps

    /// Bounce: quote 99.5/100.5 (mid 100) at 0.1 s, trades 100, 101, 100, 101, 100 at 0.5, 1.5, 2.5, 3.5, 4.5 s,
    /// quotes (mid 100) at 6.5 and 7.5 s. W = 1 s, B = 2 s, Lb = 6 s. Pairs (Δp_t, Δp_{t−1}):
    ///   end=1, 2, 3: at most one pair → null.
    ///   end=4: Δp = 1, −1, 1 → pairs (−1, 1), (1, −1): means 0, Σxy = −2, c = −2/(2 − 1) = −2
    ///     → 2·√2/100·1e4 = 282.842712474619.
    ///   end=5: Δp = 1, −1, 1, −1 → pairs (−1, 1), (1, −1), (−1, 1): x̄ = −1/3, ȳ = 1/3;
    ///     deviations x: −2/3, 4/3, −2/3; y: 2/3, −4/3, 2/3; Σ = −4/9 − 16/9 − 4/9 = −8/3; c = −8/3/2 = −4/3
    ///     → 2·√(4/3)/100·1e4 = 230.94010767585027.
    ///   end=7, lookback [1,7): the 0.5 s trade is out: prices 101, 100, 101, 100 → Δp −1, 1, −1 → c = −2 → 282.84….
    ///   end=8, lookback [2,8): prices 100, 101, 100 → one pair → null.
    @Test func rollOnABidAskBounce() throws {
        var events: [Event] = [Self.q(ms: 100, mid: 100)]
        for (k, price) in [100.0, 101, 100, 101, 100].enumerated() {
            events.append(Self.t(ms: Int64(k) * 1_000 + 500, price: price))
        }
        events += [Self.q(ms: 6_500, mid: 100), Self.q(ms: 7_500, mid: 100)]
        let records = run(events, configuration: Self.configuration())
        #expect(records.map(\.ts) == [1, 2, 3, 4, 5, 7, 8].map { T0 + $0 * 1_000_000 })
        for end: Int64 in [1, 2, 3, 8] {
            #expect(try Self.record(endingAt: end, in: records).rollSpreadBps == nil, "end=\(end)")
        }
        expectClose(try Self.record(endingAt: 4, in: records).rollSpreadBps, 282.842712474619, "end=4")
        expectClose(try Self.record(endingAt: 5, in: records).rollSpreadBps, 230.94010767585027, "end=5")
        expectClose(try Self.record(endingAt: 7, in: records).rollSpreadBps, 282.842712474619, "end=7")
    }

    /// Zero price changes count: prices 100, 100, 101, 100, 100 → Δp = 0, 1, −1, 0 → pairs (1, 0), (−1, 1), (0, −1):
    /// means 0, Σxy = 0 − 1 + 0 = −1, c = −1/2 → 2·√0.5/100·1e4 = 141.4213562373095. (Dropping zeros would leave
    /// one pair: null.)
    @Test func rollCountsZeroPriceChanges() throws {
        var events: [Event] = [Self.q(ms: 100, mid: 100)]
        for (k, price) in [100.0, 100, 101, 100, 100].enumerated() {
            events.append(Self.t(ms: Int64(k) * 100 + 200, price: price))
        }
        let record = try #require(run(events, configuration: Self.configuration()).last)
        expectClose(record.rollSpreadBps, 141.4213562373095, "roll")
    }

    /// Trending prices give c ≥ 0 → 0 (not null); mid 100.
    ///   100, 101, 102, 103, 104: Δp all 1 → c = 0.
    ///   100, 101, 103, 106, 110: Δp 1, 2, 3, 4 → pairs (2, 1), (3, 2), (4, 3) → c = (−1·−1 + 0 + 1·1)/2 = 1 > 0.
    ///   110, 106, 103, 101, 100: Δp −4, −3, −2, −1 → c = 1 > 0.
    ///   100, 100, 100: one pair (0, 0) → null.
    static let trends: [([Double], Double?)] = [
        ([100, 101, 102, 103, 104], 0),
        ([100, 101, 103, 106, 110], 0),
        ([110, 106, 103, 101, 100], 0),
        ([100, 100, 100], nil),
    ]

    @Test(arguments: trends)
    func rollOnATrend(prices: [Double], expected: Double?) throws {
        var events: [Event] = [Self.q(ms: 100, mid: 100)]
        for (k, price) in prices.enumerated() {
            events.append(Self.t(ms: Int64(k) * 100 + 200, price: price))
        }
        let record = try #require(run(events, configuration: Self.configuration()).last)
        if let expected {
            #expect(record.rollSpreadBps == expected)
        } else {
            #expect(record.rollSpreadBps == nil)
        }
    }

    /// Without any quote there is no mid: Roll is null even with a negative covariance.
    @Test func rollNeedsAMid() throws {
        var events: [Event] = []
        for (k, price) in [100.0, 101, 100, 101, 100].enumerated() {
            events.append(Self.t(ms: Int64(k) * 100 + 100, price: price))
        }
        let record = try #require(run(events, configuration: Self.configuration()).last)
        #expect(record.rollSpreadBps == nil)
    }

    // MARK: - var_99_fhs

    /// W = 1 s, h = 1 s (σ_h = σ), λ = 0.5, Lb = 3 s. Mids 100·e^R with R = 0, 0.01, −0.01, 0, −0.03, −0.01, one quote
    /// per interval, so the returns are r₁…r₅ = 0.01, −0.02, 0.01, −0.03, 0.02 (records end=2…6).
    ///   σ²₁ = r₁² = 1e-4 (σ₁ = 0.01); no σ₀ → no z.
    ///   z₂ = −0.02/0.01 = −2;          σ²₂ = 0.5e-4 + 0.5·4e-4 = 2.5e-4   (σ₂ = 0.015811388300841896)
    ///   z₃ = 0.01/σ₂ = 0.6324555320336759;  σ²₃ = 1.25e-4 + 0.5e-4 = 1.75e-4 (σ₃ = 0.013228756555322952)
    ///   z₄ = −0.03/σ₃ = −2.2677868380553634; σ²₄ = 0.875e-4 + 4.5e-4 = 5.375e-4 (σ₄ = 0.02318404623873926)
    ///   z₅ = 0.02/σ₄ = 0.8626621856275073;  σ²₅ = 2.6875e-4 + 2e-4 = 4.6875e-4 (σ₅ = 0.021650635094610966)
    /// z_t is kept at its record's ts; the lookback of end=e keeps ts in (e − 3, e].
    ///   end=1, 2: no z → null.
    ///   end=3: {−2}: q = −2 → 2·σ₂ = 0.03162277660168379.
    ///   end=4: {−2, 0.632…}: pos (2−1)·0.01 = 0.01 → −2 + 0.01·2.632455532 = −1.9736754446796632 → ·σ₃ = 0.026109271976886037.
    ///   end=5: {−2.2678, −2, 0.6325}: pos 0.02 → −2.2677868380553634 + 0.02·0.2677868380553634 = −2.262431101294256
    ///     → ·σ₄ = 0.052452307264367816.
    ///   end=6: z₂ (ts = 3 = end − Lb) is out: {−2.2678, 0.6325, 0.8627}: pos 0.02 → −2.2677868380553634
    ///     + 0.02·2.9002423700889393 = −2.2097819906535827 → ·σ₅ = 0.04784318351828374.
    /// (numpy.quantile(z, 0.01) gives the same q's.)
    @Test func filteredHistoricalSimulationByHand() throws {
        let cumulative = [0.0, 0.01, -0.01, 0.0, -0.03, -0.01]
        let events = cumulative.enumerated().map { k, r in
            Self.q(ms: Int64(k) * 1_000 + 500, mid: 100 * Foundation.exp(r))
        }
        let records = run(events, configuration: Self.configuration(lookbackMicros: 3_000_000))
        try #require(records.count == 6)
        for (record, r) in zip(records[1...], [0.01, -0.02, 0.01, -0.03, 0.02]) {
            #expect(isClose(record.ret, r, relative: 1e-9), "ret \(String(describing: record.ret)) want \(r)")
        }
        #expect(records[0].var99Fhs == nil && records[1].var99Fhs == nil)
        #expect(records[1].var99 != nil)  // σ defined, but no z yet
        expectClose(records[2].var99Fhs, 0.03162277660168379, "end=3")
        expectClose(records[3].var99Fhs, 0.026109271976886037, "end=4")
        expectClose(records[4].var99Fhs, 0.052452307264367816, "end=5")
        expectClose(records[5].var99Fhs, 0.04784318351828374, "end=6")

        // The same from the formulas, spelled out.
        let s2 = 2.5e-4.squareRoot(), s3 = 1.75e-4.squareRoot(), s4 = 5.375e-4.squareRoot(), s5 = 4.6875e-4.squareRoot()
        let z3 = 0.01 / s2, z4 = -0.03 / s3, z5 = 0.02 / s4
        #expect(z4 < -2 && -2 < z3 && z3 < z5)  // the sort orders used above
        expectClose(records[3].var99Fhs, -(-2 + 0.01 * (z3 + 2)) * s3, "end=4 formula")
        expectClose(records[4].var99Fhs, -(z4 + 0.02 * (-2 - z4)) * s4, "end=5 formula")
        expectClose(records[5].var99Fhs, -(z4 + 0.02 * (z3 - z4)) * s5, "end=6 formula")
    }

    /// σ_{t−1} = 0 gives no z. W = 1 s, h = 4 s (σ_h = 2σ), λ = 0.5, Lb = 10 s; mids 100, 100, 101, 99:
    ///   end=2: r = 0, σ² = 0 → var_99 = 0, no z → FHS null.
    ///   end=3: r = ln 1.01 = 0.009950330853168092 but σ_{t−1} = 0 → still no z → null;
    ///     σ² = 0.5·r² = 4.950454…e-5; var_99 = 2.326348·2·σ = 0.03273611977071259.
    ///   end=4: r = ln(99/101) = −0.020000666706669543, z = r/√(0.5·0.009950330853168092²) = −2.842640564466291;
    ///     σ² = 0.5·σ²₃ + 0.5·r² = 0.00022477354…; FHS = 2.842640564466291·2·σ = 0.0852347853818238.
    @Test func zeroSigmaGivesNoStandardizedReturn() throws {
        let records = run(
            [
                Self.q(ms: 500, mid: 100), Self.q(ms: 1_500, mid: 100), Self.q(ms: 2_500, mid: 101),
                Self.q(ms: 3_500, mid: 99),
            ],
            configuration: Self.configuration(lookbackMicros: 10_000_000, horizonMicros: 4_000_000)
        )
        try #require(records.count == 4)
        #expect(records[1].var99 == 0 && records[1].var99Fhs == nil)
        expectClose(records[2].var99, 0.03273611977071259, "var_99 end=3")
        #expect(records[2].var99Fhs == nil)
        expectClose(records[3].var99Fhs, 0.0852347853818238, "FHS end=4")
    }

    // MARK: - lvar_99

    /// W = 1 s, B = 1 s, Lb = 3 s, h = 1 s, λ = 0.5. Quotes (s: bid/ask → mid, s = (ask − bid)/mid):
    ///   0.2: 99/101 → 100, 0.02;  0.7: 99.5/100.5 → 100, 0.01;  1.5: 100/102 → 101, 2/101;  2.5: 98.5/99.5 → 99, 1/99;
    ///   3.5: 99/101 → 100, 0.02;  7.5: 99.75/100.25 → 100, 0.005.
    /// r₁ = ln 1.01 = 0.009950330853168092, r₂ = ln(99/101) = −0.020000666706669543, r₃ = ln(100/99) = 0.010050335853501506,
    /// r₄ = 0.
    ///   end=1: no var_99 → null.
    ///   end=2: var_99 = 2.326348·|r₁| = 0.023147932279605883; s = {0.02, 0.01, 0.0198019802}: μ = 0.0166006600660066,
    ///     σ_s = 0.00571719668550285 → 0.023147932279605883 + 0.5·(0.0166006600660066 + 2.326348·0.00571719668550285)
    ///     = 0.038098356850072276.
    ///   end=3: σ² = 0.5r₁² + 0.5r₂² = 0.0002495178763993942, var_99 = 0.03674730673075583; lookback [0,3) holds all four
    ///     first spreads: μ = 0.014975747574757475, σ_s = 0.005687904216612031 → 0.05085120281738805.
    ///   end=4: σ² = 0.5σ²₂ + 0.5r₃² = 0.00017526356358378602, var_99 = 0.030797857172845347; lookback [1,4):
    ///     {2/101, 1/99, 0.02}: μ = 0.016634330099676634, σ_s = 0.005658887312380952 → 0.04569729281337506.
    ///   end=8: lookback [5,8) holds one quote → null (var_99 is defined).
    @Test func bangiaByHand() throws {
        let records = run(
            [
                .q(quote(at(ms: 200), bid: 99, ask: 101)), .q(quote(at(ms: 700), bid: 99.5, ask: 100.5)),
                .q(quote(at(ms: 1_500), bid: 100, ask: 102)), .q(quote(at(ms: 2_500), bid: 98.5, ask: 99.5)),
                .q(quote(at(ms: 3_500), bid: 99, ask: 101)), .q(quote(at(ms: 7_500), bid: 99.75, ask: 100.25)),
            ],
            configuration: Self.configuration(barMicros: 1_000_000, lookbackMicros: 3_000_000)
        )
        #expect(records.map(\.ts) == [1, 2, 3, 4, 8].map { T0 + $0 * 1_000_000 })
        #expect(records[0].lvar99 == nil)
        expectClose(records[1].lvar99, 0.038098356850072276, "end=2")
        expectClose(records[2].lvar99, 0.05085120281738805, "end=3")
        expectClose(records[3].lvar99, 0.04569729281337506, "end=4")
        #expect(records[4].var99 != nil && records[4].lvar99 == nil, "end=8: one quote in the lookback")

        // end=2 from the formula: μ and σ_s of {0.02, 0.01, 2/101}.
        let s = [0.02, 0.01, 2.0 / 101]
        let mu = s.reduce(0, +) / 3
        let sd = (s.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / 2).squareRoot()
        expectClose(records[1].lvar99, Self.z99 * Foundation.log(1.01) + 0.5 * (mu + Self.z99 * sd), "end=2 formula")
    }

    /// Fewer than two quotes in the lookback → null, even with var_99 defined. W = 1 s, Lb = 1 s:
    /// 0.5: mid 100; 1.5: mid 101 (var_99 defined, one quote) → null;
    /// 2.2: 99/101 (s 0.02), 2.7: 99.5/100.5 (s 0.01) → r = ln(100/101), σ² = 0.5r₁² + 0.5r²;
    /// μ = 0.015, σ_s = √((0.005² + 0.005²)/1) = 0.0070710678118654755.
    @Test func bangiaNeedsTwoQuotesInTheLookback() throws {
        let records = run(
            [
                Self.q(ms: 500, mid: 100), Self.q(ms: 1_500, mid: 101),
                .q(quote(at(ms: 2_200), bid: 99, ask: 101)), .q(quote(at(ms: 2_700), bid: 99.5, ask: 100.5)),
            ],
            configuration: Self.configuration(barMicros: 1_000_000, lookbackMicros: 1_000_000)
        )
        try #require(records.count == 3)
        #expect(records[1].var99 != nil && records[1].lvar99 == nil)
        let r1 = Foundation.log(1.01), r2 = Foundation.log(100.0 / 101)
        let var99 = Self.z99 * (0.5 * r1 * r1 + 0.5 * r2 * r2).squareRoot()
        expectClose(records[2].lvar99, var99 + 0.5 * (0.015 + Self.z99 * 0.0070710678118654755), "end=3")
    }
}

// MARK: - Property: incremental == brute force over the raw events

struct LookbackCase: Sendable, CustomTestStringConvertible {
    var intervalMicros: Int64
    var barMicros: Int64
    var lookbackMicros: Int64
    var seed: UInt64
    var testDescription: String { "W=\(intervalMicros)µs B=\(barMicros)µs Lb=\(lookbackMicros)µs seed=\(seed)" }
}

/// The SPEC §3 lookback metrics, recomputed from scratch from every raw event for each record: no buckets, no
/// running moments, two-pass statistics.
struct BruteForceLookback {
    let w: Int64, b: Int64, lb: Int64, h: Int64
    let lambda: Double
    let multiplier: Double
    /// In merge order.
    var quotes: [Quote] = []
    var trades: [Trade] = []

    // Across records.
    var previousMid: Double?
    var variance: Double?
    var standardized: [(ts: Int64, z: Double)] = []

    struct Expected {
        var mid: Double?
        var var99: Double?
        var varFhs: Double?
        var parkinson: Double?
        var amihud: Double?
        /// Sample covariance of the Roll pairs (nil with fewer than two), and the mean of Δp² for its scale.
        var rollCovariance: Double?
        var rollScale = 0.0
        var kyle: Double?
        /// sqrt(Syy/Sxx) in kyle units: the natural size of the slope, for an absolute tolerance floor.
        var kyleScale = 0.0
        var lvar: Double?
        /// Coverage of the stream: a bar cut by `end − Lb` that holds events; a bar with trades but no quote.
        var hasClippedBar = false
        var hasQuotelessBar = false
    }


    /// numpy's default quantile: position (n − 1)·q, linear between the neighbours.
    static func numpyQuantile(_ values: [Double], _ q: Double) -> Double {
        let s = values.sorted()
        let position = Double(s.count - 1) * q
        let lo = Int(position.rounded(.down))
        let hi = Swift.min(lo + 1, s.count - 1)
        return s[lo] + (position - Double(lo)) * (s[hi] - s[lo])
    }

    /// The expected metrics of the record ending at `end`; records must be asked for in order.
    mutating func record(end: Int64) -> Expected {
        var e = Expected()
        let start = end - lb
        let lastQuote = quotes.last(where: { $0.ts < end })
        let mid = lastQuote.map { ($0.bid + $0.ask) / 2 }
        e.mid = mid

        // ret, EWMA σ², var_99, FHS.
        if let mid, let previous = previousMid {
            let r = Foundation.log(mid / previous)
            if let v = variance, v > 0 { standardized.append((ts: end, z: r / v.squareRoot())) }
            variance = variance.map { lambda * $0 + (1 - lambda) * r * r } ?? r * r
        }
        if let v = variance {
            let sigmaH = (v * Double(h) / Double(w)).squareRoot()
            e.var99 = 2.326348 * sigmaH
            let zs = standardized.filter { $0.ts > start && $0.ts <= end }.map(\.z)
            if !zs.isEmpty { e.varFhs = -Self.numpyQuantile(zs, 0.01) * sigmaH }
        }
        if let mid { previousMid = mid }

        // The lookback's events.
        let lbQuotes = quotes.filter { $0.ts >= start && $0.ts < end }
        let lbTrades = trades.filter { $0.ts >= start && $0.ts < end }

        // Bars: B-aligned, clipped to the lookback by construction (only lookback events), with at least one quote.
        struct RawBar { var mids: [Double] = []; var notional = 0.0; var signed = 0.0 }
        var raw: [Int64: RawBar] = [:]
        for q in lbQuotes { raw[q.ts / b, default: RawBar()].mids.append((q.bid + q.ask) / 2) }
        for t in lbTrades {
            let n = t.price * t.size * multiplier
            raw[t.ts / b, default: RawBar()].notional += n
            raw[t.ts / b, default: RawBar()].signed += t.side == .buy ? n : -n
        }
        let bars = raw.keys.sorted().compactMap { raw[$0] }.filter { !$0.mids.isEmpty }
        e.hasClippedBar = raw.keys.contains { $0 * b < start }
        e.hasQuotelessBar = raw.values.contains { $0.mids.isEmpty }

        let parkinsonTerms = bars.compactMap { bar -> Double? in
            let hi = bar.mids.max()!, lo = bar.mids.min()!
            guard hi > lo else { return nil }
            let range = Foundation.log(hi / lo)
            return range * range / (4 * Foundation.log(2.0))
        }
        if !parkinsonTerms.isEmpty {
            e.parkinson = (mean(parkinsonTerms) * 365 * 86_400 / (Double(b) / 1e6)).squareRoot()
        }

        var amihudTerms: [Double] = []
        var x: [Double] = [], y: [Double] = []
        for i in bars.indices.dropFirst() {
            let last = bars[i].mids.last!, previous = bars[i - 1].mids.last!
            if bars[i].notional > 0 {
                amihudTerms.append(abs(Foundation.log(last / previous)) / bars[i].notional * 1e6)
            }
            x.append(bars[i].signed)
            y.append(last - previous)
        }
        if !amihudTerms.isEmpty { e.amihud = mean(amihudTerms) }
        if let mid, let (lambda, scale) = referenceKyle(x: x, y: y, mid: mid) {
            e.kyle = lambda
            e.kyleScale = scale
        }

        // Roll: Δp between consecutive trades both in the lookback; pairs (Δp_t, Δp_{t−1}).
        let prices = lbTrades.map(\.price)
        let dp = zip(prices.dropFirst(), prices).map { $0 - $1 }
        let pairs = zip(dp.dropFirst(), dp).map { ($0, $1) }
        if pairs.count >= 2 {
            let mx = mean(pairs.map { $0.0 }), my = mean(pairs.map { $0.1 })
            e.rollCovariance = pairs.map { ($0.0 - mx) * ($0.1 - my) }.reduce(0, +) / Double(pairs.count - 1)
            e.rollScale = mean(dp.map { $0 * $0 })
        }

        // Bangia.
        let spreads = lbQuotes.map { ($0.ask - $0.bid) / (($0.bid + $0.ask) / 2) }
        if spreads.count >= 2, let var99 = e.var99 {
            let mu = mean(spreads)
            let sd = (spreads.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(spreads.count - 1)).squareRoot()
            e.lvar = var99 + 0.5 * (mu + 2.326348 * sd)
        }
        return e
    }
}

extension LookbackMetricsTests {
    /// (W, B, Lb): B ∤ Lb or W ∤ B in most, so bars are clipped by `end − Lb` at many closes.
    static let propertyShapes: [(Int64, Int64, Int64)] = [
        (1_000_000, 2_000_000, 6_000_000), (1_000_000, 3_000_000, 7_000_000),
        (500_000, 2_000_000, 5_000_000), (2_000_000, 3_000_000, 8_000_000),
    ]
    static let propertyCases: [LookbackCase] = propertyShapes.flatMap { shape in
        [UInt64(7), 42, 2_025].map {
            LookbackCase(intervalMicros: shape.0, barMicros: shape.1, lookbackMicros: shape.2, seed: $0)
        }
    }

    /// ~60 s of quotes and trades: a random walk of mids on a 0.5 grid (often unchanged, so flat bars occur), 4-s
    /// phases that are mixed, trades only (bars without quotes) or quotes only, trades on the price grid (zero Δp),
    /// continuous sizes, quotes and trades sharing a ts (quote first), and a few gaps of seconds (empty intervals).
    static func randomStream(seed: UInt64) -> [Event] {
        var rng = SeededGenerator(seed: seed)
        let phases = (0..<20).map { _ in Int.random(in: 0..<5, using: &rng) }  // 0: trades only, 1: quotes only
        var events: [Event] = []
        var ts = T0 + Int64.random(in: 0..<1_000_000, using: &rng)
        var mid = 1_000.0
        var n = 0
        func addQuote() {
            mid += [-1, -0.5, 0, 0, 0, 0.5, 1][Int.random(in: 0..<7, using: &rng)]
            let half = 0.25 * Double(Int.random(in: 1...6, using: &rng))
            events.append(
                .q(
                    quote(
                        ts,
                        bid: mid - half,
                        ask: mid + half,
                        bidSize: Double.random(in: 0.1..<10, using: &rng),
                        askSize: Double.random(in: 0.1..<10, using: &rng)
                    )
                )
            )
        }
        func addTrade() {
            n += 1
            let price = mid + 0.5 * Double(Int.random(in: -2...2, using: &rng))
            let side: Side = Bool.random(using: &rng) ? .buy : .sell
            events.append(
                .t(trade(ts, price: price, size: Double.random(in: 0.01..<5, using: &rng), side: side, id: "T\(n)"))
            )
        }
        while ts < T0 + 60_000_000 {
            switch phases[Int((ts - T0) / 4_000_000)] {
            case 0: addTrade()
            case 1: addQuote()
            default:
                if Int.random(in: 0..<10, using: &rng) == 0 {
                    addQuote()
                    addTrade()  // same ts, quote first (merge order)
                } else if Bool.random(using: &rng) {
                    addQuote()
                } else {
                    addTrade()
                }
            }
            ts += Int64.random(in: 1_000...400_000, using: &rng)
            if Int.random(in: 0..<40, using: &rng) == 0 { ts += Int64.random(in: 2_000_000...5_000_000, using: &rng) }
        }
        return events
    }

    @Test(arguments: propertyCases)
    func incrementalMatchesBruteForce(c: LookbackCase) throws {
        var configuration = Self.configuration(
            intervalMicros: c.intervalMicros,
            barMicros: c.barMicros,
            lookbackMicros: c.lookbackMicros,
            horizonMicros: 3_000_000,
            lambda: 0.9
        )
        configuration.depthBps = [10]
        let multiplier = 0.1
        let events = Self.randomStream(seed: c.seed)
        let records = run(events, configuration: configuration, multiplier: multiplier)

        // Records: one per non-empty interval, in order.
        var ends: [Int64] = []
        for event in events {
            let end = (Self.timestamp(event) / c.intervalMicros + 1) * c.intervalMicros
            if ends.last != end { ends.append(end) }
        }
        #expect(records.map(\.ts) == ends)

        var reference = BruteForceLookback(
            w: c.intervalMicros,
            b: c.barMicros,
            lb: c.lookbackMicros,
            h: 3_000_000,
            lambda: 0.9,
            multiplier: multiplier
        )
        var remaining = events[...]
        var defined = (
            parkinson: 0, amihud: 0, rollNegative: 0, rollZero: 0, kyle: 0, fhs: 0, lvar: 0, clipped: 0, quoteless: 0
        )
        for record in records {
            // Hand the reference every event before this record's end.
            while let event = remaining.first {
                switch event {
                case .q(let q) where q.ts < record.ts: reference.quotes.append(q)
                case .t(let t) where t.ts < record.ts: reference.trades.append(t)
                default: break
                }
                guard Self.timestamp(event) < record.ts else { break }
                remaining = remaining.dropFirst()
            }
            let e = reference.record(end: record.ts)
            let at = "end=T0+\(record.ts - T0)µs"
            #expect(record.mid == e.mid, "mid \(at)")
            Self.expectMatch(record.var99, e.var99, relative: 1e-9, "var_99 \(at)")
            Self.expectMatch(record.var99Fhs, e.varFhs, relative: 1e-9, "var_99_fhs \(at)")
            Self.expectMatch(record.volParkinson, e.parkinson, relative: 1e-6, "vol_parkinson \(at)")
            Self.expectMatch(record.amihud, e.amihud, relative: 1e-6, "amihud \(at)")
            Self.expectMatch(record.lvar99, e.lvar, relative: 1e-6, "lvar_99 \(at)")

            // Kyle: relative 1e-6, with a floor of 1e-9 of the slope's natural scale for near-zero slopes.
            switch (record.kyleLambda, e.kyle) {
            case (nil, nil): break
            case let (actual?, expected?):
                #expect(
                    abs(actual - expected) <= 1e-6 * abs(expected) + 1e-9 * e.kyleScale,
                    "kyle_lambda \(at): got \(actual), want \(expected)"
                )
            default:
                Issue.record(
                    "kyle_lambda \(at): got \(String(describing: record.kyleLambda)), want \(String(describing: e.kyle))"
                )
            }

            // Roll: the sign of c decides; a c within rounding of 0 (relative to the Δp² scale) may go either way.
            switch (record.rollSpreadBps, e.rollCovariance, e.mid) {
            case let (actual, c?, mid?):
                let eps = 1e-12 * e.rollScale
                if c < -eps {
                    let expected = 2 * (-c).squareRoot() / mid * 1e4
                    #expect(
                        isClose(actual, expected, relative: 1e-6),
                        "roll \(at): got \(String(describing: actual)), want \(expected)"
                    )
                    defined.rollNegative += 1
                } else if c > eps {
                    #expect(actual == 0, "roll \(at): got \(String(describing: actual)), want 0 (c = \(c))")
                    defined.rollZero += 1
                } else {
                    let bound = 2 * (2 * eps).squareRoot() / mid * 1e4
                    #expect(
                        actual.map { $0 >= 0 && $0 <= bound } == true,
                        "roll \(at): c ≈ 0, got \(String(describing: actual))"
                    )
                }
            default:
                #expect(
                    record.rollSpreadBps == nil,
                    "roll \(at): got \(String(describing: record.rollSpreadBps)), want null"
                )
            }

            if e.parkinson != nil { defined.parkinson += 1 }
            if e.amihud != nil { defined.amihud += 1 }
            if e.kyle != nil { defined.kyle += 1 }
            if e.varFhs != nil { defined.fhs += 1 }
            if e.lvar != nil { defined.lvar += 1 }
            if e.hasClippedBar { defined.clipped += 1 }
            if e.hasQuotelessBar { defined.quoteless += 1 }
        }
        // The stream exercises every branch: defined values of each metric, and both signs of the Roll covariance.
        #expect(records.count >= 20)
        #expect(
            defined.parkinson >= 5 && defined.amihud >= 5 && defined.kyle >= 5 && defined.fhs >= 5 && defined.lvar >= 5,
            "coverage \(defined)"
        )
        #expect(defined.rollNegative >= 3 && defined.rollZero >= 1, "coverage \(defined)")
        #expect(defined.clipped >= 5 && defined.quoteless >= 3, "coverage \(defined)")
    }

    static func timestamp(_ event: Event) -> Int64 {
        switch event {
        case .q(let q): q.ts
        case .t(let t): t.ts
        }
    }

    static func expectMatch(
        _ actual: Double?,
        _ expected: Double?,
        relative: Double,
        _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        switch (actual, expected) {
        case (nil, nil): return
        case let (actual?, expected?):
            #expect(
                isClose(actual, expected, relative: relative),
                "\(what): got \(actual), want \(expected)",
                sourceLocation: sourceLocation
            )
        default:
            Issue.record(
                "\(what): got \(String(describing: actual)), want \(String(describing: expected))",
                sourceLocation: sourceLocation
            )
        }
    }
}
