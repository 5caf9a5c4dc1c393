import Foundation
import STIX

/// HTML built in Swift for what a template cannot say simply (a STIX object's properties of any shape). Every text
/// that comes from an object goes through ``escape(_:)``; links are made only to this node's pages or to `http(s)` URLs.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
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
        let readable = text.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")
        return "<time datetime=\"\(escape(text))\">\(escape(readable))</time>"
    }

    static func tlpBadge(_ level: TLP) -> String {
        "<span class=\"tlp tlp-\(level.rawValue.replacingOccurrences(of: "+", with: "-"))\">TLP:\(level.rawValue.uppercased())</span>"
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
            return escape(s).replacingOccurrences(of: "\n", with: "<br>")
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
        let words = key.replacingOccurrences(of: "_", with: " ")
        return words.prefix(1).uppercased() + words.dropFirst()
    }
}
