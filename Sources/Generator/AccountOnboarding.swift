/// The `accounts` records that on-board one leveraged account at the start of the feed.
///
/// Each account draws from its own random stream (seed and account number), so account `n` is the same whatever
/// the account count, and generating accounts one at a time needs constant memory. Every account deposits USD;
/// some also deposit BTC, some switch to portfolio margin. Each holds one to three perpetual positions at 1.5–10×
/// leverage, mostly long, entered within about 1 % of the start price; some hold BTC options, mostly short puts.
/// About 15 % run above 5× leverage, so a 10–20 % crash walks several through warning, margin call and
/// liquidation (and a few to bankruptcy) while most stay solvent.
struct AccountOnboarding {
    private let catalog: InstrumentCatalog
    private let seed: UInt64
    private let startMicros: Int64

    /// Prepares on-boarding for a feed over `catalog` starting at `startMicros`.
    init(catalog: InstrumentCatalog, seed: UInt64, startMicros: Int64) {
        self.catalog = catalog
        self.seed = seed
        self.startMicros = startMicros
    }

    /// The account id of account `number` (1-based): `acct-<number>`.
    static func accountID(_ number: Int) -> String { "acct-\(number)" }

    /// The records of account `number` (1-based), in the order a consumer should apply them, written through
    /// `scratch` (which the caller must own exclusively).
    func records(forAccount number: Int, scratch: ByteScratch) -> [FeedRecord] {
        var random = FeedRandom(seed: seed, stream: 0x1000 &+ UInt64(truncatingIfNeeded: number))
        let account = Self.accountID(number)
        var records: [FeedRecord] = []
        records.reserveCapacity(8)
        var sequence = 0

        func emit(_ prefix: StaticString, _ body: (inout RecordWriter) -> Void) {
            sequence += 1
            var writer = RecordWriter(scratch)
            writer.raw(#"{"account":""#)
            writer.text(account)
            writer.raw(#"","ts":"#)
            writer.integer(startMicros)
            writer.raw(#","id":""#)
            writer.raw(prefix)
            writer.integer(Int64(number))
            writer.byte(UInt8(ascii: "-"))
            writer.integer(Int64(sequence))
            writer.raw(#"","type":""#)
            body(&writer)
            writer.byte(UInt8(ascii: "}"))
            records.append(FeedRecord(topic: .accounts, key: account, value: writer.makeString(), ts: startMicros))
        }

        let btc = catalog.assets[InstrumentCatalog.bitcoin]
        let usd = (min(max(25_000 * Libm.exponential(0.9 * random.normal()), 2_000), 2_000_000) / 100).rounded() * 100
        emit("D-") { writer in
            writer.raw(#"deposit","asset":"USD","amount":"#)
            writer.integer(Int64(usd))
        }
        var equity = usd
        if random.chance(0.3) {
            let bitcoinMillis = Int64((random.uniform(0.1, 3) * 1_000).rounded())
            equity += Double(bitcoinMillis) / 1_000 * btc.startPrice * 0.95
            emit("D-") { writer in
                writer.raw(#"deposit","asset":"BTC","amount":"#)
                writer.fixed(bitcoinMillis, decimals: 3)
            }
        }
        let isPortfolio = random.chance(0.25)
        if isPortfolio {
            emit("M-") { writer in writer.raw(#"mode","mode":"portfolio""#) }
        }

        // Perpetuals: leverage 1.5–3× (50 %), 3–5× (35 %) or 5–10× (15 %), one direction, 75 % long.
        let bucket = random.uniform()
        let leverage =
            bucket < 0.5 ? random.uniform(1.5, 3) : bucket < 0.85 ? random.uniform(3, 5) : random.uniform(5, 10)
        let direction: Double = random.chance(0.75) ? 1 : -1
        let perpetualCount = 1 + random.below(catalog.assets.count)
        let firstAsset = random.below(catalog.assets.count)
        for offset in 0..<perpetualCount {
            let index = (firstAsset + offset) % catalog.assets.count
            let asset = catalog.assets[index]
            let notional = equity * leverage / Double(perpetualCount)
            let lots = asset.lot.steps(notional / asset.startPrice) * Int64(direction)
            let entry = asset.tick.steps(asset.startPrice * (1 + min(max(0.01 * random.normal(), -0.025), 0.025)))
            emit("P-") { writer in
                Self.writePosition(
                    instrument: catalog.instruments[index],
                    lots: lots,
                    entryTicks: entry,
                    into: &writer
                )
            }
        }

        // Options: 30 % of standard and 70 % of portfolio accounts; 60 % short puts, 20 % short calls, 20 % long.
        if random.chance(isPortfolio ? 0.7 : 0.3) {
            let options = catalog.instruments.indices.filter { catalog.instruments[$0].option != nil }
            let style = random.uniform()
            let wantCall = style >= 0.6 && style < 0.8 ? true : style >= 0.8 ? random.chance(0.5) : false
            let isShort = style < 0.8
            let candidates = options.filter { index in
                guard let terms = catalog.instruments[index].option, terms.isCall == wantCall else { return false }
                return wantCall ? terms.strike >= btc.startPrice : terms.strike <= btc.startPrice
            }
            if !candidates.isEmpty {
                let index = candidates[random.below(candidates.count)]
                let instrument = catalog.instruments[index]
                let contracts = min(max(0.4 * equity / (0.15 * btc.startPrice), 0.1), 50)
                let lots = instrument.lot.steps(contracts) * (isShort ? -1 : 1)
                let premium = Self.startPremium(instrument, forward: btc.startPrice, startMicros: startMicros)
                let entry = instrument.tick.steps(premium)
                emit("P-") { writer in
                    Self.writePosition(instrument: instrument, lots: lots, entryTicks: entry, into: &writer)
                }
            }
        }
        return records
    }

    /// The option's fair premium at the start, on the calm smile.
    static func startPremium(_ instrument: InstrumentSpec, forward: Double, startMicros: Int64) -> Double {
        guard let terms = instrument.option else { return 0 }
        let years = Double(terms.expiryMicros - startMicros) / Black76.yearMicros
        let vol = VolSurface.impliedVol(strike: terms.strike, forward: forward, atmVol: terms.baseATMVol)
        return Black76.price(forward: forward, strike: terms.strike, years: years, vol: vol, isCall: terms.isCall)
    }

    private static func writePosition(
        instrument: InstrumentSpec,
        lots: Int64,
        entryTicks: Int64,
        into writer: inout RecordWriter
    ) {
        writer.raw(#"position","instrument":""#)
        writer.text(instrument.symbol)
        writer.raw(#"","size":"#)
        writer.fixed(lots * instrument.lot.unitsPerStep, decimals: instrument.lot.decimals)
        writer.raw(#","entry_price":"#)
        writer.fixed(entryTicks * instrument.tick.unitsPerStep, decimals: instrument.tick.decimals)
    }
}
