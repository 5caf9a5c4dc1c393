import Foundation
import STIX
import STIXPattern

/// STIX 2.1 objects to MISP events, for a MISP feed of a collection: each report or grouping becomes an event, and
/// the indicators, observables and threat objects no report groups become one event per submitter and day.
///
/// The mapping is ``MISPToSTIX``'s read backwards, and each attribute is checked by converting it forwards again: an
/// indicator becomes a typed attribute (`ip-dst`, `domain`, `sha256`…) only when that attribute converts back to the
/// same pattern, so that misp-stix, and MISP, give back the indicator the node holds. Another pattern becomes a
/// `stix2-pattern` attribute holding it verbatim. Attack patterns, threat actors, intrusion sets, malware, tools and
/// courses of action become galaxy clusters; sightings of an attribute, its sightings; TLP markings, `tlp:` tags.
public struct STIXToMISP: Sendable {
    /// An object as the reader may see it, with who submitted it and when it was added.
    public struct Item: Sendable {
        public let object: JSONObject
        public let submitter: String
        /// Microseconds since 1970.
        public let dateAdded: Int64

        public init(object: JSONObject, submitter: String, dateAdded: Int64) {
            self.object = object
            self.submitter = submitter
            self.dateAdded = dateAdded
        }
    }

    /// The namespace of the uuids Meridian makes for events that group standalone objects and for organisations.
    public static let namespace = "6d657269-6469-5e61-8e6d-697370000000"

    /// The MISP organisation standing for an org of the partnership: its name, and a uuid made from its id.
    public let organisationName: @Sendable (String) -> String

    public init(organisationName: @escaping @Sendable (String) -> String) {
        self.organisationName = organisationName
    }

    /// Every event (`{"Event": {...}}`), in uuid order.
    public func events(_ items: [Item]) -> [JSONObject] {
        var byID: [String: Item] = [:]
        for item in items {
            if let id = item.object["id"]?.stringValue { byID[id] = item }
        }
        var grouped: Set<String> = []
        var events: [JSONObject] = []
        for item in items where ["report", "grouping"].contains(item.object["type"]?.stringValue ?? "") {
            let refs = (item.object["object_refs"]?.arrayValue ?? []).compactMap(\.stringValue)
            let members = refs.compactMap { byID[$0] }
            grouped.formUnion(refs)
            if let event = event(for: item, members: members, byID: byID) { events.append(event) }
        }
        // Standalone objects: one event per submitter and day of adding.
        var standalone: [String: [Item]] = [:]
        for item in items where !grouped.contains(item.object["id"]?.stringValue ?? "") && Self.carried(item.object) {
            let day = MISPValue.stamp(item.dateAdded / 1_000_000, millis: false).prefix(10)
            standalone["\(item.submitter)|\(day)", default: []].append(item)
        }
        for (key, members) in standalone {
            let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
            let uuid = Identifier.uuidV5(namespace: Self.namespace, name: "event|" + key)
            let latest = members.map { Self.seconds($0.object["modified"]) ?? $0.dateAdded / 1_000_000 }.max() ?? 0
            var e = JSONObject()
            e["uuid"] = .string(uuid)
            e["info"] = .string("Shared by \(organisationName(parts[0])) on \(parts[1])")
            e["date"] = .string(parts[1])
            e["timestamp"] = .string(String(latest))
            e["published"] = .bool(false)
            e["analysis"] = .string("2")
            e["threat_level_id"] = .string("4")
            e["distribution"] = .string("1")
            e["Orgc"] = organisation(parts[0])
            if let filled = fill(e, members: members, byID: byID) { events.append(filled) }
        }
        return events.sorted { ($0["Event"]?["uuid"]?.stringValue ?? "") < ($1["Event"]?["uuid"]?.stringValue ?? "") }
    }

    /// Whether an object has a place in a MISP event of its own.
    static func carried(_ o: JSONObject) -> Bool {
        ["indicator", "observed-data", "attack-pattern", "threat-actor", "intrusion-set", "malware", "tool", "course-of-action"]
            .contains(o["type"]?.stringValue ?? "")
    }

    private func organisation(_ org: String) -> JSONValue {
        .object(JSONObject(["name": .string(organisationName(org)),
                            "uuid": .string(Identifier.uuidV5(namespace: Self.namespace, name: "org|" + org))]))
    }

    private func event(for container: Item, members: [Item], byID: [String: Item]) -> JSONObject? {
        let o = container.object
        guard let id = o["id"]?.stringValue, let uuid = id.split(separator: "--").last.map(String.init) else { return nil }
        var e = JSONObject()
        e["uuid"] = .string(uuid)
        e["info"] = .string(o["name"]?.stringValue ?? "STIX \(o["type"]?.stringValue ?? "report") \(uuid)")
        let created = Self.seconds(o["created"]) ?? container.dateAdded / 1_000_000
        e["date"] = .string(String(MISPValue.stamp(created, millis: false).prefix(10)))
        e["timestamp"] = .string(String(Self.seconds(o["modified"]) ?? created))
        let published = o["type"]?.stringValue == "report"
        e["published"] = .bool(published)
        if published { e["publish_timestamp"] = .string(String(Self.seconds(o["published"]) ?? created)) }
        e["analysis"] = .string("2")
        e["threat_level_id"] = .string("4")
        e["distribution"] = .string("1")
        if let creator = o["created_by_ref"]?.stringValue, let identity = byID[creator]?.object, let name = identity["name"]?.stringValue {
            e["Orgc"] = .object(JSONObject(["name": .string(name), "uuid": .string(String(creator.dropFirst("identity--".count)))]))
        } else {
            e["Orgc"] = organisation(container.submitter)
        }
        var tags = Self.tlpTags(o)
        tags += (o["labels"]?.arrayValue ?? []).compactMap(\.stringValue)
            .filter { !$0.hasPrefix("misp:") && $0 != "Threat-Report" }.map { .object(JSONObject(["name": .string($0)])) }
        if !tags.isEmpty { e["Tag"] = .array(tags) }
        return fill(e, members: members, byID: byID)
    }

    /// Adds the attributes and galaxies of `members` to the event `e`; nil when none of them has a MISP form.
    private func fill(_ e: JSONObject, members: [Item], byID: [String: Item]) -> JSONObject? {
        var e = e
        var attributes: [JSONObject] = []
        var attributeFor: [String: Int] = [:]  // STIX id → index in `attributes`
        var galaxies: [String: (type: String, name: String, clusters: [JSONValue])] = [:]
        var eventTags = e["Tag"]?.arrayValue ?? []
        var objects: [JSONValue] = []
        let indicatorUUIDs = Set(members.compactMap { m -> String? in
            m.object["type"]?.stringValue == "indicator" ? m.object["id"]?.stringValue.map { String($0.dropFirst("indicator--".count)) } : nil
        })
        /// The observables an observed-data refers to, as far as the reader holds them.
        func observed(_ o: JSONObject) -> [JSONObject] {
            (o["object_refs"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap { byID[$0]?.object } }
        }
        for m in members.sorted(by: { $0.dateAdded < $1.dateAdded }) {
            let o = m.object
            guard let id = o["id"]?.stringValue, let type = o["type"]?.stringValue else { continue }
            let uuid = String(id.dropFirst(type.count + 2))
            switch type {
            case "indicator":
                guard let pattern = o["pattern"]?.stringValue, o["pattern_type"]?.stringValue ?? "stix" == "stix" else { continue }
                let typed = Self.attribute(forPattern: pattern, uuid: uuid)
                if typed == nil {
                    // An object with its observation (misp-stix's indicator and observed-data of one uuid) comes back
                    // with every attribute; from the pattern alone, with those it compares.
                    let observables = byID["observed-data--" + uuid].map { observed($0.object) } ?? []
                    if let object = Self.object(forPattern: pattern, observables: observables, uuid: uuid, o)
                        ?? Self.object(forPattern: pattern, uuid: uuid, o)
                    {
                        objects.append(.object(object))
                        continue
                    }
                }
                var a = attribute(uuid: uuid, type: typed?.type ?? "stix2-pattern", value: typed?.value ?? pattern, toIDs: true, o)
                if let description = o["description"]?.stringValue ?? o["name"]?.stringValue { a["comment"] = .string(description) }
                attributeFor[id] = attributes.count
                attributeFor["observed-data--" + uuid] = attributes.count
                attributes.append(a)
            case "observed-data":
                // misp-stix makes an attribute flagged to_ids into an indicator and an observed-data of one uuid.
                guard !indicatorUUIDs.contains(uuid) else { continue }
                let observables = observed(o)
                if let typed = Self.attribute(forObservables: observables, uuid: uuid) {
                    attributeFor[id] = attributes.count
                    attributes.append(attribute(uuid: uuid, type: typed.type, value: typed.value, toIDs: false, o))
                } else if let object = Self.object(forObservables: observables, uuid: uuid, o) {
                    objects.append(.object(object))
                }
            case "attack-pattern", "threat-actor", "intrusion-set", "malware", "tool", "course-of-action":
                let (galaxyType, galaxyName) = Self.galaxy(for: type, o)
                let cluster = Self.cluster(o, uuid: uuid, galaxyType: galaxyType)
                galaxies[galaxyType, default: (galaxyType, galaxyName, [])].clusters.append(.object(cluster))
                if let tag = cluster["tag_name"] { eventTags.append(.object(JSONObject(["name": tag]))) }
            default:
                continue
            }
        }
        // Sightings of what became an attribute.
        for m in members where m.object["type"]?.stringValue == "sighting" {
            let o = m.object
            guard let of = o["sighting_of_ref"]?.stringValue, let index = attributeFor[of], let id = o["id"]?.stringValue else { continue }
            var s = JSONObject(["uuid": .string(String(id.dropFirst("sighting--".count))), "type": .string("0")])
            s["date_sighting"] = .string(String(Self.seconds(o["created"]) ?? m.dateAdded / 1_000_000))
            if let source = o["description"]?.stringValue { s["source"] = .string(source) }
            if let whereRef = o["where_sighted_refs"]?.arrayValue?.first?.stringValue, let name = byID[whereRef]?.object["name"]?.stringValue {
                s["Organisation"] = .object(JSONObject(["name": .string(name), "uuid": .string(String(whereRef.dropFirst("identity--".count)))]))
            }
            attributes[index]["Sighting"] = .array((attributes[index]["Sighting"]?.arrayValue ?? []) + [.object(s)])
        }
        guard !attributes.isEmpty || !objects.isEmpty || !galaxies.isEmpty else { return nil }
        e["Attribute"] = .array(attributes.map { .object($0) })
        e["Object"] = .array(objects)
        e["Galaxy"] = .array(galaxies.keys.sorted().map { key in
            let g = galaxies[key]!
            return .object(JSONObject(["type": .string(g.type), "name": .string(g.name), "GalaxyCluster": .array(g.clusters)]))
        })
        if !eventTags.isEmpty { e["Tag"] = .array(eventTags) }
        return e.wrapped
    }

    private func attribute(uuid: String, type: String, value: String, toIDs: Bool, _ o: JSONObject) -> JSONObject {
        var a = JSONObject()
        a["uuid"] = .string(uuid)
        a["type"] = .string(type)
        a["category"] = .string(Self.category(for: type, o))
        a["value"] = .string(value)
        a["to_ids"] = .bool(toIDs)
        a["distribution"] = .string("5")
        a["timestamp"] = .string(String(Self.seconds(o["modified"]) ?? 0))
        let tags = Self.tlpTags(o)
        if !tags.isEmpty { a["Tag"] = .array(tags) }
        return a
    }

    // MARK: Reading STIX

    /// Seconds since 1970 of a STIX timestamp.
    static func seconds(_ v: JSONValue?) -> Int64? {
        v?.stringValue.flatMap(TAXIITimestamp.parse).map { $0 / 1_000_000 }
    }

    /// `tlp:` tags for the TLP markings of `o` (TLP 1.0 or 2.0 ids).
    static func tlpTags(_ o: JSONObject) -> [JSONValue] {
        let levels = (o["object_marking_refs"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(TLP.init(markingID:)) }
        guard let strictest = levels.max() else { return [] }
        return [.object(JSONObject(["name": .string("tlp:" + strictest.rawValue)]))]
    }

    /// The MISP category: the one misp-stix wrote as the kill chain phase when MISP allows it for the type, else the
    /// type's default.
    static func category(for type: String, _ o: JSONObject) -> String {
        let phase = (o["kill_chain_phases"]?.arrayValue ?? []).compactMap(\.objectValue)
            .first { $0["kill_chain_name"]?.stringValue == "misp-category" }?["phase_name"]?.stringValue
        if let phase, MISPTypes.categories[phase]?.contains(type) == true { return phase }
        return MISPTypes.defaultCategory[type] ?? "Other"
    }

    // MARK: Patterns and observables to attributes

    /// The typed attribute whose indicator has exactly `pattern` (misp-stix's forms), or nil.
    static func attribute(forPattern text: String, uuid: String) -> (type: String, value: String)? {
        guard let values = equalities(text) else { return nil }
        // MISPToSTIX makes a user-agent flagged to_ids into this one comparison (there is no observable for it).
        if values.count == 1, let agent = values["network-traffic:extensions.http-request-ext.request_header.User-Agent"],
            !agent.hasPrefix("\u{0}")
        {
            return ("user-agent", agent)
        }
        for candidate in candidates(values) {
            guard let forward = try? Observables.attribute(type: candidate.type, value: candidate.value, uuid: uuid),
                equalities("[" + forward.comparisons.joined(separator: " AND ") + "]") == values
            else { continue }
            return candidate
        }
        return nil
    }

    /// The MISP object (file, email, network-connection, domain-ip, url, credential) whose indicator has exactly
    /// `pattern`, its attributes all flagged to_ids; nil when none has.
    static func object(forPattern text: String, uuid: String, _ o: JSONObject) -> JSONObject? {
        guard let values = equalities(text), let prefix = values.keys.first.map({ String($0.prefix { $0 != ":" }) }),
            values.keys.allSatisfy({ $0.hasPrefix(prefix + ":") })
        else { return nil }
        // A process's parent and image are processes and files of their own, whose ids must be random uuids: made
        // again only from their observation, which names them.
        guard prefix != "process" || !values.keys.contains(where: { $0.contains("_ref") }) else { return nil }
        for template in templates[prefix] ?? [] {
            let object = object(template, prefix: prefix, values, uuid: uuid, o, flagged: { _ in true }) { forward in
                equalities("[" + forward.comparisons.joined(separator: " AND ") + "]") == values
            }
            if let object { return object }
        }
        return nil
    }

    /// The MISP object whose observed-data holds exactly `observables` and whose indicator has exactly `pattern`:
    /// every attribute of the object, those the pattern compares flagged to_ids; nil when none.
    static func object(forPattern text: String, observables: [JSONObject], uuid: String, _ o: JSONObject) -> JSONObject? {
        guard let compared = equalities(text), let (prefix, values, uuids) = observation(observables) else { return nil }
        for template in templates[prefix] ?? [] {
            let object = object(template, prefix: prefix, values, uuid: uuid, o, uuids: uuids, flagged: { compared[$0] == values[$0] }) { forward in
                equalities("[" + forward.comparisons.joined(separator: " AND ") + "]") == compared && same(forward.objects, observables)
            }
            if let object { return object }
        }
        return nil
    }

    /// The kind of the observable the others of `observables` hang from, and the comparisons an indicator of all of
    /// them would make.
    static func observation(_ observables: [JSONObject]) -> (prefix: String, values: [String: String], uuids: [String: String])? {
        // The observable the others hang from: a connection's addresses, a message's addresses, a file's directory.
        let order = ["network-traffic", "email-message", "process", "file", "domain-name", "user-account", "windows-registry-key",
                     "autonomous-system", "url", "mutex", "x509-certificate"]
        guard let main = order.lazy.compactMap({ type in observables.first { $0["type"]?.stringValue == type } }).first,
            let prefix = main["type"]?.stringValue, let values = comparisons(of: main, among: observables)
        else { return nil }
        // The uuids of the observables the main one refers to, by the path that compares them.
        var uuids: [String: String] = [:]
        for member in main.members where member.key.hasSuffix("_ref") || member.key.hasSuffix("_refs") {
            let refs = member.value.arrayValue?.compactMap(\.stringValue) ?? member.value.stringValue.map { [$0] } ?? []
            guard refs.count == 1, let id = Identifier(refs[0]) else { continue }
            for path in values.keys where path.hasPrefix(prefix + ":" + member.key + ".") || path.hasPrefix(prefix + ":" + member.key + "[*].") {
                uuids[path] = id.uuid
            }
        }
        return (prefix, values, uuids)
    }

    /// The MISP object templates an observation of each kind of cyber observable can come from.
    static let templates: [String: [String]] = [
        "file": ["file"], "email-message": ["email"], "network-traffic": ["network-connection", "ip-port"], "domain-name": ["domain-ip"],
        "url": ["url"], "user-account": ["credential", "user-account"] + Observables.accounts.keys.sorted(), "autonomous-system": ["asn"],
        "windows-registry-key": ["registry-key"], "mutex": ["mutex"], "x509-certificate": ["x509"], "process": ["process"],
    ]

    /// The MISP object (file, email, network-connection, domain-ip, and the other templates of ``templates``) whose
    /// observed-data holds exactly `observables` (misp-stix's forms), its attributes not flagged to_ids; nil when none.
    static func object(forObservables observables: [JSONObject], uuid: String, _ o: JSONObject) -> JSONObject? {
        guard let (prefix, values, uuids) = observation(observables) else { return nil }
        for template in templates[prefix] ?? [] {
            let object = object(template, prefix: prefix, values, uuid: uuid, o, uuids: uuids, flagged: { _ in false }) { same($0.objects, observables) }
            if let object { return object }
        }
        return nil
    }

    /// The comparisons an indicator of the observation `main` (with the observables it refers to among `observables`)
    /// would make, by path; nil when a property holds several values (an object attribute holds one).
    static func comparisons(of main: JSONObject, among observables: [JSONObject]) -> [String: String]? {
        guard let type = main["type"]?.stringValue else { return nil }
        let byID = Dictionary(observables.compactMap { o in o["id"]?.stringValue.map { ($0, o) } }, uniquingKeysWith: { a, _ in a })
        var values: [String: String] = [:]
        func text(_ v: JSONValue?) -> String? { v?.stringValue ?? v?.numberValue?.text }
        for member in main.members where !["type", "id", "spec_version", "object_marking_refs", "granular_markings", "defanged"].contains(member.key) {
            let path = type + ":" + member.key
            switch member.value {
            case .string(let ref) where member.key.hasSuffix("_ref"):
                guard let end = byID[ref] else { return nil }
                let property = ["directory": "path", "process": "pid", "file": "name"][end["type"]?.stringValue ?? ""] ?? "value"
                guard let value = text(end[property]) else { return nil }
                values[path + "." + property] = value
            case .array(let refs) where member.key.hasSuffix("_refs"):
                guard refs.count == 1, let ref = refs[0].stringValue, let value = text(byID[ref]?["value"]) else { return nil }
                values[path + "[*].value"] = value
            case .array(let items) where member.key == "protocols":
                guard items.count == 1, let value = items[0].stringValue else { return nil }
                values[path + "[*]"] = value
            case .array(let items) where member.key == "values":
                guard items.count == 1, let value = items[0].objectValue else { return nil }
                for m in value.members { values[path + "[*]." + m.key] = text(m.value) }
            case .object(let hashes) where member.key == "hashes":
                for m in hashes.members { values[path + "." + m.key] = text(m.value) }
            case .string, .number:
                values[path] = text(member.value)
            default:
                continue
            }
        }
        return values
    }

    /// The MISP object of `template` whose attributes (flagged to_ids or not) make exactly the comparisons
    /// `values`, as `matches` checks on the observables and pattern misp-stix would make of it; or nil.
    static func object(_ template: String, prefix: String, _ values: [String: String], uuid: String, _ o: JSONObject,
                       uuids: [String: String] = [:], flagged: (_ path: String) -> Bool, matches: (Observable) -> Bool) -> JSONObject? {
        let hashNames = Dictionary(uniqueKeysWithValues: Observables.hashes.map { ($0.value.name, $0.key) })
        var relations: [(relation: String, type: String, value: String, toIDs: Bool, uuid: String?)] = []
        for (path, value) in values.sorted(by: { $0.key < $1.key }) {
            let property = String(path.dropFirst(prefix.count + 1))
            let relation: (String, String)?
            switch (template, property) {
            case ("file", "name"): relation = ("filename", "filename")
            case ("file", "size"): relation = ("size-in-bytes", "size-in-bytes")
            case ("file", "parent_directory_ref.path"): relation = ("path", "text")
            case ("file", "mime_type"): relation = ("mimetype", "mime-type")
            case ("file", _) where property.hasPrefix("hashes."):
                relation = hashNames[String(property.dropFirst(7))].map { ($0, $0) }
            case ("email", "from_ref.value"): relation = ("from", "email-src")
            case ("email", "to_refs[*].value"): relation = ("to", "email-dst")
            case ("email", "cc_refs[*].value"): relation = ("cc", "email-dst")
            case ("email", "subject"): relation = ("subject", "email-subject")
            case ("email", "message_id"): relation = ("message-id", "email-message-id")
            case ("network-connection", "src_ref.value"), ("ip-port", "src_ref.value"): relation = ("ip-src", "ip-src")
            case ("network-connection", "dst_ref.value"): relation = ("ip-dst", "ip-dst")
            case ("ip-port", "dst_ref.value"): relation = ("ip", "ip-dst")
            case ("network-connection", "src_port"), ("ip-port", "src_port"): relation = ("src-port", "port")
            case ("network-connection", "dst_port"), ("ip-port", "dst_port"): relation = ("dst-port", "port")
            case ("network-connection", "protocols[*]"): relation = ("layer4-protocol", "text")
            case (_, "src_ref.type"), (_, "dst_ref.type"): continue  // made again with the address
            case ("domain-ip", "value"): relation = ("domain", "domain")
            case ("domain-ip", "resolves_to_refs[*].value"): relation = ("ip", "ip-dst")
            case ("url", "value"): relation = ("url", "url")
            case ("credential", "user_id"): relation = ("username", "text")
            case ("credential", "credential"): relation = ("password", "text")
            case ("user-account", "account_login"): relation = ("username", "text")
            case ("user-account", "user_id"): relation = ("user-id", "text")
            case ("user-account", "display_name"): relation = ("display-name", "text")
            case ("asn", "number"): relation = ("asn", "AS")
            case ("asn", "name"): relation = ("description", "text")
            case ("registry-key", "key"): relation = ("key", "regkey")
            case ("registry-key", "values[*].name"): relation = ("name", "text")
            case ("registry-key", "values[*].data"): relation = ("data", "text")
            case ("registry-key", "values[*].data_type"): relation = ("data-type", "text")
            case ("mutex", "name"): relation = ("name", "text")
            case ("process", "pid"): relation = ("pid", "text")
            case ("process", "command_line"): relation = ("command-line", "text")
            case ("process", "cwd"): relation = ("current-directory", "text")
            case ("process", "x_misp_name"): relation = ("name", "text")
            case ("process", "parent_ref.pid"): relation = ("parent-pid", "text")
            case ("process", "image_ref.name"): relation = ("image", "filename")
            case ("x509", "hashes.MD5"): relation = ("x509-fingerprint-md5", "x509-fingerprint-md5")
            case ("x509", "hashes.SHA-1"): relation = ("x509-fingerprint-sha1", "x509-fingerprint-sha1")
            case ("x509", "hashes.SHA-256"): relation = ("x509-fingerprint-sha256", "x509-fingerprint-sha256")
            case ("x509", "validity_not_before"): relation = ("validity-not-before", "datetime")
            case ("x509", "validity_not_after"): relation = ("validity-not-after", "datetime")
            case ("x509", "subject_public_key_exponent"): relation = ("pubkey-info-exponent", "text")
            case ("x509", _) where Observables.x509Properties.values.contains(property):
                relation = Observables.x509Properties.first { $0.value == property }.map { ($0.key, "text") }
            case (_, "account_type") where Observables.accounts[template]?.type == value: continue  // the template's own
            case (_, _) where Observables.accounts[template] != nil:
                relation = Observables.accounts[template]!.properties.first { $0.value == property }.map { ($0.key, "text") }
            default: relation = nil
            }
            guard let relation, !value.hasPrefix("\u{0}") else { return nil }
            relations.append((relation.0, relation.1, relation.1 == "AS" ? "AS" + value : value, flagged(path), uuids[path]))
        }
        let attributes = relations.map { r in
            // The uuid of the observable an attribute became when there is one (a parent process, an address), so that
            // it is made again under its own id; else one made from the object, relation and value.
            ObjectAttribute(uuid: r.uuid ?? Identifier.uuidV5(namespace: namespace, name: "attribute|\(uuid)|\(r.relation)|\(r.value)"),
                            type: r.type, relation: r.relation, value: r.value, toIDs: r.toIDs, record: "", source: JSONObject())
        }
        guard let forward = try? Observables.object(template: template, uuid: uuid, attributes), matches(forward) else { return nil }
        var object = JSONObject()
        object["uuid"] = .string(uuid)
        object["name"] = .string(template)
        object["meta-category"] = .string(["file": "file", "registry-key": "file", "credential": "misc", "mutex": "misc", "user-account": "misc"][template] ?? "network")
        object["distribution"] = .string("5")
        object["timestamp"] = .string(String(seconds(o["modified"]) ?? 0))
        if let description = o["description"]?.stringValue ?? o["name"]?.stringValue { object["comment"] = .string(description) }
        object["Attribute"] = .array(attributes.map { a in
            var c = JSONObject()
            c["uuid"] = .string(a.uuid)
            c["object_relation"] = .string(a.relation)
            c["type"] = .string(a.type)
            c["category"] = .string(MISPTypes.defaultCategory[a.type] ?? "Other")
            c["value"] = .string(a.value)
            c["to_ids"] = .bool(a.toIDs)
            c["distribution"] = .string("5")
            c["timestamp"] = object["timestamp"]
            let tags = tlpTags(o)
            if !tags.isEmpty { c["Tag"] = .array(tags) }
            return .object(c)
        })
        return object
    }

    /// A pattern of one observation whose comparisons are all `path = value` ANDed: its values by path.
    static func equalities(_ text: String) -> [String: String]? {
        guard let pattern = try? Pattern(text, checkingRules: false) else { return nil }
        var root = pattern.root
        while case .group(let inner) = root { root = inner }
        guard case .observation(let expression) = root else { return nil }
        var values: [String: String] = [:]
        func walk(_ e: ComparisonExpression) -> Bool {
            switch e {
            case .group(let inner): return walk(inner)
            case .and(let l, let r): return walk(l) && walk(r)
            case .or: return false
            case .comparison(let c):
                guard c.op == .equal, !c.negated, c.values.count == 1, values[c.path.description] == nil else { return false }
                switch c.values[0] {
                case .string(let s): values[c.path.description] = s
                // An integer literal is kept apart from a string of the same digits (`64500` is not `'64500'`).
                case .integer(let s): values[c.path.description] = "\u{0}" + s
                default: return false
                }
                return true
            }
        }
        return walk(expression) ? values : nil
    }

    /// Attributes that could make the comparisons `v`; each is checked by converting it forwards.
    static func candidates(_ v: [String: String]) -> [(type: String, value: String)] {
        var out: [(String, String)] = []
        let hashNames = Dictionary(uniqueKeysWithValues: Observables.hashes.map { ($0.value.name, $0.key) })
        for (path, value) in v {
            switch path {
            case "domain-name:value":
                if let ip = v["domain-name:resolves_to_refs[*].value"] { out.append(("domain|ip", value + "|" + ip)) }
                out.append(("domain", value))
            case "url:value": out.append(("url", value))
            case "email-addr:value": out.append(("email", value))
            case "email-message:from_ref.value": out.append(("email-src", value))
            case "email-message:to_refs[*].value": out.append(("email-dst", value))
            case "email-message:subject": out.append(("email-subject", value))
            case "mutex:name": out.append(("mutex", value))
            case "mac-addr:value": out.append(("mac-address", value))
            case "windows-registry-key:key": out.append(("regkey", value))
            case "autonomous-system:number" where !value.hasPrefix("\u{0}"): out.append(("AS", "AS" + value))
            case "file:name": out.append(("filename", value))
            case "network-traffic:dst_ref.value", "network-traffic:src_ref.value":
                let side = path.contains("dst") ? "dst" : "src"
                if let port = v["network-traffic:\(side)_port"] { out.append(("ip-\(side)|port", value + "|" + port)) }
                out.append(("ip-\(side)", value))
            case _ where path.hasPrefix("file:hashes."):
                guard let type = hashNames[String(path.dropFirst("file:hashes.".count))] else { continue }
                if let name = v["file:name"] { out.append(("filename|" + type, name + "|" + value)) }
                out.append((type, value))
            default:
                continue
            }
        }
        return out
    }

    /// The typed attribute whose observed-data holds exactly `observables` (misp-stix's forms), or nil.
    static func attribute(forObservables observables: [JSONObject], uuid: String) -> (type: String, value: String)? {
        guard !observables.isEmpty, observables.count <= 2 else { return nil }
        var comparisons: [String: String] = [:]
        // What an indicator of these observables would compare, to find the candidate types.
        for o in observables {
            switch o["type"]?.stringValue {
            case "domain-name": comparisons["domain-name:value"] = o["value"]?.stringValue
            case "url": comparisons["url:value"] = o["value"]?.stringValue
            case "email-addr" where observables.count == 1: comparisons["email-addr:value"] = o["value"]?.stringValue
            case "mutex": comparisons["mutex:name"] = o["name"]?.stringValue
            case "mac-addr": comparisons["mac-addr:value"] = o["value"]?.stringValue
            case "windows-registry-key": comparisons["windows-registry-key:key"] = o["key"]?.stringValue
            case "autonomous-system": comparisons["autonomous-system:number"] = o["number"]?.numberValue?.text
            case "file":
                comparisons["file:name"] = o["name"]?.stringValue
                for m in o["hashes"]?.objectValue ?? JSONObject() { comparisons["file:hashes." + m.key] = m.value.stringValue }
            case "network-traffic":
                for side in ["src", "dst"] where o["\(side)_ref"] != nil {
                    let address = observables.first { $0["id"] == o["\(side)_ref"] }?["value"]?.stringValue
                    comparisons["network-traffic:\(side)_ref.value"] = address
                    comparisons["network-traffic:\(side)_port"] = o["\(side)_port"]?.numberValue?.text
                }
            case "email-message":
                let address = observables.first { $0["type"]?.stringValue == "email-addr" }?["value"]?.stringValue
                if o["from_ref"] != nil { comparisons["email-message:from_ref.value"] = address }
                if o["to_refs"] != nil { comparisons["email-message:to_refs[*].value"] = address }
                comparisons["email-message:subject"] = o["subject"]?.stringValue
            default:
                continue
            }
        }
        for candidate in candidates(comparisons) {
            guard let forward = try? Observables.attribute(type: candidate.type, value: candidate.value, uuid: uuid),
                same(forward.objects, observables)
            else { continue }
            return candidate
        }
        return nil
    }

    /// Whether two sets of observables say the same, ids and markings aside (references compared by what they point to).
    static func same(_ a: [JSONObject], _ b: [JSONObject]) -> Bool {
        guard a.count == b.count else { return false }
        func content(_ list: [JSONObject]) -> [String] {
            let typeOf = Dictionary(list.compactMap { o in o["id"].map { ($0, o["type"] ?? .null) } }, uniquingKeysWith: { x, _ in x })
            return list.map { o in
                var c = JSONObject()
                for m in o.members where !["id", "spec_version", "object_marking_refs", "granular_markings", "defanged"].contains(m.key) {
                    switch m.value {
                    case .string(let s) where m.key.hasSuffix("_ref"): c[m.key] = typeOf[.string(s)] ?? .null
                    case .array(let refs) where m.key.hasSuffix("_refs"): c[m.key] = .array(refs.map { typeOf[$0] ?? .null })
                    default: c[m.key] = m.value
                    }
                }
                return JSONValue.object(c).serialized(sortedKeys: true)
            }.sorted()
        }
        return content(a) == content(b)
    }

    // MARK: Galaxies

    static func galaxy(for type: String, _ o: JSONObject) -> (type: String, name: String) {
        let mitre = (o["external_references"]?.arrayValue ?? []).contains { $0.objectValue?["source_name"]?.stringValue?.hasPrefix("mitre-") == true }
        switch type {
        case "attack-pattern": return mitre ? ("mitre-attack-pattern", "Attack Pattern") : ("attack-pattern", "Attack Pattern")
        case "threat-actor": return ("threat-actor", "Threat Actor")
        case "intrusion-set": return mitre ? ("mitre-intrusion-set", "Intrusion Set") : ("intrusion-set", "Intrusion Set")
        case "malware": return mitre ? ("mitre-malware", "Malware") : ("malware", "Malware")
        case "tool": return mitre ? ("mitre-tool", "Tool") : ("tool", "Tool")
        default: return mitre ? ("mitre-course-of-action", "Course of Action") : ("course-of-action", "Course of Action")
        }
    }

    static func cluster(_ o: JSONObject, uuid: String, galaxyType: String) -> JSONObject {
        let name = o["name"]?.stringValue ?? uuid
        let externalIDs = (o["external_references"]?.arrayValue ?? []).compactMap { $0.objectValue?["external_id"]?.stringValue }
        // ATT&CK clusters are named "Name - T1059".
        let value = galaxyType.hasPrefix("mitre-") && !externalIDs.isEmpty ? "\(name) - \(externalIDs[0])" : name
        var c = JSONObject()
        c["uuid"] = .string(uuid)
        c["type"] = .string(galaxyType)
        c["value"] = .string(value)
        c["tag_name"] = .string("misp-galaxy:\(galaxyType)=\"\(value)\"")
        if let description = o["description"]?.stringValue { c["description"] = .string(description) }
        var meta = JSONObject()
        if !externalIDs.isEmpty { meta["external_id"] = .array(externalIDs.map { .string($0) }) }
        if let aliases = o["aliases"]?.arrayValue, !aliases.isEmpty { meta["synonyms"] = .array(aliases) }
        let phases = (o["kill_chain_phases"]?.arrayValue ?? []).compactMap { p -> JSONValue? in
            guard let k = p.objectValue?["kill_chain_name"]?.stringValue, let n = p.objectValue?["phase_name"]?.stringValue else { return nil }
            return .string("\(k):\(n)")
        }
        if !phases.isEmpty { meta["kill_chain"] = .array(phases) }
        if !meta.isEmpty { c["meta"] = .object(meta) }
        return c
    }
}

extension JSONObject {
    /// `{"Event": self}`.
    var wrapped: JSONObject { JSONObject(["Event": .object(self)]) }
}
