import Foundation
import STIX

/// The cyber observables of a MISP attribute or object, and the comparisons of the pattern an indicator of it holds
/// (joined by AND), as misp-stix makes them. Observables take the MISP uuids: an attribute's observable is
/// `<type>--<attribute uuid>`; an object's main observable is `<type>--<object uuid>` and the others take the uuids
/// of the attributes they come from.
struct Observable {
    var objects: [JSONObject] = []
    var comparisons: [String] = []
}

enum Observables {
    /// A value between quotes in a pattern.
    static func escape(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "'") || $0 == UInt8(ascii: "\\") }) else { return s }
        var out = ""
        for c in s {
            if c == "'" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }

    static func sco(_ type: String, _ uuid: String, _ members: KeyValuePairs<String, JSONValue> = [:]) -> JSONObject {
        var o = JSONObject(["type": .string(type), "spec_version": .string("2.1"), "id": .string("\(type)--\(uuid)")])
        for (k, v) in members { o[k] = v }
        return o
    }

    static func compare(_ path: String, _ value: String) -> String { "\(path) = '\(escape(value))'" }

    // MARK: Values

    /// The STIX type of an address (`ipv4-addr` or `ipv6-addr`), CIDR prefixes allowed.
    static func addressType(_ value: String) throws(ValueRule) -> String {
        let parts = value.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let address = parts[0]
        let prefix = parts.count == 2 ? Int(parts[1]) : nil
        if parts.count == 2 && prefix == nil { throw ValueRule(text: "has a CIDR prefix that is not a number") }
        let octets = address.split(separator: ".", omittingEmptySubsequences: false)
        if octets.count == 4, octets.allSatisfy({ o in !o.isEmpty && o.count <= 3 && o.allSatisfy(\.isASCII) && Int(o).map { $0 <= 255 } == true }) {
            if let prefix, prefix > 32 { throw ValueRule(text: "has an IPv4 prefix over 32") }
            return "ipv4-addr"
        }
        if address.contains(":"), address.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }), address.count <= 45,
            address.split(separator: ":", omittingEmptySubsequences: false).count <= 9
        {
            if let prefix, prefix > 128 { throw ValueRule(text: "has an IPv6 prefix over 128") }
            return "ipv6-addr"
        }
        throw ValueRule(text: "is not an IPv4 or IPv6 address")
    }

    static func port(_ value: String) throws(ValueRule) -> Int64 {
        guard let n = Int64(value), (0...65535).contains(n) else { throw ValueRule(text: "has a port that is not a number from 0 to 65535") }
        return n
    }

    static func domain(_ value: String) throws(ValueRule) {
        guard !value.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "@" }), value.contains("."), !value.hasPrefix(".") else {
            throw ValueRule(text: "is not a domain name")
        }
    }

    static func email(_ value: String) throws(ValueRule) {
        guard let at = value.firstIndex(of: "@"), at != value.startIndex, value.index(after: at) != value.endIndex,
            !value.contains(where: \.isWhitespace)
        else { throw ValueRule(text: "is not an e-mail address") }
    }

    /// STIX's name for a MISP hash type, and the length of its hex digest when fixed.
    static let hashes: [String: (name: String, hexLength: Int?)] = [
        "md5": ("MD5", 32), "sha1": ("SHA-1", 40), "sha256": ("SHA-256", 64), "sha512": ("SHA-512", 128),
        "sha3-256": ("SHA3-256", 64), "sha3-512": ("SHA3-512", 128), "ssdeep": ("SSDEEP", nil), "tlsh": ("TLSH", nil),
    ]

    static func hash(_ type: String, _ value: String) throws(ValueRule) -> (name: String, path: String) {
        let (name, length) = hashes[type]!
        if let length, value.utf8.count != length || !value.utf8.allSatisfy(MISPValue.isHex) {
            throw ValueRule(text: "is not a \(type) digest (\(length) hexadecimal digits)")
        }
        return (name, name.contains("-") ? "file:hashes.'\(name)'" : "file:hashes.\(name)")
    }

    /// "filename|md5" and the like: the two halves of a composite value.
    static func halves(_ value: String) throws(ValueRule) -> (String, String) {
        guard let bar = value.lastIndex(of: "|") else { throw ValueRule(text: "has no '|' between its two parts") }
        return (String(value[..<bar]), String(value[value.index(after: bar)...]))
    }

    /// STIX 2.1 §6.13 wants a registry key's hive written in full (`HKEY_LOCAL_MACHINE`, not `HKLM`); MISP values
    /// often abbreviate it (misp-stix passes them on as they are, which STIX validators refuse).
    static func fullHive(_ key: String) -> String {
        let hives = ["HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER", "HKCR": "HKEY_CLASSES_ROOT", "HKU": "HKEY_USERS",
                     "HKCC": "HKEY_CURRENT_CONFIG"]
        let first = key.prefix { $0 != "\\" }
        guard let full = hives[first.uppercased()] else { return key }
        return full + key.dropFirst(first.count)
    }

    static func customProperty(_ relation: String) -> String {
        "x_misp_" + String(relation.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    // MARK: Attributes

    /// The observables of an attribute of `type`, nil for types STIX has no observable for.
    static func attribute(type: String, value: String, uuid: String) throws(ValueRule) -> Observable? {
        switch type {
        case "ip-src", "ip-dst", "ip-src|port", "ip-dst|port":
            let side = type.hasPrefix("ip-src") ? "src" : "dst"
            var address = value
            var port: Int64?
            if type.hasSuffix("|port") {
                let (a, p) = try halves(value)
                address = a
                port = try Self.port(p)
            }
            let ipType = try addressType(address)
            var traffic = sco("network-traffic", uuid, ["\(side)_ref": .string("\(ipType)--\(uuid)")])
            var comparisons = [compare("network-traffic:\(side)_ref.type", ipType), compare("network-traffic:\(side)_ref.value", address)]
            if let port {
                traffic["\(side)_port"] = .number(JSONNumber(port))
                comparisons.append(compare("network-traffic:\(side)_port", String(port)))
            }
            traffic["protocols"] = .array([.string("tcp")])
            return Observable(objects: [traffic, sco(ipType, uuid, ["value": .string(address)])], comparisons: comparisons)
        case "domain", "hostname":
            try domain(value)
            return Observable(objects: [sco("domain-name", uuid, ["value": .string(value)])], comparisons: [compare("domain-name:value", value)])
        case "domain|ip":
            let (name, address) = try halves(value)
            try domain(name)
            let ipType = try addressType(address)
            return Observable(
                objects: [sco("domain-name", uuid, ["value": .string(name), "resolves_to_refs": .array([.string("\(ipType)--\(uuid)")])]),
                          sco(ipType, uuid, ["value": .string(address)])],
                comparisons: [compare("domain-name:value", name), compare("domain-name:resolves_to_refs[*].value", address)])
        case "url":
            guard !value.contains(where: \.isWhitespace) else { throw ValueRule(text: "is not a URL (it holds white space)") }
            return Observable(objects: [sco("url", uuid, ["value": .string(value)])], comparisons: [compare("url:value", value)])
        case "email":
            try email(value)
            return Observable(objects: [sco("email-addr", uuid, ["value": .string(value)])], comparisons: [compare("email-addr:value", value)])
        case "email-src", "email-dst":
            try email(value)
            let ref: (String, JSONValue) = type == "email-src"
                ? ("from_ref", .string("email-addr--\(uuid)")) : ("to_refs", .array([.string("email-addr--\(uuid)")]))
            var message = sco("email-message", uuid, ["is_multipart": .bool(false)])
            message[ref.0] = ref.1
            let path = type == "email-src" ? "email-message:from_ref.value" : "email-message:to_refs[*].value"
            return Observable(objects: [message, sco("email-addr", uuid, ["value": .string(value)])], comparisons: [compare(path, value)])
        case "email-subject":
            return Observable(objects: [sco("email-message", uuid, ["is_multipart": .bool(false), "subject": .string(value)])],
                              comparisons: [compare("email-message:subject", value)])
        case _ where hashes[type] != nil:
            let (name, path) = try hash(type, value)
            return Observable(objects: [sco("file", uuid, ["hashes": single(name, value)])],
                              comparisons: [compare(path, value)])
        case "filename":
            return Observable(objects: [sco("file", uuid, ["name": .string(value)])], comparisons: [compare("file:name", value)])
        case _ where type.hasPrefix("filename|") && hashes[String(type.dropFirst(9))] != nil:
            let (filename, digest) = try halves(value)
            let (name, path) = try hash(String(type.dropFirst(9)), digest)
            return Observable(
                objects: [sco("file", uuid, ["hashes": single(name, digest), "name": .string(filename)])],
                comparisons: [compare("file:name", filename), compare(path, digest)])
        case "mutex":
            return Observable(objects: [sco("mutex", uuid, ["name": .string(value)])], comparisons: [compare("mutex:name", value)])
        case "AS":
            var digits = Substring(value)
            if digits.lowercased().hasPrefix("as") { digits = digits.dropFirst(2) }
            guard let number = Int64(digits), (0...4_294_967_295).contains(number) else {
                throw ValueRule(text: "is not an autonomous system number (AS and up to ten digits)")
            }
            return Observable(objects: [sco("autonomous-system", uuid, ["number": .number(JSONNumber(number))])],
                              comparisons: [compare("autonomous-system:number", String(number))])
        case "mac-address":
            let normal = value.lowercased().replacingOccurrences(of: "-", with: ":")
            let parts = normal.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && $0.utf8.allSatisfy(MISPValue.isHex) }) else {
                throw ValueRule(text: "is not a MAC address (six hexadecimal pairs)")
            }
            return Observable(objects: [sco("mac-addr", uuid, ["value": .string(normal)])], comparisons: [compare("mac-addr:value", normal)])
        case "regkey":
            let key = fullHive(value)
            return Observable(objects: [sco("windows-registry-key", uuid, ["key": .string(key)])],
                              comparisons: [compare("windows-registry-key:key", key)])
        default:
            return nil
        }
    }

    // MARK: Objects

    /// The observables of a MISP object of `template`; nil for templates STIX has no observable for, or when the
    /// object lacks what its observable needs (then it is kept as `x-misp-object`, as misp-stix keeps it).
    static func object(template: String, uuid: String, _ attributes: [ObjectAttribute]) throws(ValueRule) -> Observable? {
        switch template {
        case "file": return try file(uuid, attributes)
        case "domain-ip": return try domainIP(uuid, attributes)
        case "url": return try url(uuid, attributes)
        case "ip-port", "network-connection": return try traffic(template, uuid, attributes)
        case "email": return try emailMessage(uuid, attributes)
        case "credential": return try credential(uuid, attributes)
        case "asn": return try asn(uuid, attributes)
        case "registry-key": return registryKey(uuid, attributes)
        case "mutex": return stringProperties("mutex", "name", uuid, attributes, ["name": "name"])
        case "user-account":
            return stringProperties("user-account", "username", uuid, attributes,
                          ["username": "account_login", "user-id": "user_id", "display-name": "display_name"])
        case "x509": return try x509(uuid, attributes)
        case "process": return process(uuid, attributes)
        case "network-socket": return try socket(uuid, attributes)
        case _ where accounts[template] != nil: return account(template, uuid, attributes)
        default: return nil
        }
    }

    /// How many attributes of each relation an object has (misp-stix maps a relation given once to a property of its
    /// own, and one given more often to a custom list).
    static func relationCounts(_ attributes: [ObjectAttribute]) -> [String: Int] {
        Dictionary(attributes.map { ($0.relation, 1) }, uniquingKeysWith: +)
    }

    /// An integer written as Python writes it (no sign for positives, no leading zeros), which misp-stix makes a number;
    /// nil for any other text, which it keeps as text.
    static func canonicalInteger(_ value: String) -> Int64? {
        Int64(value).flatMap { String($0) == value ? $0 : nil }
    }

    /// x509 relations that are certificate properties, as misp-stix maps them.
    static let x509Properties: [String: String] = [
        "issuer": "issuer", "pubkey-info-algorithm": "subject_public_key_algorithm", "pubkey-info-modulus": "subject_public_key_modulus",
        "serial-number": "serial_number", "signature_algorithm": "signature_algorithm", "subject": "subject", "version": "version",
    ]
    /// Subject alternative names, in the order misp-stix writes them.
    static let x509Names: [(relation: String, label: String)] = [("dns_names", "DNS name"), ("email", "email"), ("ip", "IP"), ("rid", "RID"), ("uri", "URI")]

    /// An `x509` object: an `x509-certificate` with its fingerprints as hashes, its properties, validity (a STIX
    /// timestamp in the certificate, and in a pattern as misp-stix writes it there: Python's text of the date) and
    /// subject alternative names; nil (kept whole) when it says whether it is self-signed, which misp-stix maps by
    /// the flag's truth rather than its text.
    private static func x509(_ uuid: String, _ attributes: [ObjectAttribute]) throws(ValueRule) -> Observable? {
        guard !attributes.contains(where: { $0.relation == "self_signed" }) else { return nil }
        let counts = relationCounts(attributes)
        var out = Observable()
        var o = sco("x509-certificate", uuid)
        var hashes = JSONObject()
        var names: [String: [String]] = [:]
        var rest: [ObjectAttribute] = []
        for a in attributes {
            let single = counts[a.relation] == 1
            switch a.relation {
            case "x509-fingerprint-md5" where single, "x509-fingerprint-sha1" where single, "x509-fingerprint-sha256" where single:
                let (name, path) = try checked(a) { () throws(ValueRule) in try hash(String(a.relation.dropFirst("x509-fingerprint-".count)), a.value) }
                hashes[name] = .string(a.value)
                if a.toIDs { out.comparisons.append(compare("x509-certificate:" + path.dropFirst("file:".count), a.value)) }
            case "validity-not-before" where single, "validity-not-after" where single:
                let (timestamp, python) = try checked(a) { () throws(ValueRule) in try MISPValue.dateTime(a.value) }
                let property = a.relation == "validity-not-before" ? "validity_not_before" : "validity_not_after"
                o[property] = .string(timestamp)
                if a.toIDs { out.comparisons.append(compare("x509-certificate:" + property, python)) }
            case "pubkey-info-exponent" where single && canonicalInteger(a.value) != nil:
                o["subject_public_key_exponent"] = .number(JSONNumber(canonicalInteger(a.value)!))
                if a.toIDs { out.comparisons.append(compare("x509-certificate:subject_public_key_exponent", a.value)) }
            case _ where single && x509Properties[a.relation] != nil:
                o[x509Properties[a.relation]!] = .string(a.value)
                if a.toIDs { out.comparisons.append(compare("x509-certificate:" + x509Properties[a.relation]!, a.value)) }
            case _ where x509Names.contains(where: { $0.relation == a.relation }):
                names[a.relation, default: []].append(a.value)
            default:
                rest.append(a)
            }
        }
        if !hashes.isEmpty { o["hashes"] = .object(hashes) }
        let alternative = x509Names.flatMap { n in (names[n.relation] ?? []).map { "\(n.label):\($0)" } }.joined(separator: ",")
        if !alternative.isEmpty {
            o["x509_v3_extensions"] = .object(JSONObject(["subject_alternative_name": .string(alternative)]))
            if attributes.contains(where: { $0.toIDs && names[$0.relation] != nil }) {
                let flagged = x509Names.flatMap { n in
                    attributes.filter { $0.relation == n.relation && $0.toIDs }.map { "\(n.label):\($0.value)" }
                }.joined(separator: ",")
                out.comparisons.append(compare("x509-certificate:x509_v3_extensions.subject_alternative_name", flagged))
            }
        }
        // STIX 2.1 needs at least one property of its own on a certificate.
        guard o.members.count > 3 else { return nil }
        for a in rest { custom(a, on: &o, path: "x509-certificate", &out) }
        out.objects = [o]
        return out
    }

    static let addressFamilies: Set<String> = ["AF_UNSPEC", "AF_INET", "AF_IPX", "AF_APPLETALK", "AF_NETBIOS", "AF_INET6", "AF_IRDA", "AF_BTH"]
    static let socketTypes: Set<String> = ["SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET"]

    /// A `network-socket` object: a `network-traffic` between its addresses (else its host names), with its ports and
    /// protocol (`tcp` when none is given) and, when its address family is one STIX knows, the `socket-ext` extension
    /// (family, socket type, listening or blocking), as misp-stix makes it, patterns included (`protocols[0]`, and
    /// `is_listening = true` as a boolean). A relation given twice that misp-stix takes once keeps the object whole.
    private static func socket(_ uuid: String, _ attributes: [ObjectAttribute]) throws(ValueRule) -> Observable? {
        let singles: Set<String> = ["address-family", "dst-port", "hostname-dst", "hostname-src", "ip-dst", "ip-src", "protocol", "socket-type",
                                    "src-port"]
        let counts = relationCounts(attributes)
        guard !attributes.contains(where: { singles.contains($0.relation) && counts[$0.relation]! > 1 }) else { return nil }
        func first(_ relation: String) -> ObjectAttribute? { attributes.first { $0.relation == relation } }
        var out = Observable()
        var traffic = sco("network-traffic", uuid)
        var ends: [JSONObject] = []
        var used = Set<String>()
        for side in ["src", "dst"] {
            let end: (ObjectAttribute, String)?
            if let ip = first("ip-\(side)") {
                end = (ip, try checked(ip) { () throws(ValueRule) in try addressType(ip.value) })
            } else if let host = first("hostname-\(side)") {
                end = (host, "domain-name")
            } else {
                end = nil
            }
            guard let (a, type) = end else { continue }
            used.insert(a.uuid)
            ends.append(sco(type, a.uuid, ["value": .string(a.value)]))
            traffic["\(side)_ref"] = .string("\(type)--\(a.uuid)")
            if a.toIDs { out.comparisons += [compare("network-traffic:\(side)_ref.type", type), compare("network-traffic:\(side)_ref.value", a.value)] }
        }
        for side in ["src", "dst"] {
            guard let a = first("\(side)-port") else { continue }
            let port = try checked(a) { () throws(ValueRule) in try Self.port(a.value) }
            used.insert(a.uuid)
            traffic["\(side)_port"] = .number(JSONNumber(port))
            if a.toIDs { out.comparisons.append(compare("network-traffic:\(side)_port", a.value)) }
        }
        var protocols: [JSONValue] = [.string("tcp")]
        if let a = first("protocol") {
            used.insert(a.uuid)
            protocols = [.string(a.value.lowercased())]
            if a.toIDs { out.comparisons.append(compare("network-traffic:protocols[0]", a.value.lowercased())) }
        }
        traffic["protocols"] = .array(protocols)
        let ext = "network-traffic:extensions.'socket-ext'"
        var socket = JSONObject()
        let known = first("address-family").map { addressFamilies.contains($0.value) } ?? false
        for a in attributes {
            switch a.relation {
            case "address-family", "socket-type":
                let property = a.relation == "address-family" ? "address_family" : "socket_type"
                if a.toIDs { out.comparisons.append(compare("\(ext).\(property)", a.value)) }
                if known, a.relation == "address-family" || socketTypes.contains(a.value) {
                    socket[property] = .string(a.value)
                    used.insert(a.uuid)
                }
            case "state" where a.value == "listening" || a.value == "blocking":
                if a.toIDs { out.comparisons.append("\(ext).is_\(a.value) = true") }
                if known {
                    socket["is_\(a.value)"] = .bool(true)
                    used.insert(a.uuid)
                }
            default:
                continue
            }
        }
        if known { traffic["extensions"] = .object(JSONObject(["socket-ext": .object(socket)])) }
        for a in attributes where !used.contains(a.uuid) {
            // Custom properties; those the pattern already names by the extension's path are not compared again.
            if ["address-family", "socket-type"].contains(a.relation) || (a.relation == "state" && ["listening", "blocking"].contains(a.value)) {
                var named = Observable()
                custom(a, on: &traffic, path: "network-traffic", &named)
            } else {
                custom(a, on: &traffic, path: "network-traffic", &out)
            }
        }
        guard !ends.isEmpty else { return nil }
        out.objects = [traffic] + ends
        return out
    }

    /// A `process` object: its pid (a number when written as one), command line and directory, its parent's pid (a
    /// process of its own) and its image (a file), each named by its attribute's uuid, and other relations as custom
    /// properties (misp-stix's `x_misp_name` for its name). One that names more of its parent, a child, a creation
    /// time or whether it is hidden is kept whole as `x-misp-object`.
    private static func process(_ uuid: String, _ attributes: [ObjectAttribute]) -> Observable? {
        let kept: Set<String> = ["parent-command-line", "parent-image", "parent-process-name", "parent-guid", "child-pid", "creation-time",
                                 "hidden"]
        guard !attributes.contains(where: { kept.contains($0.relation) }) else { return nil }
        let counts = relationCounts(attributes)
        func canonical(_ a: ObjectAttribute) -> Int64? { canonicalInteger(a.value).flatMap { $0 >= 0 ? $0 : nil } }
        var out = Observable()
        var o = sco("process", uuid)
        var parent: JSONObject?
        if let p = attributes.first(where: { $0.relation == "parent-pid" }) {
            guard counts["parent-pid"] == 1, let pid = canonical(p) else { return nil }
            parent = sco("process", p.uuid, ["pid": .number(JSONNumber(pid))])
            o["parent_ref"] = parent!["id"]
            if p.toIDs { out.comparisons.append(compare("process:parent_ref.pid", p.value)) }
        }
        var image: JSONObject?
        if let i = attributes.first(where: { $0.relation == "image" }) {
            guard counts["image"] == 1 else { return nil }
            image = sco("file", i.uuid, ["name": .string(i.value)])
            o["image_ref"] = image!["id"]
            if i.toIDs { out.comparisons.append(compare("process:image_ref.name", i.value)) }
        }
        var rest: [ObjectAttribute] = []
        for a in attributes where a.relation != "parent-pid" && a.relation != "image" {
            switch a.relation {
            case "pid" where counts["pid"] == 1 && canonical(a) != nil:
                o["pid"] = .number(JSONNumber(canonical(a)!))
                if a.toIDs { out.comparisons.append(compare("process:pid", a.value)) }
            case "command-line" where counts[a.relation] == 1, "current-directory" where counts[a.relation] == 1:
                let property = a.relation == "command-line" ? "command_line" : "cwd"
                o[property] = .string(a.value)
                if a.toIDs { out.comparisons.append(compare("process:" + property, a.value)) }
            default:
                rest.append(a)
            }
        }
        for a in rest { custom(a, on: &o, path: "process", &out) }
        guard o.members.count > 3 else { return nil }
        out.objects = [o] + (parent.map { [$0] } ?? []) + (image.map { [$0] } ?? [])
        return out
    }

    /// Accounts on social networks and code forges, as misp-stix maps them: a `user-account` of `account_type` (the
    /// template's first word), the relations below as its properties.
    static let accounts: [String: (type: String, properties: [String: String])] = [
        "twitter-account": ("twitter", ["name": "account_login", "id": "user_id", "displayed-name": "display_name"]),
        "telegram-account": ("telegram", ["username": "account_login", "id": "user_id"]),
        "facebook-account": ("facebook", ["account-name": "account_login", "account-id": "user_id"]),
        "reddit-account": ("reddit", ["account-name": "account_login", "account-id": "user_id"]),
        "parler-account": ("parler", ["account-name": "account_login", "account-id": "user_id"]),
        "github-user": ("github", ["username": "account_login", "id": "user_id", "user-fullname": "display_name"]),
        "gitlab-user": ("gitlab", ["username": "account_login", "id": "user_id", "name": "display_name"]),
    ]

    /// Relations misp-stix carries with the file's content (a picture, an attachment) when the attribute holds it: an
    /// account holding such content is kept whole as `x-misp-object`; without content the name is a custom property.
    static let accountContent: Set<String> = [
        "attachment", "user-avatar", "profile-image", "profile-banner", "cover-photo", "profile-photo", "account-avatar",
    ]

    private static func account(_ template: String, _ uuid: String, _ attributes: [ObjectAttribute]) -> Observable? {
        guard let (accountType, properties) = accounts[template], !attributes.isEmpty,
            !attributes.contains(where: { accountContent.contains($0.relation) && $0.source["data"] != nil })
        else { return nil }
        var out = Observable()
        var o = sco("user-account", uuid, ["account_type": .string(accountType)])
        // An indicator's pattern names the kind of account first, as misp-stix's does.
        if attributes.contains(where: \.toIDs) { out.comparisons.append(compare("user-account:account_type", accountType)) }
        // A relation given more than once becomes a custom property holding every value.
        let counts = relationCounts(attributes)
        var rest: [ObjectAttribute] = []
        for a in attributes {
            guard let property = properties[a.relation], counts[a.relation] == 1 else { rest.append(a); continue }
            o[property] = .string(a.value)
            if a.toIDs { out.comparisons.append(compare("user-account:\(property)", a.value)) }
        }
        for a in rest { custom(a, on: &o, path: "user-account", &out) }
        out.objects = [o]
        return out
    }

    /// Checks an object attribute's value, naming the attribute when it does not fit.
    private static func checked<T>(_ a: ObjectAttribute, _ body: () throws(ValueRule) -> T) throws(ValueRule) -> T {
        do {
            return try body()
        } catch {
            throw ValueRule(text: "'\(a.type)' value '\(a.value)' \(error.text)", attribute: a.record)
        }
    }

    /// Adds a relation STIX has no property for as a custom one (a list when it repeats).
    private static func custom(_ a: ObjectAttribute, on o: inout JSONObject, path type: String, _ observable: inout Observable) {
        let key = customProperty(a.relation)
        switch o[key] {
        case nil: o[key] = .string(a.value)
        case .string(let first)?: o[key] = .array([.string(first), .string(a.value)])
        case .array(let values)?: o[key] = .array(values + [.string(a.value)])
        default: break
        }
        if a.toIDs { observable.comparisons.append(compare("\(type):\(key)", a.value)) }
    }

    private static func file(_ uuid: String, _ attributes: [ObjectAttribute]) throws(ValueRule) -> Observable {
        var out = Observable()
        var file = sco("file", uuid)
        var hashes = JSONObject()
        var directory: JSONObject?
        var rest: [ObjectAttribute] = []
        for a in attributes {
            if Self.hashes[a.relation] != nil, Self.hashes[a.type] != nil {
                let (name, path) = try checked(a) { () throws(ValueRule) in try hash(a.type, a.value) }
                hashes[name] = .string(a.value)
                if a.toIDs { out.comparisons.append(compare(path, a.value)) }
                continue
            }
            switch a.relation {
            case "filename":
                if file["name"] == nil {
                    file["name"] = .string(a.value)
                    if a.toIDs { out.comparisons.append(compare("file:name", a.value)) }
                } else {
                    rest.append(a)
                }
            case "size-in-bytes":
                let size = try checked(a) { () throws(ValueRule) -> Int64 in
                    guard let n = Int64(a.value), n >= 0 else { throw ValueRule(text: "is not a size in bytes") }
                    return n
                }
                file["size"] = .number(JSONNumber(size))
                if a.toIDs { out.comparisons.append(compare("file:size", a.value)) }
            case "path" where directory == nil:
                directory = sco("directory", a.uuid, ["path": .string(a.value)])
                if a.toIDs { out.comparisons.append(compare("file:parent_directory_ref.path", a.value)) }
            case "mimetype", "mime-type":
                file["mime_type"] = .string(a.value)
                if a.toIDs { out.comparisons.append(compare("file:mime_type", a.value)) }
            default:
                rest.append(a)
            }
        }
        // STIX orders nothing here; misp-stix writes hashes, size, name, then the directory.
        var ordered = sco("file", uuid)
        if !hashes.isEmpty { ordered["hashes"] = .object(hashes) }
        if let size = file["size"] { ordered["size"] = size }
        if let name = file["name"] { ordered["name"] = name }
        if let mime = file["mime_type"] { ordered["mime_type"] = mime }
        if let directory { ordered["parent_directory_ref"] = directory["id"] }
        for a in rest { custom(a, on: &ordered, path: "file", &out) }
        out.objects = [ordered] + (directory.map { [$0] } ?? [])
        return out
    }

    private static func domainIP(_ uuid: String, _ attributes: [ObjectAttribute]) throws(ValueRule) -> Observable? {
        guard let domainAttribute = attributes.first(where: { $0.relation == "domain" }) else { return nil }
        try checked(domainAttribute) { () throws(ValueRule) in try domain(domainAttribute.value) }
        var out = Observable()
        var domainName = sco("domain-name", domainAttribute.uuid, ["value": .string(domainAttribute.value)])
        if domainAttribute.toIDs { out.comparisons.append(compare("domain-name:value", domainAttribute.value)) }
        var addresses: [JSONObject] = []
        for a in attributes where a.uuid != domainAttribute.uuid {
            if a.relation == "ip" || a.relation == "ip-dst" || a.relation == "ip-src" {
                let ipType = try checked(a) { () throws(ValueRule) in try addressType(a.value) }
                addresses.append(sco(ipType, a.uuid, ["value": .string(a.value)]))
                if a.toIDs { out.comparisons.append(compare("domain-name:resolves_to_refs[*].value", a.value)) }
            } else {
                custom(a, on: &domainName, path: "domain-name", &out)
            }
        }
        if !addresses.isEmpty {
            // After the value, where misp-stix writes it.
            var ordered = JSONObject()
            for m in domainName.members {
                ordered[m.key] = m.value
                if m.key == "value" { ordered["resolves_to_refs"] = .array(addresses.map { $0["id"]! }) }
            }
            domainName = ordered
        }
        out.objects = addresses + [domainName]
        return out
    }

    private static func url(_ uuid: String, _ attributes: [ObjectAttribute]) throws(ValueRule) -> Observable? {
        guard let urlAttribute = attributes.first(where: { $0.relation == "url" }) else { return nil }
        var out = Observable()
        var url = sco("url", uuid, ["value": .string(urlAttribute.value)])
        if urlAttribute.toIDs { out.comparisons.append(compare("url:value", urlAttribute.value)) }
        for a in attributes where a.uuid != urlAttribute.uuid { custom(a, on: &url, path: "url", &out) }
        out.objects = [url]
        return out
    }

    /// ip-port and network-connection: one network-traffic between the addresses it names.
    private static func traffic(_ template: String, _ uuid: String, _ attributes: [ObjectAttribute]) throws(ValueRule) -> Observable? {
        var out = Observable()
        var traffic = sco("network-traffic", uuid)
        var addresses: [JSONObject] = []
        var protocols: [JSONValue] = []
        var rest: [ObjectAttribute] = []
        var firstType: String?
        for a in attributes {
            switch a.relation {
            case "ip", "ip-dst", "ip-src":
                let side = a.relation == "ip-src" ? "src" : "dst"
                guard traffic["\(side)_ref"] == nil else { rest.append(a); continue }
                let ipType = try checked(a) { () throws(ValueRule) in try addressType(a.value) }
                firstType = firstType ?? ipType
                traffic["\(side)_ref"] = .string("\(ipType)--\(a.uuid)")
                addresses.append(sco(ipType, a.uuid, ["value": .string(a.value)]))
                if a.toIDs {
                    out.comparisons += [compare("network-traffic:\(side)_ref.type", ipType), compare("network-traffic:\(side)_ref.value", a.value)]
                }
            case "dst-port", "src-port":
                let side = a.relation == "src-port" ? "src" : "dst"
                let port = try checked(a) { () throws(ValueRule) in try Self.port(a.value) }
                traffic["\(side)_port"] = .number(JSONNumber(port))
                if a.toIDs { out.comparisons.append(compare("network-traffic:\(side)_port", String(port))) }
            case "layer3-protocol", "layer4-protocol", "layer7-protocol":
                protocols.append(.string(a.value.lowercased()))
                if a.toIDs { out.comparisons.append(compare("network-traffic:protocols[*]", a.value.lowercased())) }
            default:
                rest.append(a)
            }
        }
        guard !addresses.isEmpty else { return nil }
        if protocols.isEmpty { protocols = [.string(template == "ip-port" ? (firstType == "ipv6-addr" ? "ipv6" : "ipv4") : "tcp")] }
        traffic["protocols"] = .array(protocols)
        for a in rest { custom(a, on: &traffic, path: "network-traffic", &out) }
        out.objects = [traffic] + addresses
        return out
    }

    private static func emailMessage(_ uuid: String, _ attributes: [ObjectAttribute]) throws(ValueRule) -> Observable {
        var out = Observable()
        var message = sco("email-message", uuid, ["is_multipart": .bool(false)])
        var addresses: [JSONObject] = []
        var lists: [String: [JSONValue]] = [:]
        var rest: [ObjectAttribute] = []
        for a in attributes {
            switch a.relation {
            case "from" where message["from_ref"] == nil, "to", "cc", "bcc":
                try checked(a) { () throws(ValueRule) in try email(a.value) }
                let id = "email-addr--\(a.uuid)"
                addresses.append(sco("email-addr", a.uuid, ["value": .string(a.value)]))
                if a.relation == "from" {
                    message["from_ref"] = .string(id)
                    if a.toIDs { out.comparisons.append(compare("email-message:from_ref.value", a.value)) }
                } else {
                    lists["\(a.relation)_refs", default: []].append(.string(id))
                    if a.toIDs { out.comparisons.append(compare("email-message:\(a.relation)_refs[*].value", a.value)) }
                }
            case "subject" where message["subject"] == nil:
                message["subject"] = .string(a.value)
                if a.toIDs { out.comparisons.append(compare("email-message:subject", a.value)) }
            case "message-id" where message["message_id"] == nil:
                message["message_id"] = .string(a.value)
                if a.toIDs { out.comparisons.append(compare("email-message:message_id", a.value)) }
            default:
                rest.append(a)
            }
        }
        // misp-stix's order: from, to, cc, bcc, message_id, subject.
        var ordered = sco("email-message", uuid, ["is_multipart": .bool(false)])
        if let from = message["from_ref"] { ordered["from_ref"] = from }
        for key in ["to_refs", "cc_refs", "bcc_refs"] { if let refs = lists[key] { ordered[key] = .array(refs) } }
        if let id = message["message_id"] { ordered["message_id"] = id }
        if let subject = message["subject"] { ordered["subject"] = subject }
        for a in rest { custom(a, on: &ordered, path: "email-message", &out) }
        out.objects = [ordered] + addresses
        return out
    }

    /// An object of one observable whose relations are its string properties (`properties`: relation to property);
    /// nil without the `required` relation.
    private static func stringProperties(_ type: String, _ required: String, _ uuid: String, _ attributes: [ObjectAttribute],
                               _ properties: [String: String]) -> Observable? {
        guard attributes.contains(where: { $0.relation == required }) else { return nil }
        var out = Observable()
        var o = sco(type, uuid)
        var rest: [ObjectAttribute] = []
        for a in attributes {
            guard let property = properties[a.relation], o[property] == nil else { rest.append(a); continue }
            o[property] = .string(a.value)
            if a.toIDs { out.comparisons.append(compare("\(type):\(property)", a.value)) }
        }
        for a in rest { custom(a, on: &o, path: type, &out) }
        out.objects = [o]
        return out
    }

    private static func asn(_ uuid: String, _ attributes: [ObjectAttribute]) throws(ValueRule) -> Observable? {
        guard let number = attributes.first(where: { $0.relation == "asn" }) else { return nil }
        var out = Observable()
        var digits = Substring(number.value)
        if digits.lowercased().hasPrefix("as") { digits = digits.dropFirst(2) }
        guard let n = Int64(digits), (0...4_294_967_295).contains(n) else {
            throw ValueRule(text: "'AS' value '\(number.value)' is not an autonomous system number", attribute: number.record)
        }
        var o = sco("autonomous-system", uuid, ["number": .number(JSONNumber(n))])
        if number.toIDs { out.comparisons.append(compare("autonomous-system:number", String(n))) }
        var rest: [ObjectAttribute] = []
        for a in attributes where a.uuid != number.uuid {
            guard a.relation == "description", o["name"] == nil else { rest.append(a); continue }
            o["name"] = .string(a.value)
            if a.toIDs { out.comparisons.append(compare("autonomous-system:name", a.value)) }
        }
        for a in rest { custom(a, on: &o, path: "autonomous-system", &out) }
        out.objects = [o]
        return out
    }

    private static func registryKey(_ uuid: String, _ attributes: [ObjectAttribute]) -> Observable? {
        guard let keyAttribute = attributes.first(where: { $0.relation == "key" }) else { return nil }
        var out = Observable()
        let key = fullHive(keyAttribute.value)
        var o = sco("windows-registry-key", uuid, ["key": .string(key)])
        if keyAttribute.toIDs { out.comparisons.append(compare("windows-registry-key:key", key)) }
        var value = JSONObject()
        var rest: [ObjectAttribute] = []
        for a in attributes where a.uuid != keyAttribute.uuid {
            let property = ["name": "name", "data": "data", "data-type": "data_type"][a.relation]
            guard let property, value[property] == nil else { rest.append(a); continue }
            value[property] = .string(a.value)
            if a.toIDs { out.comparisons.append(compare("windows-registry-key:values[*].\(property)", a.value)) }
        }
        if !value.isEmpty {
            // misp-stix's order: name, data, data_type.
            var ordered = JSONObject()
            for k in ["name", "data", "data_type"] { if let v = value[k] { ordered[k] = v } }
            o["values"] = .array([.object(ordered)])
        }
        for a in rest { custom(a, on: &o, path: "windows-registry-key", &out) }
        out.objects = [o]
        return out
    }

    private static func credential(_ uuid: String, _ attributes: [ObjectAttribute]) throws(ValueRule) -> Observable {
        var out = Observable()
        var account = sco("user-account", uuid)
        var rest: [ObjectAttribute] = []
        for a in attributes {
            switch a.relation {
            case "username" where account["user_id"] == nil:
                account["user_id"] = .string(a.value)
                if a.toIDs { out.comparisons.append(compare("user-account:user_id", a.value)) }
            case "password" where account["credential"] == nil:
                account["credential"] = .string(a.value)
                if a.toIDs { out.comparisons.append(compare("user-account:credential", a.value)) }
            default:
                rest.append(a)
            }
        }
        for a in rest.sorted(by: { $0.relation < $1.relation }) { custom(a, on: &account, path: "user-account", &out) }
        out.objects = [account]
        return out
    }
}

/// `{key: value}`.
func single(_ key: String, _ value: String) -> JSONValue {
    var o = JSONObject()
    o[key] = .string(value)
    return .object(o)
}
