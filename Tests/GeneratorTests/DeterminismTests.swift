import Generator
import Testing

@Suite("Determinism")
struct DeterminismTests {
    @Test("the same configuration yields a byte-identical feed", arguments: Scenario.allCases)
    func sameSeedSameFeed(scenario: Scenario) {
        let configuration = FeedConfiguration(scenario: scenario, seed: 42, durationMicros: 120_000_000, accounts: 8)
        let first = FeedTestKit.collect(configuration)
        let second = FeedTestKit.collect(configuration)
        #expect(first.count > 1_000)
        #expect(first == second)
    }

    @Test("different seeds yield different feeds")
    func differentSeedsDiffer() {
        let one = FeedTestKit.collect(FeedConfiguration(scenario: .calm, seed: 1, durationMicros: 30_000_000))
        let two = FeedTestKit.collect(FeedConfiguration(scenario: .calm, seed: 2, durationMicros: 30_000_000))
        #expect(one != two)
        let quotesOne = one.filter { $0.topic == .quotes }.prefix(100).map(\.value)
        let quotesTwo = two.filter { $0.topic == .quotes }.prefix(100).map(\.value)
        #expect(quotesOne != quotesTwo)
    }

    @Test("a copied generator continues independently with the same records")
    func copiesAreValues() {
        var original = FeedGenerator(FeedConfiguration(scenario: .volSpike, durationMicros: 20_000_000, accounts: 3))
        for _ in 0..<500 { _ = original.next() }
        var copy = original
        let fromOriginal = (0..<2_000).compactMap { _ in original.next() }
        let fromCopy = (0..<2_000).compactMap { _ in copy.next() }
        #expect(fromOriginal == fromCopy)
    }

    @Test("the feed ends and stays ended")
    func endsCleanly() {
        var generator = FeedGenerator(FeedConfiguration(scenario: .calm, durationMicros: 5_000_000))
        var count = 0
        while generator.next() != nil { count += 1 }
        #expect(count > 0)
        #expect(generator.next() == nil)
        #expect(generator.next() == nil)
    }
}
