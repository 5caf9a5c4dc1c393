// swift-tools-version:6.0
// libFuzzer targets for Meridian's parsers of untrusted input (issue 21, item 6). Built apart from the main package,
// with the sanitizers, by scripts/fuzz.sh:
//   swift build -c debug -Xswiftc -sanitize=fuzzer,address --package-path Fuzz
// Each target's main.swift hands its input function to libFuzzer (LLVMFuzzerRunDriver).
import PackageDescription

func target(_ name: String, _ products: [String]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + products.map { .product(name: $0, package: "Meridian") })
}

let package = Package(
    name: "MeridianFuzz",
    dependencies: [.package(name: "Meridian", path: "..")],
    targets: [
        .target(name: "FuzzSupport"),
        target("FuzzJSON", ["STIX"]),
        target("FuzzScanner", ["STIX"]),
        target("FuzzPattern", ["STIXPattern"]),
        target("FuzzFilter", ["TAXII"]),
        target("FuzzConfig", ["MeridianServer"]),
    ]
)
