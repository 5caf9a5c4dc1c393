/// Writing JSON values back out as text.
extension JSONValue {
    /// Compact JSON text. Numbers keep their original text; `sortedKeys` orders members by key (UTF-16 code units,
    /// as RFC 8785 canonicalization requires), otherwise document order is kept.
    public func serialized(sortedKeys: Bool = false) -> String {
        var out = ""
        write(to: &out, sortedKeys: sortedKeys)
        return out
    }

    /// Compact JSON as UTF-8 bytes, members in document order: what ``serialized(sortedKeys:)`` writes, without
    /// building a string first.
    public func serializedBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        write(to: &out)
        return out
    }

    func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.text.utf8)
        case .string(let s): JSONValue.writeEscaped(s, to: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, m) in o.members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeEscaped(m.key, to: &out)
                out.append(UInt8(ascii: ":"))
                m.value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    func write(to out: inout String, sortedKeys: Bool) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n.text
        case .string(let s): JSONValue.writeEscaped(s, to: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(to: &out, sortedKeys: sortedKeys)
            }
            out += "]"
        case .object(let o):
            out += "{"
            let members = sortedKeys ? o.members.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) } : o.members
            for (i, m) in members.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeEscaped(m.key, to: &out)
                out += ":"
                m.value.write(to: &out, sortedKeys: sortedKeys)
            }
            out += "}"
        }
    }

    /// True when `s` can be written between quotes as it is (no quote, backslash or control character).
    static func needsNoEscaping(_ s: String) -> Bool {
        // Over the bytes in place (the generic `utf8.contains` is several times slower, and ids are escaped for every
        // version a read lists in the audit log).
        s.withUTF8Bytes { bytes in !bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") } }
    }

    /// Appends `s` as a JSON string literal to UTF-8 bytes, escaping what RFC 8259 requires.
    public static func writeEscaped(_ s: String, to out: inout [UInt8]) {
        if needsNoEscaping(s) {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: s.utf8)
            out.append(UInt8(ascii: "\""))
        } else {
            // Byte for byte what the String writer below writes.
            let hex = Array("0123456789abcdef".utf8)
            out.append(UInt8(ascii: "\""))
            for b in s.utf8 {
                let escape: UInt8
                switch b {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): escape = b
                case 0x0A: escape = UInt8(ascii: "n")
                case 0x0D: escape = UInt8(ascii: "r")
                case 0x09: escape = UInt8(ascii: "t")
                case 0x08: escape = UInt8(ascii: "b")
                case 0x0C: escape = UInt8(ascii: "f")
                case ..<0x20: escape = UInt8(ascii: "u")
                default:
                    out.append(b)
                    continue
                }
                out.append(UInt8(ascii: "\\"))
                out.append(escape)
                if escape == UInt8(ascii: "u") { out += [0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0x0F)]] }
            }
            out.append(UInt8(ascii: "\""))
        }
    }

    /// Appends `s` as a JSON string literal, escaping what RFC 8259 requires.
    public static func writeEscaped(_ s: String, to out: inout String) {
        if needsNoEscaping(s) {
            out += "\""
            out += s
            out += "\""
            return
        }
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// `s` as a JSON string literal.
    public static func quoted(_ s: String) -> String {
        var out = ""
        writeEscaped(s, to: &out)
        return out
    }
}
