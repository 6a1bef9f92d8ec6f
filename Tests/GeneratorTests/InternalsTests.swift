import Testing

@testable import Generator

@Suite("Internals")
struct InternalsTests {
    @Test(
        "fixed-point numbers print short and exact",
        arguments: [
            (Int64(640_005), 1, "64000.5"), (640_000, 1, "64000"), (2_514, 3, "2.514"), (2_510, 3, "2.51"),
            (5, 3, "0.005"), (0, 2, "0"), (-24_537, 1, "-2453.7"), (1_234_567_890_123, 0, "1234567890123"),
            (100, 2, "1"), (101, 2, "1.01"), (9, 0, "9"), (99, 1, "9.9"), (Int64.max, 0, "9223372036854775807"),
        ]
    )
    func fixed(units: Int64, decimals: Int, expected: String) {
        let scratch = ByteScratch(capacity: 64)
        var writer = RecordWriter(scratch)
        writer.fixed(units, decimals: decimals)
        #expect(writer.makeString() == expected)
    }

    @Test("doubles, integers and text compose into one value")
    func composite() {
        let scratch = ByteScratch(capacity: 128)
        var writer = RecordWriter(scratch)
        writer.raw(#"{"a":"#)
        writer.integer(-42)
        writer.raw(#","b":"#)
        writer.decimal(0.55555, decimals: 4)
        writer.raw(#","c":"#)
        writer.decimal(.nan, decimals: 2)
        writer.raw(#","d":"#)
        writer.quoted("BTC-PERP")
        writer.byte(UInt8(ascii: "}"))
        #expect(writer.makeString() == #"{"a":-42,"b":0.5556,"c":0,"d":"BTC-PERP"}"#)
    }

    @Test("calendar dates round-trip and expiries are Fridays at 08:00 UTC")
    func calendar() {
        for day in stride(from: Int64(-1_000), through: 100_000, by: 37) {
            let date = ExpiryCalendar.civil(fromDays: day)
            #expect(ExpiryCalendar.days(year: date.year, month: date.month, day: date.day) == day)
        }
        #expect(ExpiryCalendar.civil(fromDays: 20_416) == (2025, 11, 24))
        #expect(ExpiryCalendar.weekday(0) == 4)  // 1970-01-01 was a Thursday
        for start in stride(from: Int64(1_700_000_000_000_000), to: 1_800_000_000_000_000, by: 977_000_000_000) {
            let expiries = ExpiryCalendar.expiries(after: start)
            for expiry in [expiries.near, expiries.far] {
                #expect(ExpiryCalendar.weekday(ExpiryCalendar.floorDivide(expiry, ExpiryCalendar.dayMicros)) == 5)
                #expect(expiry % ExpiryCalendar.dayMicros == 8 * ExpiryCalendar.hourMicros)
            }
            #expect(expiries.near >= start + 2 * ExpiryCalendar.dayMicros)
            #expect(expiries.far > expiries.near + 7 * ExpiryCalendar.dayMicros)
        }
        #expect(ExpiryCalendar.symbolDate(1_764_316_800_000_000) == "28NOV25")
        #expect(ExpiryCalendar.symbolDate(1_798_358_400_000_000) == "27DEC26")
    }

    @Test("Black-76 satisfies put-call parity and its limits")
    func black76() {
        for strike in [50_000.0, 64_000, 80_000] {
            for vol in [0.2, 0.55, 1.5] {
                let call = Black76.price(forward: 64_000, strike: strike, years: 0.1, vol: vol, isCall: true)
                let put = Black76.price(forward: 64_000, strike: strike, years: 0.1, vol: vol, isCall: false)
                #expect(abs((call - put) - (64_000 - strike)) < 1e-6 * 64_000)
                #expect(call >= max(0, 64_000 - strike) - 1e-9 && put >= max(0, strike - 64_000) - 1e-9)
            }
        }
        #expect(Black76.price(forward: 60_000, strike: 64_000, years: 0, vol: 0.5, isCall: false) == 4_000)
        let atm = Black76.price(forward: 64_000, strike: 64_000, years: 1, vol: 0.5, isCall: true)
        #expect(abs(atm - 64_000 * (2 * Black76.normalCDF(0.25) - 1)) < 1e-6)
    }

    @Test("the random source is deterministic, in range and roughly uniform")
    func random() {
        var a = FeedRandom(seed: 99)
        var b = FeedRandom(seed: 99)
        var c = FeedRandom(seed: 99, stream: 1)
        let first = (0..<100).map { _ in a.next() }
        #expect(first == (0..<100).map { _ in b.next() })
        #expect(first != (0..<100).map { _ in c.next() })
        var sum = 0.0
        var squares = 0.0
        for _ in 0..<100_000 {
            let u = a.uniform()
            #expect(u >= 0 && u < 1)
            let k = a.below(7)
            #expect(k >= 0 && k < 7)
            let z = a.normal()
            sum += z
            squares += z * z
        }
        #expect(abs(sum / 100_000) < 0.02 && abs(squares / 100_000 - 1) < 0.03)
    }

    @Test("the event queue pops in (time, source) order")
    func eventQueue() {
        var queue = EventQueue(capacity: 8)
        var random = FeedRandom(seed: 5)
        var expected: [ScheduledEvent] = []
        for source in 0..<50 {
            let event = ScheduledEvent(ts: Int64(random.below(20)), source: source)
            queue.insert(event)
            expected.append(event)
        }
        var popped: [ScheduledEvent] = []
        while let first = queue.first {
            popped.append(first)
            queue.replaceFirst(with: nil)
        }
        #expect(popped == expected.sorted())
    }

    @Test("configuration validation names the bad field; the generator clamps instead of trapping")
    func validation() {
        #expect(throws: Never.self) { try FeedConfiguration(scenario: .calm).validate() }
        #expect(throws: FeedConfigurationError(field: "accounts", reason: "must not be negative")) {
            try FeedConfiguration(scenario: .calm, accounts: -1).validate()
        }
        #expect(throws: FeedConfigurationError.self) {
            try FeedConfiguration(scenario: .calm, quoteIntervalMicros: 10).validate()
        }
        #expect(throws: FeedConfigurationError.self) {
            try FeedConfiguration(scenario: .calm, durationMicros: -1).validate()
        }
        let generator = FeedGenerator(
            FeedConfiguration(scenario: .calm, durationMicros: -5, accounts: -3, quoteIntervalMicros: 0)
        )
        #expect(generator.configuration.durationMicros == 0)
        #expect(generator.configuration.accounts == 0)
        #expect(generator.configuration.quoteIntervalMicros == FeedConfiguration.minimumQuoteIntervalMicros)
        #expect(Array(generator).count == 23)
    }

    @Test("scenario names are the CLI spellings")
    func scenarioNames() {
        #expect(Scenario.allCases.map(\.rawValue) == ["calm", "flash-crash", "liquidity-drain", "vol-spike"])
        #expect(Scenario(rawValue: "flash-crash") == .flashCrash)
    }
}
