@testable import Events
import Testing

/// `roundHalfAway` replaces `Double.rounded()` on the writer's short-decimal path: it must agree on every input it
/// is given there (0 ≤ x < 2^53).
@Suite("roundHalfAway")
struct RoundHalfAwayTests {
    @Test func agreesWithRoundedOnTheWritersRange() {
        var values: [Double] = [0, 0.5, 1.5, 2.5, 0.49999999999999994, 0.5000000000000001, 1 - 0x1p-53, 0x1p51 + 0.5,
                                0x1p52 - 0.5, 0x1p52, 0x1p52 + 1, 0x1p53 - 1, .leastNonzeroMagnitude, .leastNormalMagnitude]
        var rng = SplitMix64(seed: 3)
        for _ in 0..<1_000_000 {
            // Uniform over exponents below 2^53, then exact halves and their neighbours.
            let exponent = Int(rng.next() % 80) - 27
            let x = Double(rng.next() >> 11) * 0x1p-53 * Double(sign: .plus, exponent: exponent, significand: 1)
            let half = (x.rounded(.down) + 0.5)
            values.append(contentsOf: [x, half, half.nextUp, half.nextDown])
        }
        var mismatches: [String] = []
        for x in values where x >= 0 && x < 0x1p53 {
            if roundHalfAway(x) != x.rounded(), mismatches.count < 5 { mismatches.append("\(x)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }
}
