/// SplitMix64: expands one 64-bit seed into well-mixed words; used to seed `FeedRandom` and derive sub-streams.
struct SplitMix64 {
    private var state: UInt64

    init(state: UInt64) { self.state = state }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The generator's only source of randomness: xoshiro256** seeded through SplitMix64.
///
/// Deterministic across runs and platforms for the integer and uniform draws (the normal and exponential draws go
/// through the platform's `log`, which is deterministic on one platform). Never touches system randomness.
struct FeedRandom {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64
    private var spareNormal = 0.0
    private var hasSpareNormal = false

    /// Creates the generator for `seed`; different `stream`s of one seed are independent sequences.
    init(seed: UInt64, stream: UInt64 = 0) {
        var mixer = SplitMix64(state: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        s0 = mixer.next()
        s1 = mixer.next()
        s2 = mixer.next()
        s3 = mixer.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }  // the all-zero state is the one fixed point
    }

    /// The next 64 random bits.
    @inline(__always)
    mutating func next() -> UInt64 {
        let result = rotateLeft(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotateLeft(s3, 45)
        return result
    }

    /// Uniform in `[0, 1)`, 53 random bits.
    @inline(__always)
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in `[low, high)`.
    @inline(__always)
    mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * uniform() }

    /// Uniform integer in `0..<count` (Lemire's multiply-shift; the bias is below 2⁻⁴⁰ for our small counts).
    @inline(__always)
    mutating func below(_ count: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(max(count, 1))).high)
    }

    /// `true` with probability `p`.
    @inline(__always)
    mutating func chance(_ p: Double) -> Bool { uniform() < p }

    /// A standard normal draw (Marsaglia's polar method; the second value of each pair is kept for the next call).
    mutating func normal() -> Double {
        if hasSpareNormal {
            hasSpareNormal = false
            return spareNormal
        }
        while true {
            let u = 2 * uniform() - 1
            let v = 2 * uniform() - 1
            let s = u * u + v * v
            if s > 0, s < 1 {
                let factor = (-2 * Libm.ln(s) / s).squareRoot()
                spareNormal = v * factor
                hasSpareNormal = true
                return u * factor
            }
        }
    }

    /// An exponential draw with the given mean (Poisson inter-arrival times).
    mutating func exponential(mean: Double) -> Double { -Libm.ln1p(-uniform()) * mean }

    /// A Poisson inter-arrival time in whole microseconds (at least 1) for a mean of `meanMicros`.
    mutating func arrivalDelay(meanMicros: Double) -> Int64 {
        max(1, Int64(min(exponential(mean: meanMicros), 1e15) + 0.5))
    }

    @inline(__always)
    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
