/// Quotes, trades and their arrival times.
extension FeedGenerator {
    /// The share of trades that are fills between two named accounts (when there are at least two).
    static let accountFillProbability = 0.15
    /// The fee fraction carried by account fills.
    static let fillFee: StaticString = "0.0002"

    /// Rebuilds the book of `instrument` at `t` and writes it as a `quotes` record.
    ///
    /// Perpetuals straddle the fair price with the scenario's spread (±20 % noise per quote); levels sit the
    /// scenario-widened gap apart with sizes thinned by its depth multiplier. Options are priced by Black-76 from
    /// the BTC fair price with the smile's vol, which rises with stress, and carry that vol as `iv`.
    mutating func quote(_ instrument: Int, at t: Int64) -> FeedRecord {
        let spec = catalog.quoting[instrument]
        let symbol = catalog.symbols[instrument]
        let stress = profile.stress(at: t)
        let depth = profile.depthMultiplier(stress: stress)
        let gapWidening = profile.gapMultiplier(stress: stress)
        let forward = market.fairPrice(asset: spec.asset, at: t, profile: profile)
        var impliedVol: Double?
        if let terms = spec.option {
            let years = Double(terms.expiryMicros - t) / Black76.yearMicros
            let atm = terms.baseATMVol * profile.ivMultiplier(stress: stress) * market.clusterFactor.squareRoot()
            let vol = VolSurface.impliedVol(strike: terms.strike, forward: forward, atmVol: atm)
            let theoretical = Black76.price(
                forward: forward,
                strike: terms.strike,
                years: years,
                vol: vol,
                isCall: terms.isCall
            )
            let spread = (0.012 * theoretical + 0.000_15 * forward) * (1 + 3 * stress) * random.uniform(0.8, 1.25)
            let spreadTicks = spec.tick.steps(spread, minimum: 2)
            books.rebuild(
                instrument,
                center: theoretical / spec.tick.step,
                spreadTicks: spreadTicks,
                gapTicks: Swift.max(1, 0.4 * Double(spreadTicks)) * gapWidening,
                topLots: 100 * depth,
                random: &random
            )
            impliedVol = vol
        } else {
            let bps =
                profile.spreadBps(
                    asset: spec.asset,
                    calmBps: spec.spreadBps,
                    cluster: market.clusterFactor,
                    stress: stress
                ) * random.uniform(0.8, 1.25)
            let ticksPerBps = forward * 1e-4 / spec.tick.step
            books.rebuild(
                instrument,
                center: forward / spec.tick.step,
                spreadTicks: spec.tick.steps(forward * bps * 1e-4),
                gapTicks: Swift.max(1, spec.levelGapBps * ticksPerBps) * gapWidening,
                topLots: spec.topLots * depth,
                random: &random
            )
        }
        var writer = makeWriter()
        books.writeQuote(
            instrument,
            symbol: symbol,
            ts: t,
            tick: spec.tick,
            lot: spec.lot,
            impliedVol: impliedVol,
            into: &writer
        )
        return FeedRecord(topic: .quotes, key: symbol, value: writer.makeString(), ts: t)
    }

    /// Draws an aggressive order on `instrument` at `t`, fills it against the current book and writes the
    /// `trades` record.
    ///
    /// The aggressor is a seller with the scenario's probability; the order walks the book from the touch and
    /// prints at the last level it reached. Perpetual trades move the price by their impact. With two or more
    /// accounts, `accountFillProbability` of trades are small fills between two distinct random accounts.
    mutating func trade(_ instrument: Int, at t: Int64) -> FeedRecord {
        let spec = catalog.quoting[instrument]
        let symbol = catalog.symbols[instrument]
        let stress = profile.stress(at: t)
        let isBuy = !random.chance(profile.sellProbability(at: t, stress: stress))
        let accounts = configuration.accounts
        let isFill = accounts >= 2 && random.chance(Self.accountFillProbability)
        let touch = books.touch(instrument)
        let mid = Double(touch.bid + touch.ask) / 2 * spec.tick.step
        let wantedLots: Int64
        if spec.option == nil {
            let median = spec.tradeNotional * (1 + stress)
            let notional = isFill ? random.uniform(200, 3_000) : median * Libm.exponential(random.normal())
            wantedLots = spec.lot.steps(notional / mid)
        } else {
            let contracts = isFill ? random.uniform(0.1, 1) : 0.5 * Libm.exponential(0.8 * random.normal())
            wantedLots = spec.lot.steps(contracts)
        }
        let fill = books.sweep(instrument, isBuy: isBuy, lots: wantedLots)
        if spec.option == nil {
            let notional = Double(fill.priceTicks) * spec.tick.step * Double(fill.lots) * spec.lot.step
            market.applyImpact(
                asset: spec.asset,
                signedNotional: isBuy ? notional : -notional,
                impactPerMillion: spec.impactPerMillion,
                depthMultiplier: profile.depthMultiplier(stress: stress)
            )
        }
        tradeCount += 1

        var writer = makeWriter()
        writer.raw(#"{"instrument":""#)
        writer.text(symbol)
        writer.raw(#"","ts":"#)
        writer.integer(t)
        writer.raw(#","id":"T-"#)
        writer.integer(tradeCount)
        writer.raw(#"","price":"#)
        writer.fixed(fill.priceTicks * spec.tick.unitsPerStep, decimals: spec.tick.decimals)
        writer.raw(#","size":"#)
        writer.fixed(fill.lots * spec.lot.unitsPerStep, decimals: spec.lot.decimals)
        writer.raw(isBuy ? #","side":"buy""# : #","side":"sell""#)
        if isFill {
            let buyer = 1 + random.below(accounts)
            var seller = 1 + random.below(accounts - 1)
            if seller >= buyer { seller += 1 }
            writer.raw(#","buyer":"acct-"#)
            writer.integer(Int64(buyer))
            writer.raw(#"","seller":"acct-"#)
            writer.integer(Int64(seller))
            writer.raw(#"","fee":"#)
            writer.raw(Self.fillFee)
        }
        writer.byte(UInt8(ascii: "}"))
        return FeedRecord(topic: .trades, key: symbol, value: writer.makeString(), ts: t)
    }

    /// The time of the quote after one at `t`: Poisson arrivals, moved to the end of a pause, `nil` once an
    /// option has expired.
    mutating func nextQuoteTime(_ instrument: Int, after t: Int64) -> Int64? {
        var next = t + random.arrivalDelay(meanMicros: quoteMeans[instrument])
        if let pause = pauses[instrument], pause.contains(next) { next = pause.upperBound }
        return isListed(instrument, at: next) ? next : nil
    }

    /// The time of the trade after `t`: Poisson arrivals at the scenario's rate, resumed just after a pause ends
    /// (so the book is requoted first), `nil` once an option has expired.
    mutating func nextTradeTime(_ instrument: Int, after t: Int64) -> Int64? {
        let rate = Swift.max(profile.tradeRateMultiplier(stress: profile.stress(at: t)), 0.05)
        var next = t + random.arrivalDelay(meanMicros: tradeMeans[instrument] / rate)
        if let pause = pauses[instrument], pause.contains(next) {
            next = pause.upperBound + random.arrivalDelay(meanMicros: tradeMeans[instrument])
        }
        return isListed(instrument, at: next) ? next : nil
    }

    /// Whether `instrument` still trades at `t` (options stop at expiry).
    private func isListed(_ instrument: Int, at t: Int64) -> Bool {
        guard let terms = catalog.quoting[instrument].option else { return true }
        return t < terms.expiryMicros
    }
}
