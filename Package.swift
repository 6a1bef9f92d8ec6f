// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "backstop",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "backstop", targets: ["backstop"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    ],
    targets: [
        // C edge: librdkafka through pkg-config; only `Kafka` imports it.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .target(name: "Kafka", dependencies: ["CRdKafka"], swiftSettings: strict),
        // Pure domain: no I/O, no clocks, no Kafka.
        .target(name: "CByteScan"),
        .target(name: "Events", dependencies: ["CByteScan"], swiftSettings: strict),
        .target(name: "Liquidity", dependencies: ["Events"], swiftSettings: strict),
        .target(name: "Margin", dependencies: ["Events"], swiftSettings: strict),
        .target(name: "Generator", swiftSettings: strict),
        // Pure engine: tasks, event-time merge, stage graph. Sources and sinks are supplied by the caller.
        .target(name: "Engine", dependencies: ["Events", "Liquidity", "Margin"], swiftSettings: strict),
        // The Kafka-bound driver and configuration.
        .target(
            name: "Runtime",
            dependencies: [
                "Engine", "Events", "Kafka", "Liquidity", "Margin",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // Allocator statistics for the benchmarks' memory figures.
        .target(name: "CHeapStats"),
        .executableTarget(
            name: "backstop",
            dependencies: [
                "Runtime", "Engine", "Events", "Kafka", "Generator", "CHeapStats", "Margin",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(name: "BackstopTestKit", dependencies: ["Kafka"], path: "Tests/BackstopTestKit", swiftSettings: strict),
        .testTarget(name: "EventsTests", dependencies: ["Events"], swiftSettings: strict),
        .testTarget(name: "LiquidityTests", dependencies: ["Liquidity", "Events"], swiftSettings: strict),
        .testTarget(name: "MarginTests", dependencies: ["Margin", "Events"], swiftSettings: strict),
        .testTarget(name: "GeneratorTests", dependencies: ["Generator", "Events"], swiftSettings: strict),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Events", "Liquidity"], swiftSettings: strict),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka", "BackstopTestKit"], swiftSettings: strict),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Kafka", "Engine", "BackstopTestKit"], swiftSettings: strict),
    ]
)
