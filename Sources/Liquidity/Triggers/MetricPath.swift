/// A metric a trigger condition can name: a field of the metrics record, or `depth.<bps>.bid|ask`.
public enum MetricPath: Hashable, Sendable, CustomStringConvertible {
    case field(Field)
    case depth(bps: Int, side: DepthSide)

    public enum DepthSide: String, Sendable { case bid, ask }

    public enum Field: String, CaseIterable, Sendable {
        case bid, ask, mid
        case spreadBps = "spread_bps", spreadBpsAvg = "spread_bps_avg", microprice, imbalance
        case volume, notional, trades, vwap
        case buyVolume = "buy_volume", sellVolume = "sell_volume", effectiveSpreadBps = "effective_spread_bps"
        case ret, volEwma = "vol_ewma", volParkinson = "vol_parkinson", amihud
        case rollSpreadBps = "roll_spread_bps", kyleLambda = "kyle_lambda", vpin
        case var99 = "var_99", es975 = "es_975", var99Fhs = "var_99_fhs", lvar99 = "lvar_99"
        case quotes
        case staleSeconds = "stale_s"
    }

    /// Parses `spread_bps_avg` or `depth.50.bid`; `depthBps` are the configured depth bands.
    public init?(_ text: String, depthBps: [Int]) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 1, let field = Field(rawValue: text) {
            self = .field(field)
        } else if parts.count == 3, parts[0] == "depth", let bps = Int(parts[1]), depthBps.contains(bps),
                  let side = DepthSide(rawValue: String(parts[2])) {
            self = .depth(bps: bps, side: side)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .field(let f): f.rawValue
        case .depth(let bps, let side): "depth.\(bps).\(side.rawValue)"
        }
    }
}

extension LiquidityRecord {
    /// The value a condition reads; nil when the metric is null.
    public func value(at path: MetricPath) -> Double? {
        switch path {
        case .depth(let bps, let side):
            guard let level = depth?.first(where: { $0.bps == bps }) else { return nil }
            return side == .bid ? level.bid : level.ask
        case .field(let f):
            switch f {
            case .bid: return bid
            case .ask: return ask
            case .mid: return mid
            case .spreadBps: return spreadBps
            case .spreadBpsAvg: return spreadBpsAvg
            case .microprice: return microprice
            case .imbalance: return imbalance
            case .volume: return volume
            case .notional: return notional
            case .trades: return Double(trades)
            case .vwap: return vwap
            case .buyVolume: return buyVolume
            case .sellVolume: return sellVolume
            case .effectiveSpreadBps: return effectiveSpreadBps
            case .ret: return ret
            case .volEwma: return volEwma
            case .volParkinson: return volParkinson
            case .amihud: return amihud
            case .rollSpreadBps: return rollSpreadBps
            case .kyleLambda: return kyleLambda
            case .vpin: return vpin
            case .var99: return var99
            case .es975: return es975
            case .var99Fhs: return var99Fhs
            case .lvar99: return lvar99
            case .quotes: return Double(quotes)
            case .staleSeconds: return staleSeconds
            }
        }
    }
}
