import STIX
import STIXPattern

/// Values that never correlate: well-known resolvers, loopback, private address ranges. An observable holding one of
/// them is left out of the observations correlation sees.
struct WarningList: Sendable {
    static let defaults = [
        "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "208.67.222.222", "localhost", "localhost.localdomain",
        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "0.0.0.0/8",
        "255.255.255.255", "::1", "example.com", "example.org", "example.net",
    ]

    let values: Set<String>
    let blocks: [(address: UInt32, mask: UInt32)]

    init(_ entries: [String]) {
        var values = Set<String>()
        var blocks: [(UInt32, UInt32)] = []
        for e in entries {
            if e.contains("/"), let (address, length) = Self.block(e) {
                let mask: UInt32 = length == 0 ? 0 : ~(UInt32.max >> UInt32(length))
                blocks.append((address & mask, mask))
            } else {
                values.insert(e.lowercased())
            }
        }
        self.values = values
        self.blocks = blocks
    }

    static func block(_ text: String) -> (UInt32, Int)? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let length = Int(parts[1]), (0...32).contains(length), let a = dottedQuad(String(parts[0])) else { return nil }
        return (a, length)
    }

    static func dottedQuad(_ s: String) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard let n = UInt32(p), n < 256 else { return nil }
            v = v << 8 | n
        }
        return v
    }

    /// Whether a string value is on the list (exact, case-insensitive for names) or an address inside a listed block.
    func contains(_ value: String) -> Bool {
        if values.contains(value.lowercased()) { return true }
        let address = value.split(separator: "/").first.map(String.init) ?? value
        if let a = Self.dottedQuad(address) { return blocks.contains { a & $0.mask == $0.address } }
        return false
    }

    /// Whether an observable carries a listed value in any of its top-level string properties.
    func flags(_ observable: JSONValue) -> Bool {
        guard case .object(let o) = observable else { return false }
        for member in o where member.key != "id" && member.key != "type" && member.key != "spec_version" {
            if case .string(let s) = member.value, contains(s) { return true }
        }
        return false
    }
}
