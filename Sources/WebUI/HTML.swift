import Foundation
import STIX

/// HTML built in Swift for what a template cannot say simply (a STIX object's properties of any shape). Every text
/// that comes from an object goes through ``escape(_:)``; links are made only to this node's pages or to `http(s)` URLs.
enum HTML {
    /// `text` with `&`, `<`, `>`, `"` and `'` replaced by entities, and with `lineBreaks` each newline as `<br>`.
    /// Byte by byte over UTF-8 (every character escaped is ASCII), and a text with nothing to escape is returned as is.
    static func escape(_ text: String, lineBreaks: Bool = false) -> String {
        var text = text
        return text.withUTF8 { bytes in
            func needsEscape(_ b: UInt8) -> Bool {
                b == UInt8(ascii: "&") || b == UInt8(ascii: "<") || b == UInt8(ascii: ">") || b == UInt8(ascii: "\"")
                    || b == UInt8(ascii: "'") || (lineBreaks && b == UInt8(ascii: "\n"))
            }
            guard bytes.contains(where: needsEscape) else { return String(decoding: bytes, as: UTF8.self) }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + bytes.count / 8 + 16)
            for b in bytes {
                switch b {
                case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
                case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
                case UInt8(ascii: ">"): out.append(contentsOf: "&gt;".utf8)
                case UInt8(ascii: "\""): out.append(contentsOf: "&quot;".utf8)
                case UInt8(ascii: "'"): out.append(contentsOf: "&#39;".utf8)
                case UInt8(ascii: "\n") where lineBreaks: out.append(contentsOf: "<br>".utf8)
                default: out.append(b)
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// A URL safe to put in an `href`: absolute `http` or `https` only (never `javascript:`, `data:` or relative).
    static func safeURL(_ text: String) -> String? {
        guard let url = URL(string: text.trimmingCharacters(in: .whitespaces)), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", url.host != nil
        else { return nil }
        return url.absoluteString
    }

    /// The page of an object by its id (ids are checked as STIX identifiers before they become links).
    static func objectLink(_ id: String, label: String? = nil) -> String {
        guard Identifier(id) != nil else { return escape(label ?? id) }
        return "<a href=\"/ui/objects/\(escape(id))\">\(escape(label ?? id))</a>"
    }

    /// A timestamp as an ISO date and time in UTC, readable: `2024-05-01 12:00:00 UTC` (fractions kept when given).
    static func time(_ text: String) -> String {
        guard Timestamp(text) != nil else { return escape(text) }
        // A valid timestamp holds only digits, `-`, `:`, `.`, the `T` at offset 10 and a final `Z`: nothing to escape.
        var readable = Array(text.utf8.dropLast())
        readable[10] = UInt8(ascii: " ")
        return "<time datetime=\"" + text + "\">" + String(decoding: readable, as: UTF8.self) + " UTC</time>"
    }

    static func tlpBadge(_ level: TLP) -> String {
        "<span class=\"tlp tlp-\(String(level.rawValue.map { $0 == "+" ? "-" : $0 }))\">TLP:\(level.rawValue.uppercased())</span>"
    }

    /// The markings of an object as badges: TLP levels by colour, other marking-definitions by link.
    static func markings(_ refs: [String], names: [String: String] = [:]) -> String {
        refs.map { ref in
            if let level = TLP(markingID: ref) { return tlpBadge(level) }
            return "<span class=\"marking\">\(objectLink(ref, label: names[ref] ?? "marking"))</span>"
        }.joined(separator: " ")
    }

    /// One property's value, readably: timestamps, references as links, lists, nested objects as nested lists.
    static func value(_ value: JSONValue, key: String, depth: Int = 0) -> String {
        guard depth < 8 else { return "<code>…</code>" }
        switch value {
        case .null: return "<em>null</em>"
        case .bool(let b): return b ? "yes" : "no"
        case .number: return escape(value.serialized())
        case .string(let s):
            if key.hasSuffix("_ref") || key.hasSuffix("_refs") { return objectLink(s) }
            if Self.timestampKeys.contains(key) || key.hasSuffix("_time") { return time(s) }
            if key == "url", let url = safeURL(s) { return "<a href=\"\(escape(url))\" rel=\"noopener noreferrer\">\(escape(s))</a>" }
            if key == "pattern" { return "<code>\(escape(s))</code>" }
            return escape(s, lineBreaks: true)
        case .array(let items):
            if key == "object_marking_refs" { return markings(items.compactMap(\.stringValue)) }
            return "<ul>" + items.map { "<li>" + Self.value($0, key: key, depth: depth + 1) + "</li>" }.joined() + "</ul>"
        case .object(let object):
            return "<dl>" + object.members.map { member in
                "<dt>\(escape(label(member.key)))</dt><dd>\(Self.value(member.value, key: member.key, depth: depth + 1))</dd>"
            }.joined() + "</dl>"
        }
    }

    static let timestampKeys: Set<String> = [
        "created", "modified", "valid_from", "valid_until", "first_seen", "last_seen", "first_observed", "last_observed",
        "published", "start_time", "stop_time", "date", "ctime", "mtime", "atime",
    ]

    /// A property name as a label: `valid_from` -> `Valid from`.
    static func label(_ key: String) -> String {
        let words = String(key.map { $0 == "_" ? " " : $0 })
        return words.prefix(1).uppercased() + words.dropFirst()
    }
}
