/// Settings of the liquidity metrics (SPEC §3, §9 `metrics:`). Durations are in microseconds of event time.
public struct MetricsConfiguration: Sendable, Equatable {
    /// `metrics.interval` W. Default: 1 s.
    public var intervalMicros: Int64 = 1_000_000
    /// `metrics.lookback` Lb. Default: 300 s.
    public var lookbackMicros: Int64 = 300_000_000
    /// `metrics.bar` B. Default: 10 s.
    public var barMicros: Int64 = 10_000_000
    /// `metrics.ewma_lambda` λ. Default: 0.94.
    public var ewmaLambda: Double = 0.94
    /// `metrics.horizon` h, the liquidation horizon. Default: 60 s.
    public var horizonMicros: Int64 = 60_000_000
    /// `metrics.depth_bps`. Default: [10, 50, 100].
    public var depthBps: [Int] = [10, 50, 100]
    /// `metrics.vpin.buckets` n. Default: 50.
    public var vpinBuckets: Int = 50
    /// `metrics.vpin.bucket_volume.default` V. Default: 100.
    public var vpinBucketVolume: Double = 100
    /// `metrics.vpin.bucket_volume.<symbol>`: per-instrument overrides of V.
    public var vpinBucketVolumeBySymbol: [String: Double] = [:]

    public init() {}

    public func vpinBucketVolume(for symbol: String) -> Double { vpinBucketVolumeBySymbol[symbol] ?? vpinBucketVolume }
}

/// Seconds in the annualization year Y = 365 × 86 400 s.
public let secondsPerYear: Double = 365 * 86_400

/// One-sided 99 % standard normal quantile.
public let z99: Double = 2.326348
/// Normal expected shortfall factor at 97.5 %.
public let es975Factor: Double = 2.337803
