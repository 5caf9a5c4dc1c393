import Foundation

import Crypto

/// A STIX identifier, `type--UUID`.
///
/// Related STIX section: 2.9 "Identifier" <https://docs.oasis-open.org/cti/stix/v2.1/os/stix-v2.1-os.html#_64yvzeku5a5c>
public struct Identifier: Sendable, Hashable, CustomStringConvertible {
    /// The object type before `--`.
    public let type: String
    /// The UUID after `--`, lower-cased.
    public let uuid: String

    /// Parses `type--xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`; the UUID must be in RFC 4122 form.
    public init?(_ text: String) {
        // A UUID is 36 ASCII characters without two hyphens in a row, so the last `--` is right before the last 36
        // bytes (an index inside a character is rounded down, and the UUID check then fails).
        let utf8 = text.utf8
        guard utf8.count > 38 else { return nil }
        let uuidStart = utf8.index(utf8.endIndex, offsetBy: -36)
        let dashes = utf8.index(uuidStart, offsetBy: -2)
        guard utf8[dashes] == UInt8(ascii: "-"), utf8[utf8.index(after: dashes)] == UInt8(ascii: "-") else { return nil }
        let uuid = String(text[uuidStart...])
        guard Identifier.isUUID(uuid) else { return nil }
        self.type = String(text[..<dashes])
        self.uuid = uuid.lowercased()
    }

    public init(type: String, uuid: String) {
        self.type = type
        self.uuid = uuid.lowercased()
    }

    public var description: String { "\(type)--\(uuid)" }

    /// The RFC 4122 version digit of the UUID (4 for random, 5 for name-based SHA-1).
    public var uuidVersion: Int? { Identifier.version(ofUUID: uuid) }

    /// True for `8-4-4-4-12` hexadecimal groups.
    public static func isUUID(_ s: String) -> Bool {
        version(ofUUID: s) != nil
    }

    /// The version nibble of a UUID string, or nil when it is not a UUID.
    public static func version(ofUUID s: String) -> Int? {
        func version(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
            guard b.count == 36 else { return nil }
            for (i, c) in b.enumerated() {
                if i == 8 || i == 13 || i == 18 || i == 23 {
                    if c != UInt8(ascii: "-") { return nil }
                } else if !c.isHexDigit {
                    return nil
                }
            }
            let c = b[14]
            return Int(c <= UInt8(ascii: "9") ? c - UInt8(ascii: "0") : (c | 0x20) - UInt8(ascii: "a") + 10)
        }
        return s.withUTF8Bytes(version)
    }

    /// The namespace STIX 2.1 uses for deterministic cyber-observable identifiers.
    public static let observableNamespace = "00abedb4-aa42-466c-9c01-fed23315a9b7"

    /// A UUIDv5 (SHA-1, RFC 4122 §4.3) of `name` in `namespace`.
    public static func uuidV5(namespace: String, name: String) -> String {
        var data: [UInt8] = []
        data.reserveCapacity(16 + name.utf8.count)
        var high: Int?
        for c in namespace.utf8 where c != UInt8(ascii: "-") {
            if let h = high {
                data.append(UInt8(h << 4 | hexValue(c)))
                high = nil
            } else {
                high = hexValue(c)
            }
        }
        data.append(contentsOf: name.utf8)
        var digest = Array(Insecure.SHA1.hash(data: data).prefix(16))
        digest[6] = (digest[6] & 0x0F) | 0x50
        digest[8] = (digest[8] & 0x3F) | 0x80
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (i, byte) in digest.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The deterministic identifier STIX 2.1 §2.9 gives a cyber observable: a UUIDv5 of the canonical JSON (RFC 8785)
    /// of its ID contributing properties. Nil for types with none (process, custom types): those use UUIDv4.
    public static func deterministic(for object: JSONObject) -> Identifier? {
        guard let type = object["type"]?.stringValue, let props = STIXType.idContributingProperties[type] else {
            return nil
        }
        var contributing = JSONObject()
        for p in props {
            guard var value = object[p] else { continue }
            if p == "hashes", case .object(let hashes) = value, let chosen = preferredHash(hashes) {
                // §2.9: only one hash contributes, the first present of MD5, SHA-1, SHA-256, SHA-512.
                value = .object(JSONObject([chosen]))
            }
            contributing[p] = value
        }
        guard !contributing.isEmpty else { return nil }
        let name = JSONValue.object(contributing).serialized(sortedKeys: true)
        return Identifier(type: type, uuid: uuidV5(namespace: observableNamespace, name: name))
    }

    static func preferredHash(_ hashes: JSONObject) -> JSONObject.Member? {
        for algorithm in ["MD5", "SHA-1", "SHA-256", "SHA-512"] {
            if let m = hashes.members.first(where: { $0.key == algorithm }) { return m }
        }
        return hashes.members.first
    }

    static func hexValue(_ c: UInt8) -> Int {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(c - UInt8(ascii: "A") + 10)
        default: return 0
        }
    }
}

extension UInt8 {
    /// True for an ASCII hexadecimal digit.
    public var isHexDigit: Bool {
        (self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9")) || (self >= UInt8(ascii: "a") && self <= UInt8(ascii: "f"))
            || (self >= UInt8(ascii: "A") && self <= UInt8(ascii: "F"))
    }
}
