/// Count, mean and sum of squared deviations (Welford), mergeable with Chan's formula: numerically stable where
/// naive sums of squares cancel.
struct Moments: Sendable, Equatable {
    var count = 0
    var mean = 0.0
    var m2 = 0.0

    mutating func add(_ x: Double) {
        count += 1
        let delta = x - mean
        mean += delta / Double(count)
        m2 += delta * (x - mean)
    }

    mutating func merge(_ other: Moments) {
        guard other.count > 0 else { return }
        guard count > 0 else { self = other; return }
        let n = count + other.count
        let delta = other.mean - mean
        mean += delta * Double(other.count) / Double(n)
        m2 += other.m2 + delta * delta * Double(count) * Double(other.count) / Double(n)
        count = n
    }

    /// Sample variance (n − 1), nil with fewer than two samples.
    var sampleVariance: Double? { count >= 2 ? m2 / Double(count - 1) : nil }
}

/// Count, means and co-moment of pairs (x, y), mergeable: the sample covariance without cancellation.
struct CoMoments: Sendable, Equatable {
    var count = 0
    var meanX = 0.0
    var meanY = 0.0
    var c = 0.0

    mutating func add(x: Double, y: Double) {
        count += 1
        let dx = x - meanX
        meanX += dx / Double(count)
        meanY += (y - meanY) / Double(count)
        c += dx * (y - meanY)
    }

    mutating func merge(_ other: CoMoments) {
        guard other.count > 0 else { return }
        guard count > 0 else { self = other; return }
        let n = count + other.count
        let dx = other.meanX - meanX
        let dy = other.meanY - meanY
        let weight = Double(count) * Double(other.count) / Double(n)
        meanX += dx * Double(other.count) / Double(n)
        meanY += dy * Double(other.count) / Double(n)
        c += other.c + dx * dy * weight
        count = n
    }

    /// Sample covariance (n − 1), nil with fewer than two pairs.
    var sampleCovariance: Double? { count >= 2 ? c / Double(count - 1) : nil }
}
