// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Meridian",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "meridian", targets: ["meridian"]),
        .library(name: "STIX", targets: ["STIX"]),
        .library(name: "STIXPattern", targets: ["STIXPattern"]),
        .library(name: "MISP", targets: ["MISP"]),
        .library(name: "STIXValidation", targets: ["STIXValidation"]),
        // For the fuzz targets (Fuzz/Package.swift).
        .library(name: "TAXII", targets: ["TAXII"]),
        .library(name: "MeridianServer", targets: ["MeridianServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .target(
            name: "STIX",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "STIXPattern",
            dependencies: ["STIX"],
            swiftSettings: swiftSettings
        ),
        // Each collection as a MISP feed, for `serve` and `meridian misp export`.
        .target(
            name: "MISPFeed",
            dependencies: [
                "MeridianServer", "MISP", "Policy", "STIX", "Storage", "TAXII",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // MISP's formats to and from STIX (no I/O).
        .target(
            name: "MISP",
            dependencies: ["STIX", "STIXPattern", "Policy"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "STIXValidation",
            dependencies: ["STIX", "STIXPattern"],
            exclude: ["Generated/NOTICE"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Policy",
            dependencies: ["STIX"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Storage",
            dependencies: [
                "STIX", "CZlib", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The same stores on PostgreSQL, for nodes that outgrow one machine (docs/SCALING.md).
        .target(
            name: "PostgreSQLStorage",
            dependencies: [
                "STIX", "Storage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TAXII",
            dependencies: ["STIX", "Storage"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Federation",
            dependencies: [
                "STIX", "TAXII",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MeridianServer",
            dependencies: [
                "STIX", "STIXValidation", "TAXII", "Storage", "PostgreSQLStorage", "Policy", "Federation", "DocumentInput", "TOML",
                "Transparency", "MISP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WebUI",
            dependencies: [
                "MeridianServer", "STIX", "Storage", "Policy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TOML",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Transparency",
            dependencies: ["STIX"],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "DocumentInput",
            dependencies: ["CZlib"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "meridian",
            dependencies: [
                "STIX",
                "STIXPattern",
                "STIXValidation",
                "DocumentInput",
                "MeridianServer",
                "Policy",
                "Storage",
                "PostgreSQLStorage",
                "Federation",
                "Transparency",
                "WebUI",
                "MISPFeed",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["BuildStamp"]
        ),
        .plugin(name: "BuildStamp", capability: .buildTool(), path: "Plugins/BuildStamp"),
        .executableTarget(
            name: "correlation-bench",
            dependencies: ["STIX", "STIXPattern"],
            path: "bench/CorrelationBench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "page-ceiling",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird"), .product(name: "NIOCore", package: "swift-nio")],
            path: "bench/PageCeiling",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: ["STIX", "Storage", "PostgreSQLStorage"],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MISPTests",
            dependencies: ["MISP", "Policy", "STIX", "STIXValidation", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WebUITests",
            dependencies: ["WebUI", "STIX"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "STIXTests",
            dependencies: ["STIX", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "STIXPatternTests",
            dependencies: ["STIX", "STIXPattern", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "STIXValidationTests",
            dependencies: ["STIX", "STIXValidation", "STIXPattern", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PolicyTests",
            dependencies: [
                "Policy", "STIX", "Storage", "MeridianServer", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: [
                "STIX", "Storage", "PostgreSQLStorage", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TAXIITests",
            dependencies: ["TAXII", "Storage", "STIX"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianServerTests",
            dependencies: [
                "MeridianServer", "MISP", "Policy", "PostgreSQLStorage", "Storage", "STIX", "STIXValidation", "TAXII", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TransparencyTests",
            dependencies: ["Transparency", "STIX"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TOMLTests",
            dependencies: ["TOML"],
            resources: [.copy("Cases")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DocumentInputTests",
            dependencies: ["DocumentInput", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "meridianTests",
            dependencies: ["STIX", "STIXValidation", "DocumentInput", "TestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
