// Correlation benchmark (issue 5b): 1,000,000 generated indicators of mixed types in a CorrelationIndex; reports the
// index build time, the resident memory, and observables matched per second on one core. Run by bench/correlation.sh.
import Foundation
import STIX
import STIXPattern

func residentMB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
    }
    return 0
}

struct Generator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

func ip(_ n: Int) -> String { "\(10 + (n >> 24) % 200).\((n >> 16) & 255).\((n >> 8) & 255).\(n & 255)" }
func hex(_ n: Int, _ width: Int) -> String {
    var s = String(UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15, radix: 16)
    while s.count < width { s += s }
    return String(s.prefix(width))
}

/// The i-th indicator's pattern: a realistic mix of observable types and operators.
func pattern(_ i: Int, _ g: inout Generator) -> String {
    switch g.below(100) {
    case 0..<30: return "[ipv4-addr:value = '\(ip(i))']"
    case 30..<50: return "[domain-name:value = 'host\(i).example.net']"
    case 50..<60: return "[url:value = 'https://site\(i).example.org/path/\(i)']"
    case 60..<70: return "[file:hashes.'SHA-256' = '\(hex(i, 64))']"
    case 70..<78: return "[file:hashes.MD5 = '\(hex(i, 32))' OR file:hashes.'SHA-1' = '\(hex(i + 7, 40))']"
    case 78..<83: return "[email-addr:value = 'user\(i)@mail\(i % 1000).example.com']"
    case 83..<88: return "[network-traffic:dst_ref.value = '\(ip(i))' AND network-traffic:dst_port = \(1 + i % 65535)]"
    case 88..<93: return "[ipv4-addr:value ISSUBSET '\(ip(i & ~255))/24']"
    case 93..<97: return "[domain-name:value = 'c2-\(i).example.net'] FOLLOWEDBY [url:value = 'http://c2-\(i).example.net/beacon']"
    default: return "[process:name = 'malware\(i).exe' AND process:command_line LIKE '%-enc %']"
    }
}

let count = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 1_000_000
let observations = 300_000
var g = Generator(state: 42)
let baseline = residentMB()
var index = CorrelationIndex()
let buildStart = Date()
for i in 0..<count {
    try index.add(id: "indicator--\(i)", pattern: pattern(i, &g), validUntil: nil)
}
// A few patterns only their object type can anchor (MATCHES), checked against every domain name.
for i in 0..<10 {
    try index.add(id: "indicator--regex-\(i)", pattern: "[domain-name:value MATCHES '^dga[0-9]{\(4 + i)}\\\\.example$']", validUntil: nil)
}
let buildSeconds = Date().timeIntervalSince(buildStart)
let memory = residentMB()

// Observations: one observed-data with one or two observables; about 1 in 100 carries an indicated value.
var bundles: [(JSONValue, [JSONValue])] = []
bundles.reserveCapacity(observations)
var observableCount = 0
let parser = JSONParser()
for n in 0..<observations {
    let hit = g.below(100) == 0
    let k = hit ? g.below(count) : count + g.below(50_000_000)
    var objects: [String] = []
    switch g.below(6) {
    case 0: objects = [#"{"type":"ipv4-addr","id":"ipv4-addr--o\#(n)","value":"\#(ip(k))"}"#]
    case 1: objects = [#"{"type":"domain-name","id":"domain-name--o\#(n)","value":"host\#(k).example.net"}"#]
    case 2: objects = [#"{"type":"url","id":"url--o\#(n)","value":"https://site\#(k).example.org/path/\#(k)"}"#]
    case 3: objects = [#"{"type":"file","id":"file--o\#(n)","name":"doc\#(n).pdf","size":\#(n),"hashes":{"SHA-256":"\#(hex(k, 64))","MD5":"\#(hex(k, 32))"}}"#]
    case 4: objects = [#"{"type":"email-addr","id":"email-addr--o\#(n)","value":"user\#(k)@mail\#(k % 1000).example.com"}"#]
    default:
        objects = [#"{"type":"ipv4-addr","id":"ipv4-addr--o\#(n)","value":"\#(ip(k))"}"#,
                   #"{"type":"network-traffic","id":"network-traffic--o\#(n)","dst_ref":"ipv4-addr--o\#(n)","dst_port":\#(1 + k % 65535),"protocols":["tcp"]}"#]
    }
    observableCount += objects.count
    let refs = objects.map { "\"" + (try! parser.parse($0))["id"]!.stringValue! + "\"" }.joined(separator: ",")
    let text = #"{"type":"bundle","id":"bundle--o\#(n)","objects":[{"type":"observed-data","id":"observed-data--o\#(n)","number_observed":1,"first_observed":"2026-11-01T00:00:00Z","last_observed":"2026-11-01T00:00:00Z","object_refs":[\#(refs)]},\#(objects.joined(separator: ","))]}"#
    let bundle = try parser.parse(text)
    bundles.append((bundle, Array((bundle["objects"]?.arrayValue ?? []).dropFirst())))
}

let matchStart = Date()
var candidates = 0
var matches = 0
for (bundle, observables) in bundles {
    let found = index.candidates(observables)
    guard !found.isEmpty else { continue }
    let prepared = try Observations([bundle], stixVersion: "2.1")
    for h in found {
        candidates += 1
        if try index.matches(h, observations: prepared, now: 0) { matches += 1 }
    }
}
let matchSeconds = Date().timeIntervalSince(matchStart)
print("indicators: \(index.count) (\(index.scanCount) in the scan list)")
print(String(format: "index build: %.2f s (%.0f indicators/s)", buildSeconds, Double(index.count) / buildSeconds))
print(String(format: "resident memory with the index: %.0f MB (process before: %.0f MB)", memory, baseline))
print(String(format: "matching on one core: %d observables in %d observations, %.2f s = %.0f observables/s; %d candidates evaluated, %d matches",
             observableCount, observations, matchSeconds, Double(observableCount) / matchSeconds, candidates, matches))
