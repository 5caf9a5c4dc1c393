import Foundation
import MISP
import STIX
import STIXPattern

/// Values that never correlate: well-known resolvers, loopback, private address ranges, and the MISP warninglists the
/// configuration names. An observable holding one of them is left out of the observations correlation sees.
struct WarningList: Sendable {
    static let defaults = [
        "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "208.67.222.222", "localhost", "localhost.localdomain",
        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "0.0.0.0/8",
        "255.255.255.255", "::1", "example.com", "example.org", "example.net",
    ]

    let values: Set<String>
    let blocks: [(address: UInt32, mask: UInt32)]
    /// IPv6 blocks: the first `length` bits of `address`.
    let blocks6: [(address: [UInt8], length: Int)]
    /// Names matched with every name under them.
    let hostnames: Set<String>
    /// Text that flags any value containing it.
    let substrings: [String]

    init(_ entries: [String], lists: [MISPWarninglist] = []) {
        var values = Set<String>()
        var blocks: [(UInt32, UInt32)] = []
        var blocks6: [([UInt8], Int)] = []
        var hostnames = Set<String>()
        var substrings: [String] = []
        func add(_ e: String) {
            if e.contains("/"), let (address, length) = Self.block(e) {
                let mask: UInt32 = length == 0 ? 0 : ~(UInt32.max >> UInt32(length))
                blocks.append((address & mask, mask))
            } else if e.contains(":"), let (address, length) = Self.block6(e) {
                blocks6.append((address, length))
            } else {
                values.insert(e.lowercased())
            }
        }
        for e in entries { add(e) }
        for list in lists {
            for e in list.entries {
                switch list.matching {
                case .string, .cidr: add(e)
                case .hostname: hostnames.insert(e.lowercased().trimmingCharacters(in: ["."]))
                case .substring: substrings.append(e.lowercased())
                }
            }
        }
        self.values = values
        self.blocks = blocks
        self.blocks6 = blocks6
        self.hostnames = hostnames
        self.substrings = substrings
    }

    /// An IPv6 address or block (`2001:db8::/32`; an address alone is a /128).
    static func block6(_ text: String) -> ([UInt8], Int)? {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let address = ipv6(parts[0]) else { return nil }
        let length = parts.count == 2 ? Int(parts[1]) : 128
        guard let length, (0...128).contains(length) else { return nil }
        return (address, length)
    }

    static func ipv6(_ text: String) -> [UInt8]? {
        var storage = in6_addr()
        guard inet_pton(AF_INET6, text, &storage) == 1 else { return nil }
        return withUnsafeBytes(of: &storage) { Array($0) }
    }

    static func within(_ address: [UInt8], _ block: (address: [UInt8], length: Int)) -> Bool {
        var bits = block.length
        for i in 0..<16 where bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if address[i] & mask != block.address[i] & mask { return false }
            bits -= 8
        }
        return true
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
        let lower = value.lowercased()
        if values.contains(lower) { return true }
        let address = value.split(separator: "/").first.map(String.init) ?? value
        if let a = Self.dottedQuad(address) { return blocks.contains { a & $0.mask == $0.address } }
        if !blocks6.isEmpty, address.contains(":"), let a = Self.ipv6(address) { return blocks6.contains { Self.within(a, $0) } }
        if !hostnames.isEmpty {
            // The name itself, then each name above it: mail.example.com, example.com, com.
            var name = Substring(lower)
            while !name.isEmpty {
                if hostnames.contains(String(name)) { return true }
                guard let dot = name.firstIndex(of: ".") else { break }
                name = name[name.index(after: dot)...]
            }
        }
        return substrings.contains { lower.contains($0) }
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
