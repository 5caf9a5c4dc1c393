import Foundation
import Policy
import STIX
import STIXPattern

/// MISP events to STIX 2.1, following MISP's own converter (misp-stix, `MISPtoSTIX21Parser`) so that both agree on
/// what each MISP construct means: the same object types, the same ids (the MISP uuids), the same patterns.
///
/// - An event becomes a `report` when published (else a `grouping`), created by an `identity` for its `Orgc`.
/// - An attribute becomes an `observed-data` with its cyber observables, and also an `indicator` with a STIX pattern
///   and a `based-on` relationship when its `to_ids` flag is set. Types STIX has no observable for become MISP's
///   custom `x-misp-attribute`, as misp-stix makes them; a type that is not MISP's is refused.
/// - MISP objects of the common templates (file, domain-ip, url, ip-port, network-connection, email, credential)
///   become observables the same way; other templates become `x-misp-object`.
/// - Galaxy clusters become attack patterns, threat actors, intrusion sets, malware and tools; `tlp:*` tags become
///   TLP 2.0 markings; sightings become sightings; object references become relationships.
///
/// Where Meridian differs (docs/MISP.md): its policy reads markings per object, so an event's TLP also marks every
/// object made from the event (misp-stix marks only the report); TLP markings are TLP 2.0's; other tags are labels.
/// Distribution "your organisation only" and sharing groups are refused, since the node could not honour them.
/// Nothing depends on the clock: converting an event again gives the same objects, so importing it again stores
/// nothing new.
public struct MISPToSTIX: @unchecked Sendable {
    // @unchecked: Options holds only values (a list of tuples of strings, which Swift does not infer as Sendable).
    /// The namespace misp-stix makes relationship ids in (UUIDv5 of "source - type - target").
    public static let relationshipNamespace = "76beed5f-7251-457e-8c2a-b45f7b589d3d"

    public struct Options: Sendable {
        /// Whether an event's TLP marks every object made from the event, not only its report.
        public var eventMarkingOnObjects = true
        /// STIX ids of objects the node already holds, by external id (an ATT&CK technique's `T1059`): a galaxy
        /// cluster naming one of them refers to it instead of making a copy.
        public var knownObjects: [String: String] = [:]
        /// The partnership's orgs (id and name), for MISP organisations named in sharing groups and in distribution
        /// "your organisation only": a MISP organisation is the org of the same name or id (case-insensitive).
        public var organisations: [(id: String, name: String)] = []
        /// What cannot be honoured exactly (a sharing group member that is no org of the partnership) is narrowed
        /// (left out) instead of refused.
        public var stricter = false
        public init() {}
    }

    public let options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    /// The STIX objects of every event and record in `document`, each id once.
    public func convert(_ document: JSONValue) throws(MISPError) -> [JSONObject] {
        var output = Output()
        for (i, unit) in try MISPDocument.units(in: document).enumerated() {
            try convert(unit, position: i, into: &output)
        }
        return output.objects
    }

    /// Adds the objects of `unit` to `output`.
    public func convert(_ unit: MISPDocument.Unit, position: Int, into output: inout Output) throws(MISPError) {
        output.add(try objects(of: unit, position: position))
    }

    /// The objects of `unit` (units convert independently of each other, so on several cores at once).
    public func objects(of unit: MISPDocument.Unit, position: Int) throws(MISPError) -> [JSONObject] {
        switch unit {
        case .event(let event):
            var builder = try EventBuilder(event: event, position: position, options: options)
            try builder.build()
            return builder.objects
        case .attributes(let attributes):
            var builder = EventBuilder(records: options)
            for (i, a) in attributes.enumerated() {
                guard let attribute = (a.objectValue?["Attribute"]?.objectValue ?? a.objectValue) else {
                    throw MISPError(event: nil, record: "attribute #\(i + 1)", "an attribute must be a JSON object")
                }
                try builder.identityFromFeed(attribute["Event"]?.objectValue)
                try builder.attribute(attribute, position: i)
            }
            try builder.finishRecords()
            return builder.objects
        case .objects(let objects):
            var builder = EventBuilder(records: options)
            for (i, o) in objects.enumerated() {
                guard let object = (o.objectValue?["Object"]?.objectValue ?? o.objectValue) else {
                    throw MISPError(event: nil, record: "object #\(i + 1)", "a MISP object must be a JSON object")
                }
                try builder.identityFromFeed(o.objectValue?["Event"]?.objectValue ?? object["Event"]?.objectValue)
                try builder.object(object, position: i)
            }
            try builder.finishRecords()
            return builder.objects
        }
    }

    /// Objects made so far, each id once (an organisation's identity is made by every event it created).
    public struct Output: Sendable {
        public private(set) var objects: [JSONObject] = []
        private var ids: Set<String> = []

        public init() {}

        public mutating func add(_ made: [JSONObject]) {
            for o in made {
                guard let id = o["id"]?.stringValue, ids.insert(id).inserted else { continue }
                objects.append(o)
            }
        }
    }
}

// MARK: - Building one event

/// The objects of one event (or of records without one) as they are made.
struct EventBuilder {
    let options: MISPToSTIX.Options
    let event: JSONObject
    /// How errors name the event: its uuid, or its position.
    let eventName: String?
    /// The event's time (seconds since 1970): created and modified of its report and identity.
    let eventTime: Int64
    var creator: String?
    var eventTLP: TLP?
    /// The orgs the event's distribution releases it to; nil when it is released to the collection's readers.
    var eventReleasability: [String]?

    private(set) var objects: [JSONObject] = []
    private var ids: Set<String> = []
    /// Most objects of an event share a few times: each is written once.
    private let stamps = Stamps()
    /// What the report lists, in order.
    private var refs: [String] = []
    private var relationships: [JSONObject] = []
    /// The STIX object standing for each attribute and object (by MISP uuid), for object references.
    private var standing: [String: String] = [:]
    private var references: [(source: String, reference: JSONObject, time: Int64, record: String)] = []

    init(event: JSONObject, position: Int, options: MISPToSTIX.Options) throws(MISPError) {
        self.options = options
        self.event = event
        let uuid = event["uuid"]?.stringValue
        eventName = uuid ?? "#\(position + 1)"
        guard let uuid, MISPValue.isUUID(uuid) else {
            throw MISPError(event: eventName, "the event's 'uuid' is missing or not a UUID")
        }
        if let time = try MISPValue.seconds(event["timestamp"], eventName, nil, "timestamp") {
            eventTime = time
        } else if let date = event["date"]?.stringValue, let day = MISPValue.day(date) {
            eventTime = day
        } else {
            throw MISPError(event: eventName, "the event has neither a 'timestamp' nor a 'date' (YYYY-MM-DD)")
        }
        eventTLP = try Self.tlp(in: event["Tag"], eventName, nil)
        eventReleasability = try Self.releasability(of: event, inherited: nil, owner: event, options, eventName, nil)
    }

    /// A builder for attributes or objects that no event holds (MISP's attribute and object collections).
    init(records options: MISPToSTIX.Options) {
        self.options = options
        event = JSONObject()
        eventName = nil
        eventTime = 0
    }

    var isEvent: Bool { eventName != nil }

    // MARK: Event

    mutating func build() throws(MISPError) {
        if let orgc = event["Orgc"]?.objectValue {
            creator = try identity(orgc, time: eventTime)
        }
        for (i, a) in (event["Attribute"]?.arrayValue ?? []).enumerated() {
            guard let attribute = a.objectValue else {
                throw MISPError(event: eventName, record: "attribute #\(i + 1)", "an attribute must be a JSON object")
            }
            try self.attribute(attribute, position: i)
        }
        for (i, o) in (event["Object"]?.arrayValue ?? []).enumerated() {
            guard let object = o.objectValue else {
                throw MISPError(event: eventName, record: "object #\(i + 1)", "a MISP object must be a JSON object")
            }
            try self.object(object, position: i)
        }
        try galaxies(event["Galaxy"], record: nil)
        resolveReferences()
        appendRelationships()
        try report()
    }

    mutating func finishRecords() throws(MISPError) {
        resolveReferences()
        appendRelationships()
    }

    /// The identity of the organisation a feed's attribute or object names as its event's creator.
    mutating func identityFromFeed(_ event: JSONObject?) throws(MISPError) {
        guard let orgc = event?["Orgc"]?.objectValue else { return }
        creator = try identity(orgc, time: try MISPValue.seconds(event?["timestamp"], nil, nil, "timestamp") ?? 0)
    }

    private mutating func report() throws(MISPError) {
        let uuid = event["uuid"]!.stringValue!
        let published = MISPValue.flag(event["published"]) ?? false
        var o = JSONObject()
        o["type"] = .string(published ? "report" : "grouping")
        o["spec_version"] = .string("2.1")
        o["id"] = .string((published ? "report--" : "grouping--") + uuid)
        if let creator { o["created_by_ref"] = .string(creator) }
        o["created"] = .string(stamps.text(eventTime, millis: true))
        o["modified"] = .string(stamps.text(eventTime, millis: true))
        o["name"] = .string(event["info"]?.stringValue ?? "MISP event \(uuid)")
        if published {
            let at = try MISPValue.seconds(event["publish_timestamp"], eventName, nil, "publish_timestamp") ?? eventTime
            o["published"] = .string(stamps.text(at, millis: false))
        } else {
            o["context"] = .string("suspicious-activity")
        }
        // A report lists at least one object (STIX 2.1 §4.13): an empty event lists its creator.
        let listed = refs.isEmpty ? (creator.map { [$0] } ?? []) : refs
        guard !listed.isEmpty else {
            throw MISPError(event: eventName, "the event has no attribute, object, galaxy or creator ('Orgc') to report")
        }
        o["object_refs"] = .array(listed.map { .string($0) })
        var labels: [JSONValue] = [.string("Threat-Report"), .string("misp:tool=\"MISP-STIX-Converter\"")]
        labels += Self.plainTags(event["Tag"]).map { .string($0) }
        o["labels"] = .array(labels)
        if let eventTLP { o["object_marking_refs"] = .array([.string(eventTLP.v2ID)]) }
        append(o, listed: false)
    }

    @discardableResult
    private mutating func identity(_ org: JSONObject, time: Int64) throws(MISPError) -> String? {
        guard let uuid = org["uuid"]?.stringValue, MISPValue.isUUID(uuid), let name = org["name"]?.stringValue else {
            throw MISPError(event: eventName, "an organisation ('Orgc', or a sighting's 'Organisation') needs a 'uuid' and a 'name'")
        }
        let id = "identity--" + uuid
        let o = JSONObject([
            "type": .string("identity"), "spec_version": .string("2.1"), "id": .string(id),
            "created": .string(stamps.text(time, millis: true)), "modified": .string(stamps.text(time, millis: true)),
            "name": .string(name), "identity_class": .string("organization"),
        ])
        append(o, listed: false)
        return id
    }

    /// Adds `o` once; `listed` objects go in the report's `object_refs`, and (with `eventMarkingOnObjects`) carry
    /// the event's TLP unless they have a marking of their own.
    private mutating func append(_ o: JSONObject, listed: Bool = true) {
        let id = o["id"]!.stringValue!
        guard ids.insert(id).inserted else { return }
        var o = o
        if listed, o["object_marking_refs"] == nil, options.eventMarkingOnObjects, let eventTLP {
            o["object_marking_refs"] = .array([.string(eventTLP.v2ID)])
        }
        // Whatever the event's distribution withholds, every object made from it withholds.
        if listed || o["type"]?.stringValue == "report" || o["type"]?.stringValue == "grouping", let eventReleasability {
            let definition = Self.releasabilityMarking(eventReleasability)
            let ref = definition["id"]!
            var refs = o["object_marking_refs"]?.arrayValue ?? []
            if !refs.contains(ref) { refs.append(ref) }
            o["object_marking_refs"] = .array(refs)
            objects.append(o)
            append(definition, listed: false)
        } else {
            objects.append(o)
        }
        if listed { refs.append(id) }
    }

    // MARK: Attributes

    mutating func attribute(_ a: JSONObject, position: Int) throws(MISPError) {
        let name = a["uuid"]?.stringValue.map { "attribute \($0)" } ?? "attribute #\(position + 1)"
        guard let uuid = a["uuid"]?.stringValue, MISPValue.isUUID(uuid) else {
            throw MISPError(event: eventName, record: name, "'uuid' is missing or not a UUID")
        }
        guard let type = a["type"]?.stringValue else { throw MISPError(event: eventName, record: name, "'type' is missing") }
        guard let toIDsDefault = MISPTypes.toIDsByDefault[type] else {
            throw MISPError(event: eventName, record: name, "'\(type)' is not a MISP attribute type")
        }
        guard let value = MISPValue.text(a["value"]), !value.isEmpty else {
            throw MISPError(event: eventName, record: name, "'value' is missing or empty")
        }
        let releasableTo = try Self.releasability(of: a, inherited: eventReleasability, owner: event, options, eventName, name)
        let toIDs = MISPValue.flag(a["to_ids"]) ?? toIDsDefault
        let time = try MISPValue.seconds(a["timestamp"], eventName, name, "timestamp") ?? eventTime
        let context = Record(
            uuid: uuid, labels: Self.labels(type: type, category: a["category"]?.stringValue) + Self.plainTags(a["Tag"]),
            markings: try markings(own: try Self.tlp(in: a["Tag"], eventName, name), releasableTo: releasableTo), time: time,
            observed: try MISPValue.observedWindow(a, time, eventName, name), comment: a["comment"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
            killChainPhase: a["category"]?.stringValue)
        let made: [String]
        do {
            made = try attributeObjects(type: type, value: value, toIDs: toIDs, context)
        } catch {
            throw MISPError(event: eventName, record: name, "'\(type)' value '\(value)' \(error.text)")
        }
        standing[uuid] = made.first
        try galaxies(a["Galaxy"], record: name)
        try sightings(a["Sighting"], of: made, markings: context.markings, record: name)
    }

    /// What an attribute or object shares with the objects made of it.
    struct Record {
        let uuid: String
        let labels: [String]
        let markings: [String]
        let time: Int64
        let observed: (first: Int64, last: Int64)
        let comment: String?
        let killChainPhase: String?
    }

    /// Makes the objects of one attribute; the first of the ids returned stands for it (object references,
    /// sightings).
    private mutating func attributeObjects(type: String, value: String, toIDs: Bool, _ r: Record) throws(ValueRule) -> [String] {
        if type == "vulnerability" {
            var o = sdo("vulnerability", r)
            o["name"] = .string(value)
            o["labels"] = Self.labelsValue(r.labels)
            o["external_references"] = .array([.object(JSONObject(["source_name": .string("cve"), "external_id": .string(value)]))])
            markings(&o, r)
            append(o)
            return [o["id"]!.stringValue!]
        }
        if type == "stix2-pattern" {
            // Meridian's own feeds carry patterns no typed attribute makes this way (misp-stix keeps them as
            // x-misp-attribute): the indicator comes back whole.
            guard (try? Pattern(value)) != nil else { throw ValueRule(text: "is not a valid STIX 2.1 pattern") }
            return [indicator([value], r)]
        }
        if type == "user-agent" && toIDs {
            let pattern = "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = '\(Observables.escape(value))'"
            return [indicator(["[\(pattern)]"], r)]
        }
        guard let observable = try Observables.attribute(type: type, value: value, uuid: r.uuid) else {
            return [custom(type: type, value: value, r)]
        }
        let observed = observedData(observable.objects, r)
        guard toIDs else { return [observed] }
        let indicatorID = indicator(observable.comparisons, r)
        basedOn(indicatorID, observed, time: r.time)
        return [indicatorID, observed]
    }

    /// `x-misp-attribute`: an attribute whose type STIX has no observable for, kept whole.
    private mutating func custom(type: String, value: String, _ r: Record) -> String {
        var o = sdo("x-misp-attribute", r)
        o["labels"] = Self.labelsValue(r.labels)
        o["x_misp_value"] = .string(value)
        o["x_misp_type"] = .string(type)
        if let category = r.killChainPhase { o["x_misp_category"] = .string(category) }
        if let comment = r.comment { o["x_misp_comment"] = .string(comment) }
        markings(&o, r)
        append(o)
        return o["id"]!.stringValue!
    }

    // MARK: Objects

    mutating func object(_ m: JSONObject, position: Int) throws(MISPError) {
        let name = m["uuid"]?.stringValue.map { "object \($0)" } ?? "object #\(position + 1)"
        guard let uuid = m["uuid"]?.stringValue, MISPValue.isUUID(uuid) else {
            throw MISPError(event: eventName, record: name, "'uuid' is missing or not a UUID")
        }
        guard let template = m["name"]?.stringValue, !template.isEmpty else {
            throw MISPError(event: eventName, record: name, "'name' (the object's template) is missing")
        }
        var releasableTo = try Self.releasability(of: m, inherited: eventReleasability, owner: event, options, eventName, name)
        var attributes: [ObjectAttribute] = []
        for (i, a) in (m["Attribute"]?.arrayValue ?? []).enumerated() {
            let attributeName = "\(name), attribute " + (a.objectValue?["uuid"]?.stringValue ?? "#\(i + 1)")
            guard let a = a.objectValue, let uuid = a["uuid"]?.stringValue, MISPValue.isUUID(uuid),
                let type = a["type"]?.stringValue, let relation = a["object_relation"]?.stringValue,
                let value = MISPValue.text(a["value"])
            else {
                throw MISPError(event: eventName, record: attributeName, "an object's attribute needs 'uuid', 'type', 'object_relation' and 'value'")
            }
            guard let toIDsDefault = MISPTypes.toIDsByDefault[type] else {
                throw MISPError(event: eventName, record: attributeName, "'\(type)' is not a MISP attribute type")
            }
            // The object is released to no more than each of its attributes is.
            if let own = try Self.releasability(of: a, inherited: releasableTo, owner: event, options, eventName, attributeName) {
                releasableTo = releasableTo.map { current in current.filter(own.contains) } ?? own
            }
            attributes.append(ObjectAttribute(uuid: uuid, type: type, relation: relation, value: value,
                                              toIDs: MISPValue.flag(a["to_ids"]) ?? toIDsDefault, record: attributeName, source: a))
        }
        let meta = m["meta-category"]?.stringValue ?? ""
        let time = try MISPValue.seconds(m["timestamp"], eventName, name, "timestamp") ?? eventTime
        var tags = m["Tag"]?.arrayValue ?? []
        for a in attributes { tags += a.source["Tag"]?.arrayValue ?? [] }
        let r = Record(
            uuid: uuid, labels: ["misp:name=\"\(template.replacingOccurrences(of: "|", with: "-"))\"", "misp:meta-category=\"\(meta)\""]
                + Self.plainTags(.array(tags)),
            markings: try markings(own: try Self.tlp(in: .array(tags), eventName, name), releasableTo: releasableTo), time: time,
            observed: try MISPValue.observedWindow(m, time, eventName, name),
            comment: m["comment"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }, killChainPhase: meta)
        let made: [String]
        do {
            if let observable = try Observables.object(template: template, uuid: uuid, attributes) {
                let observed = observedData(observable.objects, r)
                if attributes.contains(where: \.toIDs), !observable.comparisons.isEmpty {
                    let indicatorID = indicator(observable.comparisons, r)
                    basedOn(indicatorID, observed, time: time)
                    made = [observed, indicatorID]
                } else {
                    made = [observed]
                }
            } else {
                made = [customObject(template: template, meta: meta, attributes, r)]
            }
        } catch {
            throw MISPError(event: eventName, record: error.attribute ?? name, error.text)
        }
        standing[uuid] = made.first
        for a in attributes { standing[a.uuid] = standing[a.uuid] ?? made.first }
        for reference in m["ObjectReference"]?.arrayValue ?? [] {
            if let reference = reference.objectValue { references.append((made.first!, reference, time, name)) }
        }
        for a in attributes {
            try galaxies(a.source["Galaxy"], record: a.record)
            try sightings(a.source["Sighting"], of: made, markings: r.markings, record: a.record)
        }
    }

    /// `x-misp-object`: an object of a template STIX has no observable for, kept whole.
    private mutating func customObject(template: String, meta: String, _ attributes: [ObjectAttribute], _ r: Record) -> String {
        var o = sdo("x-misp-object", r)
        o["labels"] = Self.labelsValue(r.labels)
        o["x_misp_meta_category"] = .string(meta)
        o["x_misp_name"] = .string(template)
        o["x_misp_attributes"] = .array(attributes.map { a in
            var c = JSONObject(["type": .string(a.type), "object_relation": .string(a.relation.replacingOccurrences(of: "(s)", with: "")),
                                "value": .string(a.value)])
            if let category = a.source["category"]?.stringValue, !category.isEmpty { c["category"] = .string(category) }
            if let comment = a.source["comment"]?.stringValue, !comment.isEmpty { c["comment"] = .string(comment) }
            if a.toIDs { c["to_ids"] = .bool(true) }
            c["uuid"] = .string(a.uuid)
            return .object(c)
        })
        if let comment = r.comment { o["x_misp_comment"] = .string(comment) }
        markings(&o, r)
        append(o)
        return o["id"]!.stringValue!
    }

    // MARK: Shared pieces

    /// An SDO's common properties: type, id from the record's uuid, creator, times.
    private func sdo(_ type: String, _ r: Record) -> JSONObject {
        var o = JSONObject(["type": .string(type), "spec_version": .string("2.1"), "id": .string("\(type)--\(r.uuid)")])
        if let creator { o["created_by_ref"] = .string(creator) }
        o["created"] = .string(stamps.text(r.time, millis: true))
        o["modified"] = .string(stamps.text(r.time, millis: true))
        return o
    }

    private func markings(_ o: inout JSONObject, _ r: Record) {
        if !r.markings.isEmpty { o["object_marking_refs"] = .array(r.markings.map { .string($0) }) }
    }

    /// A record's markings: its TLP (its own tag, else with `eventMarkingOnObjects` the event's; the stricter of both)
    /// and, when its distribution names whom it is for, the releasability marking of those orgs (made once).
    private mutating func markings(own: TLP?, releasableTo: [String]?) throws(MISPError) -> [String] {
        let inherited = options.eventMarkingOnObjects ? eventTLP : nil
        var refs: [String]
        switch (own, inherited) {
        case (let own?, let inherited?): refs = [max(own, inherited).v2ID]
        case (let tlp?, nil), (nil, let tlp?): refs = [tlp.v2ID]
        case (nil, nil): refs = []
        }
        if let releasableTo {
            let definition = Self.releasabilityMarking(releasableTo)
            append(definition, listed: false)
            refs.append(definition["id"]!.stringValue!)
        }
        return refs
    }

    /// The releasability marking-definition (Meridian's extension, SHARING.md) for `orgs`: its id is made from the
    /// orgs, so every event released to the same orgs uses the same one.
    static func releasabilityMarking(_ orgs: [String]) -> JSONObject {
        let sorted = Array(Set(orgs)).sorted()
        let id = "marking-definition--" + Identifier.uuidV5(namespace: MISPToSTIX.relationshipNamespace, name: "releasable to|" + sorted.joined(separator: ","))
        return Releasability.markingDefinition(
            id: id, name: sorted.isEmpty ? "REL TO nobody (MISP)" : "REL TO " + sorted.joined(separator: ", ") + " (MISP)",
            releasableTo: sorted, createdBy: nil, created: "2020-01-01T00:00:00.000Z").objectValue!
    }

    /// Whom a record's MISP distribution releases it to: nil for the collection's readers (community, connected
    /// communities, all, or inherited from a record that is); the orgs of its sharing group (4) or of the event's
    /// organisation (0). A member that is no org of the partnership cannot be honoured exactly: refused, unless
    /// `stricter`, which leaves it out (an empty list releases to nobody).
    static func releasability(of record: JSONObject, inherited: [String]?, owner event: JSONObject, _ options: MISPToSTIX.Options,
                              _ eventName: String?, _ recordName: String?) throws(MISPError) -> [String]? {
        func org(_ o: JSONObject?) -> (name: String, id: String?)? {
            guard let o, let name = o["name"]?.stringValue else { return nil }
            let id = options.organisations.first { $0.name.lowercased() == name.lowercased() || $0.id.lowercased() == name.lowercased() }?.id
            return (name, id)
        }
        func resolve(_ members: [(name: String, id: String?)], what: String) throws(MISPError) -> [String] {
            let unmatched = members.filter { $0.id == nil }.map(\.name)
            if !unmatched.isEmpty && !options.stricter {
                throw MISPError(event: eventName, record: recordName,
                                "\(what): \(unmatched.map { "'\($0)'" }.joined(separator: ", ")) \(unmatched.count == 1 ? "is" : "are") no org of the partnership, so the node could not honour it exactly; nothing was imported (--stricter leaves such organisations out)")
            }
            return Array(Set(members.compactMap(\.id))).sorted()
        }
        let narrowed: [String]?
        switch MISPValue.text(record["distribution"]) {
        case nil, "1", "2", "3", "5":
            return inherited
        case "0":
            let organisation = org(event["Org"]?.objectValue) ?? org(event["Orgc"]?.objectValue)
            guard let organisation else {
                throw MISPError(event: eventName, record: recordName, "distribution 0 (your organisation only) names no organisation: the event has no 'Org'")
            }
            narrowed = try resolve([organisation], what: "distribution 0 (your organisation only) of '\(organisation.name)'")
        case "4":
            guard let group = record["SharingGroup"]?.objectValue else {
                throw MISPError(event: eventName, record: recordName, "distribution 4 (a sharing group) without its 'SharingGroup' (export the event with its sharing group)")
            }
            let groupName = group["name"]?.stringValue ?? "unnamed"
            if (group["SharingGroupServer"]?.arrayValue ?? []).contains(where: { MISPValue.flag($0["all_orgs"]) == true }), !options.stricter {
                throw MISPError(event: eventName, record: recordName, "sharing group '\(groupName)' includes every organisation of a MISP server, which the node cannot honour exactly; nothing was imported (--stricter keeps only its listed organisations)")
            }
            var members = (group["SharingGroupOrg"]?.arrayValue ?? []).compactMap { org($0["Organisation"]?.objectValue) }
            if let creator = org(group["Organisation"]?.objectValue) { members.append(creator) }
            narrowed = try resolve(members, what: "sharing group '\(groupName)'")
        case let other?:
            throw MISPError(event: eventName, record: recordName, "distribution '\(other)' is not a MISP distribution level (0 to 5)")
        }
        // Never wider than what the record is part of.
        return inherited.map { outer in narrowed!.filter(outer.contains) } ?? narrowed
    }

    private mutating func observedData(_ observables: [JSONObject], _ r: Record) -> String {
        var o = sdo("observed-data", r)
        o["first_observed"] = .string(stamps.text(r.observed.first, millis: false))
        o["last_observed"] = .string(stamps.text(r.observed.last, millis: false))
        o["number_observed"] = .number(JSONNumber(1))
        o["object_refs"] = .array(observables.map { $0["id"]! })
        o["labels"] = Self.labelsValue(r.labels)
        markings(&o, r)
        append(o)
        // The observables are as sensitive as the attribute or object they come from.
        for var observable in observables {
            markings(&observable, r)
            append(observable)
        }
        return o["id"]!.stringValue!
    }

    private mutating func indicator(_ comparisons: [String], _ r: Record) -> String {
        var o = sdo("indicator", r)
        if let comment = r.comment { o["description"] = .string(comment) }
        o["pattern"] = .string(comparisons.count == 1 && comparisons[0].hasPrefix("[") ? comparisons[0] : "[" + comparisons.joined(separator: " AND ") + "]")
        o["pattern_type"] = .string("stix")
        o["pattern_version"] = .string("2.1")
        o["valid_from"] = .string(stamps.text(r.time, millis: false))
        if let phase = r.killChainPhase, !phase.isEmpty {
            o["kill_chain_phases"] = .array([.object(JSONObject(["kill_chain_name": .string("misp-category"), "phase_name": .string(phase)]))])
        }
        o["labels"] = Self.labelsValue(r.labels)
        markings(&o, r)
        append(o)
        return o["id"]!.stringValue!
    }

    private mutating func basedOn(_ indicator: String, _ observed: String, time: Int64) {
        relationships.append(relationship(indicator, "based-on", observed, time: time, id: nil))
    }

    private func relationship(_ source: String, _ type: String, _ target: String, time: Int64, id: String?) -> JSONObject {
        let id = id ?? "relationship--" + Identifier.uuidV5(namespace: MISPToSTIX.relationshipNamespace, name: "\(source) - \(type) - \(target)")
        return JSONObject([
            "type": .string("relationship"), "spec_version": .string("2.1"), "id": .string(id),
            "created": .string(stamps.text(time, millis: true)), "modified": .string(stamps.text(time, millis: true)),
            "relationship_type": .string(type), "source_ref": .string(source), "target_ref": .string(target),
        ])
    }

    /// Object references become relationships from the referring object to what stands for the referenced one; a
    /// reference to something outside the event is left out, as misp-stix leaves it.
    private mutating func resolveReferences() {
        for (source, reference, time, _) in references {
            guard let target = reference["referenced_uuid"]?.stringValue.flatMap({ standing[$0] }),
                let type = reference["relationship_type"]?.stringValue, !type.isEmpty
            else { continue }
            let id = reference["uuid"]?.stringValue.flatMap { MISPValue.isUUID($0) ? "relationship--" + $0 : nil }
            relationships.append(relationship(source, type, target, time: time, id: id))
        }
        references = []
    }

    private mutating func appendRelationships() {
        for r in relationships { append(r) }
        relationships = []
    }

    // MARK: Sightings

    /// MISP sightings of type 0 become STIX sightings of what the attribute became (its indicator, with its
    /// observed-data as `observed_data_refs`); type 1 (a false positive) becomes an opinion that disagrees; type 2
    /// (an expiration) has no STIX counterpart and is left out, as misp-stix leaves it.
    private mutating func sightings(_ list: JSONValue?, of made: [String], markings: [String], record: String) throws(MISPError) {
        guard let list = list?.arrayValue, !list.isEmpty, let first = made.first else { return }
        for (i, s) in list.enumerated() {
            let name = "\(record), sighting " + (s.objectValue?["uuid"]?.stringValue ?? "#\(i + 1)")
            guard let s = s.objectValue, let uuid = s["uuid"]?.stringValue, MISPValue.isUUID(uuid) else {
                throw MISPError(event: eventName, record: name, "a sighting needs a 'uuid'")
            }
            let time = try MISPValue.seconds(s["date_sighting"], eventName, name, "date_sighting") ?? eventTime
            var org: String?
            if let organisation = s["Organisation"]?.objectValue { org = try identity(organisation, time: time) }
            let stamp = JSONValue.string(stamps.text(time, millis: true))
            switch MISPValue.text(s["type"]) ?? "0" {
            case "0":
                var o = JSONObject(["type": .string("sighting"), "spec_version": .string("2.1"), "id": .string("sighting--" + uuid),
                                    "created": stamp, "modified": stamp])
                if let source = s["source"]?.stringValue, !source.isEmpty { o["description"] = .string(source) }
                let observed = made.filter { $0.hasPrefix("observed-data--") }
                let of = made.first { !$0.hasPrefix("observed-data--") } ?? first
                o["sighting_of_ref"] = .string(of)
                let others = observed.filter { $0 != of }
                if !others.isEmpty { o["observed_data_refs"] = .array(others.map { .string($0) }) }
                if let org { o["where_sighted_refs"] = .array([.string(org)]) }
                if !markings.isEmpty { o["object_marking_refs"] = .array(markings.map { .string($0) }) }
                append(o)
            case "1":
                var o = JSONObject(["type": .string("opinion"), "spec_version": .string("2.1"), "id": .string("opinion--" + uuid)])
                if let org { o["created_by_ref"] = .string(org) }
                o["created"] = stamp
                o["modified"] = stamp
                o["explanation"] = .string("False positive sighting" + (s["source"]?.stringValue.map { $0.isEmpty ? "" : " (\($0))" } ?? ""))
                o["opinion"] = .string("strongly-disagree")
                o["object_refs"] = .array(made.map { .string($0) })
                if !markings.isEmpty { o["object_marking_refs"] = .array(markings.map { .string($0) }) }
                append(o)
            default:
                continue
            }
        }
    }

    // MARK: Galaxies

    /// Galaxy clusters become the STIX objects they describe (ids from the cluster uuids, as misp-stix makes them),
    /// or, when the node already holds an object with the cluster's external id, a reference to it.
    private mutating func galaxies(_ list: JSONValue?, record: String?) throws(MISPError) {
        for g in list?.arrayValue ?? [] {
            guard let galaxy = g.objectValue else { continue }
            let galaxyType = galaxy["type"]?.stringValue ?? ""
            let galaxyName = galaxy["name"]?.stringValue ?? galaxyType
            for c in galaxy["GalaxyCluster"]?.arrayValue ?? [] {
                guard let cluster = c.objectValue, let uuid = cluster["uuid"]?.stringValue, MISPValue.isUUID(uuid),
                    let value = cluster["value"]?.stringValue
                else {
                    throw MISPError(event: eventName, record: record, "a galaxy cluster of '\(galaxyType)' needs a 'uuid' and a 'value'")
                }
                let meta = cluster["meta"]?.objectValue
                let externalIDs = MISPValue.strings(meta?["external_id"])
                let knownObjects = options.knownObjects
                if let known = externalIDs.lazy.compactMap({ knownObjects[$0] }).first {
                    if !refs.contains(known) { refs.append(known) }
                    continue
                }
                let type = Galaxies.stixType(galaxyType)
                var o = JSONObject(["type": .string(type), "spec_version": .string("2.1"), "id": .string("\(type)--\(uuid)")])
                o["created"] = .string(stamps.text(eventTime, millis: true))
                o["modified"] = .string(stamps.text(eventTime, millis: true))
                o["name"] = .string(type == "attack-pattern" ? Galaxies.techniqueName(value, externalIDs) : value)
                if let description = cluster["description"]?.stringValue, !description.isEmpty { o["description"] = .string(description) }
                if type == "malware" { o["is_family"] = .bool(true) }
                if type == "identity" { o["identity_class"] = .string("class") }
                let synonyms = MISPValue.strings(meta?["synonyms"])
                if !synonyms.isEmpty, ["threat-actor", "intrusion-set", "malware", "tool"].contains(type) {
                    o["aliases"] = .array(synonyms.map { .string($0) })
                }
                let phases = MISPValue.strings(meta?["kill_chain"]).compactMap { phase -> JSONValue? in
                    let parts = phase.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2 else { return nil }
                    return .object(JSONObject(["kill_chain_name": .string(String(parts[0])), "phase_name": .string(String(parts[1]))]))
                }
                if !phases.isEmpty, type == "attack-pattern" || type == "malware" || type == "tool" { o["kill_chain_phases"] = .array(phases) }
                var labels = ["misp:galaxy-name=\"\(galaxyName)\"", "misp:galaxy-type=\"\(galaxyType)\""]
                if let tag = cluster["tag_name"]?.stringValue { labels.append(tag) }
                o["labels"] = Self.labelsValue(labels)
                if !externalIDs.isEmpty {
                    let source = Galaxies.externalSource(galaxyType, externalIDs[0])
                    o["external_references"] = .array(externalIDs.map {
                        .object(JSONObject(["source_name": .string(source), "external_id": .string($0)]))
                    })
                }
                if type == "x-misp-galaxy-cluster" {
                    o["x_misp_type"] = .string(galaxyType)
                    o["x_misp_value"] = .string(value)
                }
                append(o)
            }
        }
    }

    // MARK: Tags

    /// The strictest `tlp:` tag in `tags`; an unknown TLP level is refused (it could mean a stricter one).
    static func tlp(in tags: JSONValue?, _ event: String?, _ record: String?) throws(MISPError) -> TLP? {
        var strictest: TLP?
        for tag in tags?.arrayValue ?? [] {
            guard let name = tag.objectValue?["name"]?.stringValue, name.lowercased().hasPrefix("tlp:") else { continue }
            let level = String(name.lowercased().dropFirst(4))
            guard let tlp = level == "white" ? TLP.clear : TLP(rawValue: level) else {
                throw MISPError(event: event, record: record, "tag '\(name)' is not a TLP level (clear, white, green, amber, amber+strict, red)")
            }
            strictest = strictest.map { max($0, tlp) } ?? tlp
        }
        return strictest
    }

    /// Tags other than TLP and galaxy tags, kept as labels.
    static func plainTags(_ tags: JSONValue?) -> [String] {
        (tags?.arrayValue ?? []).compactMap { tag in
            guard let name = tag.objectValue?["name"]?.stringValue, !name.isEmpty else { return nil }
            let lower = name.lowercased()
            return lower.hasPrefix("tlp:") || lower.hasPrefix("misp-galaxy:") ? nil : name
        }
    }

    static func labels(type: String, category: String?) -> [String] {
        ["misp:type=\"\(type)\""] + (category.map { $0.isEmpty ? [] : ["misp:category=\"\($0)\""] } ?? [])
    }

    static func labelsValue(_ labels: [String]) -> JSONValue {
        var seen: Set<String> = []
        return .array(labels.filter { seen.insert($0).inserted }.map { .string($0) })
    }
}

/// An attribute of a MISP object.
struct ObjectAttribute {
    let uuid: String
    let type: String
    let relation: String
    let value: String
    let toIDs: Bool
    /// How errors name it.
    let record: String
    let source: JSONObject
}

/// A value that does not fit its type: what is wrong, and which object attribute it was.
struct ValueRule: Error {
    let text: String
    var attribute: String? = nil
}

enum Galaxies {
    /// The STIX type a galaxy's clusters describe, as misp-stix maps them.
    static func stixType(_ galaxyType: String) -> String {
        switch galaxyType {
        case "mitre-attack-pattern", "mitre-enterprise-attack-attack-pattern", "mitre-mobile-attack-attack-pattern",
            "mitre-pre-attack-attack-pattern", "mitre-ics-techniques", "attack-pattern":
            return "attack-pattern"
        case "threat-actor", "mitre-threat-actor", "microsoft-activity-group":
            return "threat-actor"
        case "mitre-intrusion-set", "mitre-enterprise-attack-intrusion-set", "mitre-mobile-attack-intrusion-set",
            "mitre-pre-attack-intrusion-set", "intrusion-set":
            return "intrusion-set"
        case "mitre-malware", "mitre-enterprise-attack-malware", "mitre-mobile-attack-malware", "malpedia", "android",
            "banker", "botnet", "rat", "ransomware", "stealer", "exploit-kit", "backdoor", "tds", "malware":
            return "malware"
        case "mitre-tool", "mitre-enterprise-attack-tool", "mitre-mobile-attack-tool", "tool":
            return "tool"
        case "mitre-course-of-action", "mitre-enterprise-attack-course-of-action", "mitre-mobile-attack-course-of-action",
            "course-of-action":
            return "course-of-action"
        case "sector":
            return "identity"
        default:
            return "x-misp-galaxy-cluster"
        }
    }

    /// An ATT&CK cluster's value is "Name - T1059": the technique's name is the part before its id.
    static func techniqueName(_ value: String, _ externalIDs: [String]) -> String {
        for id in externalIDs where value.hasSuffix(" - " + id) { return String(value.dropLast(id.count + 3)) }
        return value
    }

    static func externalSource(_ galaxyType: String, _ externalID: String) -> String {
        if galaxyType.hasPrefix("mitre-") { return "mitre-attack" }
        if externalID.hasPrefix("CAPEC-") { return "capec" }
        return "misp-galaxy"
    }
}

/// STIX times already written (``MISPValue/stamp(_:millis:)``), by second.
final class Stamps {
    private var written: [Int64: (millis: String, seconds: String)] = [:]

    func text(_ seconds: Int64, millis: Bool) -> String {
        if let known = written[seconds] { return millis ? known.millis : known.seconds }
        let both = (MISPValue.stamp(seconds, millis: true), MISPValue.stamp(seconds, millis: false))
        if written.count > 4096 { written.removeAll(keepingCapacity: true) }
        written[seconds] = both
        return millis ? both.0 : both.1
    }
}
