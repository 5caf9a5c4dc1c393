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
        .library(name: "STIXValidation", targets: ["STIXValidation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
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
        .target(
            name: "STIXValidation",
            dependencies: ["STIX", "STIXPattern"],
            exclude: ["Generated/NOTICE"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Storage",
            dependencies: ["STIX", .product(name: "GRDB", package: "GRDB.swift")],
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
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: ["STIX"],
            path: "Tests/TestSupport",
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
            dependencies: ["STIX", "STIXValidation", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["STIX", "Storage", "TestSupport"],
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
