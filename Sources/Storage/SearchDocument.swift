import Foundation
import STIX

/// What full-text search knows of one stored version, made in Swift for the stores whose database cannot walk JSON
/// as SQLite's `json_tree` does: the same strings, in the same (document) order, as `SQLiteObjectStore.indexForSearch`
/// takes with ``SQLiteObjectStore/searchedValues(_:)``, ``SQLiteObjectStore/titleValues(_:)`` and
/// ``SQLiteObjectStore/referenceValues(_:)``.
package struct SearchDocument: Equatable {
    /// The name and the external ids, then their whole-value tokens (``ValueTokens``).
    package var title: String
    /// Every other searched string, then their whole-value tokens.
    package var text: String
    /// The ids the version refers to that make it part of another object's story, each once.
    package var refs: [String]

    static let topLevel: Set<String> = ["name", "description", "pattern", "value", "abstract", "content", "explanation", "x_mitre_shortname"]
    static let listed: Set<String> = ["aliases", "x_mitre_aliases", "labels", "hashes"]
    static let referenceEnds: Set<String> = ["source_ref", "target_ref", "sighting_of_ref"]
    static let referenceLists: Set<String> = ["where_sighted_refs", "observed_data_refs", "object_refs"]

    /// The document of a version's stored bytes; nil when they are not JSON (as `json_valid` leaves them out).
    package init?(body: [UInt8]) {
        guard let value = try? JSONParser().parse(body) else { return nil }
        var titles: [String] = [], texts: [String] = [], refs: [String] = []
        var seenRefs = Set<String>()
        func ref(_ id: String) { if seenRefs.insert(id).inserted { refs.append(id) } }
        // Every string below the top level, in document order: `external_id` anywhere is a title; under `objects`
        // (a STIX 2.0 observation) a `value` or a member of `hashes` is text.
        func walk(_ value: JSONValue, key: String?, parentKey: String?, underObjects: Bool) {
            switch value {
            case .string(let s):
                if key == "external_id" { titles.append(s) }
                else if underObjects && (key == "value" || parentKey == "hashes") { texts.append(s) }
            case .array(let items):
                for item in items { walk(item, key: nil, parentKey: key, underObjects: underObjects) }
            case .object(let object):
                for m in object { walk(m.value, key: m.key, parentKey: key, underObjects: underObjects) }
            default:
                break
            }
        }
        if case .object(let object) = value {
            for m in object {
                switch m.value {
                case .string(let s):
                    if m.key == "name" { titles.append(s) }
                    else if Self.topLevel.contains(m.key) || m.key == "external_id" {
                        if m.key == "external_id" { titles.append(s) } else { texts.append(s) }
                    }
                    if Self.referenceEnds.contains(m.key) { ref(s) }
                case .array(let items):
                    for item in items {
                        if case .string(let s) = item {
                            if Self.listed.contains(m.key) { texts.append(s) }
                            if Self.referenceLists.contains(m.key) { ref(s) }
                        } else {
                            walk(item, key: nil, parentKey: m.key, underObjects: false)
                        }
                    }
                case .object(let members):
                    for child in members {
                        if case .string(let s) = child.value, Self.listed.contains(m.key) {
                            if child.key == "external_id" { titles.append(s) } else { texts.append(s) }
                        } else {
                            // `objects.%`: strings below the observations, not the observations' own members.
                            let nested: Bool = if case .string = child.value { false } else { true }
                            walk(child.value, key: child.key, parentKey: m.key, underObjects: m.key == "objects" && nested)
                        }
                    }
                default:
                    break
                }
            }
        }
        func withTokens(_ values: [String]) -> String {
            let joined = values.joined(separator: " ")
            let tokens = ValueTokens.tokens(in: joined)
            return tokens.isEmpty ? joined : joined + " " + tokens
        }
        self.title = withTokens(titles)
        self.text = withTokens(texts)
        self.refs = refs
    }
}

extension SearchDocument {
    /// `text` as SQLite's FTS5 tokenizer (unicode61, its default) cuts it: runs of letters and digits, case and
    /// diacritics folded, everything else a separator; the tokens joined by spaces. A database whose own parser cuts
    /// text otherwise (PostgreSQL keeps `login.example.com` whole) then finds what SQLite finds.
    package static func tokenized(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var inToken = false
        for scalar in text.unicodeScalars {
            let isTokenCharacter = scalar.properties.isAlphabetic || scalar.properties.numericType != nil
                || scalar.properties.generalCategory == .privateUse
            if isTokenCharacter {
                if !inToken && !out.isEmpty { out.append(" ") }
                out.unicodeScalars.append(scalar)
                inToken = true
            } else {
                inToken = false
            }
        }
        return out.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
    }
}
