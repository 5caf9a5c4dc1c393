import Foundation
import Hummingbird
import MeridianServer
import Policy
import STIX
import Storage
import TAXII

/// What analysts write through the pages: notes and opinions on an object (consultation), the three report forms,
/// and uploads. Every form is checked in full before anything is made; the STIX it makes is validated by the node
/// (``MeridianNode/submit(_:to:by:)``) and stored all or nothing, as a TAXII POST by the same user would be.
extension WebUI {
    /// The sharing choices every form offers: where to store, which TLP, and optionally a releasability marking.
    struct Sharing {
        let collection: NodeConfiguration.Collection
        let markings: [String]
    }

    /// The values the sharing part of a form shows: writable collections, TLP levels, known releasability markings.
    func sharingChoices(_ session: Session, selected: [String: String] = [:]) async throws -> [String: Any] {
        let collections = node.writableCollections(for: session.principal).map { c in
            ["key": c.alias ?? c.id, "title": c.title, "selected": (c.alias ?? c.id) == selected["collection"]] as [String: Any]
        }
        let chosenTLP = selected["tlp"] ?? TLP.amber.rawValue
        let tlps = TLP.allCases.map { ["name": $0.rawValue, "label": "TLP:" + $0.rawValue.uppercased(), "selected": $0.rawValue == chosenTLP] as [String: Any] }
        let releasability = try await node.releasabilityMarkings().map { marking in
            ["id": marking.id, "label": "Releasable to " + marking.releasableTo.joined(separator: ", "),
             "selected": marking.id == selected["releasability"]] as [String: Any]
        }
        return ["writable": collections, "canWrite": !collections.isEmpty, "tlpChoices": tlps, "releasability": releasability,
                "hasReleasability": !releasability.isEmpty]
    }

    /// The collection, TLP and releasability a form chose, each checked against what the user may choose.
    func sharing(_ form: [String: String], _ session: Session) async throws -> Sharing {
        guard let key = form["collection"], let collection = node.collection(key),
              node.access(session.principal, to: collection).canWrite
        else { throw PageError.badForm("Choose a collection you may write to.") }
        guard let level = form["tlp"].flatMap(TLP.init(rawValue:)), let tlp = TLP.v2IDs.first(where: { $0.value == level })?.key else {
            throw PageError.badForm("Choose a TLP level: clear, green, amber, amber+strict or red.")
        }
        var markings = [tlp]
        if let marking = form["releasability"], !marking.isEmpty {
            guard try await node.releasabilityMarkings().contains(where: { $0.id == marking }) else {
                throw PageError.badForm("The releasability marking '\(marking)' is not one this node knows.")
            }
            markings.append(marking)
        }
        return Sharing(collection: collection, markings: markings)
    }

    static func field(_ form: [String: String], _ name: String, label: String, required: Bool = true, max: Int = 10_000) throws -> String? {
        let value = (form[name] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if value.isEmpty {
            if required { throw PageError.badForm("\(label) is required.") }
            return nil
        }
        guard value.count <= max else { throw PageError.badForm("\(label) is longer than \(max) characters.") }
        return value
    }

    /// The common properties of an object this user makes now: type, id, times, creator, markings.
    func newObject(_ type: String, _ sharing: Sharing, _ session: Session, now: String) -> JSONObject {
        var o = JSONObject()
        o["type"] = .string(type)
        o["spec_version"] = .string("2.1")
        o["id"] = .string("\(type)--\(UUID().uuidString.lowercased())")
        o["created"] = .string(now)
        o["modified"] = .string(now)
        if let org = session.principal.org, let identity = node.partnership.organizations[org]?.identity {
            o["created_by_ref"] = .string(identity)
        }
        o["object_marking_refs"] = .array(sharing.markings.map(JSONValue.string))
        return o
    }

    static func now() -> String {
        let us = SQLiteObjectStore.now()
        return TAXIITimestamp.format(us - us % 1000).replacingOccurrences(of: #"(\.\d{3})\d*Z$"#, with: "$1Z", options: .regularExpression)
    }

    /// Stores what a form made and shows the objects; a refusal is shown on the form's page with each reason.
    func store(_ objects: [JSONObject], _ sharing: Sharing, _ session: Session, title: String) async throws -> Response {
        do {
            _ = try await node.submit(objects.map(JSONValue.object), to: sharing.collection, by: session.principal)
        } catch let refused as MeridianNode.SubmissionRefused {
            let reasons = refused.problems.map { "\($0.id): \($0.reason)" }.joined(separator: "; ")
            throw PageError(status: .unprocessableContent, message: "Nothing was stored: the STIX made from the form breaks a rule. \(reasons)")
        }
        let rows: [[String: Any]] = objects.map { o in
            ["id": o["id"]?.stringValue ?? "", "type": o["type"]?.stringValue ?? "", "name": Self.displayName(o, id: o["id"]?.stringValue ?? "")]
        }
        return html(render("created", ["title": title, "objects": rows, "collection": sharing.collection.title], title: title, session: session),
                    status: .created)
    }

    // MARK: - Consultation

    /// A note or an opinion on the object `id` (which the user must be able to read), from the object's page.
    func consult(_ id: String, _ request: Request, _ session: Session) async throws -> Response {
        let form = try await Form.body(request)
        guard let presented = form["csrf"], Self.equal(presented, session.csrf) else { throw PageError.forgedForm }
        guard Identifier(id) != nil, try await !node.versions(of: id, for: session.principal, limit: 1).isEmpty else { throw PageError.notFound }
        let sharing = try await sharing(form, session)
        let now = Self.now()
        var object: JSONObject
        switch form["kind"] {
        case "note":
            object = newObject("note", sharing, session, now: now)
            if let abstract = try Self.field(form, "abstract", label: "Summary", required: false, max: 500) { object["abstract"] = .string(abstract) }
            object["content"] = .string(try Self.field(form, "content", label: "The note")!)
        case "opinion":
            object = newObject("opinion", sharing, session, now: now)
            guard let opinion = form["opinion"], Self.opinions.contains(opinion) else {
                throw PageError.badForm("Choose an opinion: \(Self.opinions.joined(separator: ", ")).")
            }
            object["opinion"] = .string(opinion)
            if let explanation = try Self.field(form, "content", label: "The explanation", required: false) { object["explanation"] = .string(explanation) }
        default:
            throw PageError.badForm("Choose whether to add a note or an opinion.")
        }
        if let org = session.principal.org, let user = session.principal.user {
            object["authors"] = .array([.string("\(user) (\(orgName(org)))")])
        }
        object["object_refs"] = .array([.string(id)])
        do {
            _ = try await node.submit([.object(object)], to: sharing.collection, by: session.principal)
        } catch let refused as MeridianNode.SubmissionRefused {
            throw PageError(status: .unprocessableContent,
                            message: "Nothing was stored: " + refused.problems.map { "\($0.id): \($0.reason)" }.joined(separator: "; "))
        }
        return redirect("/ui/objects/\(Self.percentEncoded(id))#discussion")
    }

    static let opinions = ["strongly-disagree", "disagree", "neutral", "agree", "strongly-agree"]

    // MARK: - Report forms

    static let reportKinds: [(path: String, title: String)] = [
        ("cyber", "Cyber incident"), ("disinformation", "Disinformation incident"),
        ("infrastructure", "Damage to or threat against critical infrastructure"),
    ]

    func reportForm(_ kind: String, _ session: Session, values: [String: String] = [:], status: HTTPResponse.Status = .ok,
                    error: String? = nil) async throws -> Response {
        guard let report = Self.reportKinds.first(where: { $0.path == kind }) else { throw PageError.notFound }
        var context = try await sharingChoices(session, selected: values)
        context["kind"] = kind
        context["title"] = report.title
        context["csrf"] = session.csrf
        if let error { context["error"] = error }
        context[kind] = true
        for (key, value) in values where key != "csrf" { context["v_" + key] = value }
        context["causes"] = Self.causes.map { ["name": $0, "selected": $0 == values["cause"]] as [String: Any] }
        context["assets"] = Self.assets.map { ["name": $0, "selected": $0 == values["asset_type"]] as [String: Any] }
        return html(render("report", context, title: report.title, session: session), status: status)
    }

    func reports(_ session: Session) -> Response {
        html(render("reports", ["kinds": Self.reportKinds.map { ["path": $0.path, "title": $0.title] }, "upload": true], title: "Report", session: session))
    }

    static let causes = ["unknown", "anchor drag or fishing", "sabotage", "cyber attack", "natural hazard", "equipment failure"]
    static let assets = ["undersea cable", "pipeline", "power grid", "satellite ground station", "data centre", "port"]

    /// Makes the objects of a report form and stores them; the form again with the problem when a field is wrong.
    func fileReport(_ kind: String, _ request: Request, _ session: Session) async throws -> Response {
        let form = try await Form.body(request)
        guard let presented = form["csrf"], Self.equal(presented, session.csrf) else { throw PageError.forgedForm }
        do {
            let sharing = try await sharing(form, session)
            let objects: [JSONObject]
            switch kind {
            case "cyber": objects = try await cyberIncident(form, sharing, session)
            case "disinformation": objects = try await disinformationIncident(form, sharing, session)
            case "infrastructure": objects = try infrastructureIncident(form, sharing, session)
            default: throw PageError.notFound
            }
            return try await store(objects, sharing, session, title: "Reported: " + (Self.reportKinds.first { $0.path == kind }?.title ?? kind))
        } catch let error as PageError where error.status == .badRequest || error.status == .unprocessableContent {
            return try await reportForm(kind, session, values: form, status: error.status, error: error.message)
        }
    }

    /// An incident and what is linked to it by `related-to`.
    func incident(_ form: [String: String], _ sharing: Sharing, _ session: Session, now: String, labels: [String]) throws -> JSONObject {
        var incident = newObject("incident", sharing, session, now: now)
        incident["name"] = .string(try Self.field(form, "name", label: "Title", max: 300)!)
        if let description = try Self.field(form, "description", label: "Description", required: false) { incident["description"] = .string(description) }
        incident["labels"] = .array(labels.map(JSONValue.string))
        return incident
    }

    func relationship(_ type: String, _ source: JSONObject, _ target: String, _ sharing: Sharing, _ session: Session, now: String) -> JSONObject {
        var r = newObject("relationship", sharing, session, now: now)
        r["relationship_type"] = .string(type)
        r["source_ref"] = source["id"]!
        r["target_ref"] = .string(target)
        return r
    }

    /// The techniques named in a field (`T1059, T1566.001`) as the attack-patterns the user may read whose external id
    /// it is; an id not found is refused by name.
    func techniques(_ form: [String: String], field: String, label: String, _ session: Session) async throws -> [String] {
        let ids = (form[field] ?? "").split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
        var out: [String] = []
        for externalID in ids {
            guard externalID.range(of: #"^T[0-9]{4}(\.[0-9]{3})?$"#, options: .regularExpression) != nil else {
                throw PageError.badForm("\(label): '\(externalID)' is not a technique id such as T1059 or T1566.001.")
            }
            let found = try await node.search(SearchText(externalID)!, for: session.principal, limit: 50).first { v in
                guard v.version.type == "attack-pattern", let o = (try? JSONParser().parse(v.bytes))?.objectValue else { return false }
                return o["external_references"]?.arrayValue?.contains { $0["external_id"]?.stringValue == externalID } ?? false
            }
            guard let found else { throw PageError.badForm("\(label): no technique \(externalID) that you may read is on this node.") }
            out.append(found.version.id)
        }
        return out
    }

    func cyberIncident(_ form: [String: String], _ sharing: Sharing, _ session: Session) async throws -> [JSONObject] {
        let now = Self.now()
        let incident = try incident(form, sharing, session, now: now, labels: ["cyber-incident"])
        var objects = [incident]
        let lines = (form["observables"] ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard lines.count <= 500 else { throw PageError.badForm("Observables: at most 500 lines.") }
        for line in lines {
            guard let (type, property) = Self.observableKind(line) else {
                throw PageError.badForm("Observables: '\(line)' is not an IPv4 or IPv6 address, a domain name, a URL or an MD5, SHA-1 or SHA-256 hash.")
            }
            let escaped = line.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
            var indicator = newObject("indicator", sharing, session, now: now)
            indicator["name"] = .string(line)
            indicator["indicator_types"] = .array([.string("malicious-activity")])
            indicator["pattern"] = .string("[\(type):\(property) = '\(escaped)']")
            indicator["pattern_type"] = .string("stix")
            indicator["valid_from"] = .string(now)
            objects.append(indicator)
            objects.append(relationship("related-to", indicator, incident["id"]!.stringValue!, sharing, session, now: now))
        }
        for technique in try await techniques(form, field: "techniques", label: "ATT&CK techniques", session) {
            objects.append(relationship("related-to", incident, technique, sharing, session, now: now))
        }
        return objects
    }

    /// The SCO type and property a pattern compares an observable value with.
    static func observableKind(_ value: String) -> (String, String)? {
        if value.range(of: #"^[0-9]{1,3}(\.[0-9]{1,3}){3}(/[0-9]{1,2})?$"#, options: .regularExpression) != nil { return ("ipv4-addr", "value") }
        if value.contains(":"), !value.contains("/"), value.range(of: #"^[0-9A-Fa-f:.]+$"#, options: .regularExpression) != nil { return ("ipv6-addr", "value") }
        if let url = URL(string: value), let scheme = url.scheme?.lowercased(), ["http", "https", "ftp"].contains(scheme), url.host != nil { return ("url", "value") }
        if value.range(of: #"^[0-9a-fA-F]{64}$"#, options: .regularExpression) != nil { return ("file", "hashes.'SHA-256'") }
        if value.range(of: #"^[0-9a-fA-F]{40}$"#, options: .regularExpression) != nil { return ("file", "hashes.'SHA-1'") }
        if value.range(of: #"^[0-9a-fA-F]{32}$"#, options: .regularExpression) != nil { return ("file", "hashes.MD5") }
        if value.range(of: #"^([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$"#, options: .regularExpression) != nil { return ("domain-name", "value") }
        return nil
    }

    func disinformationIncident(_ form: [String: String], _ sharing: Sharing, _ session: Session) async throws -> [JSONObject] {
        let now = Self.now()
        let incident = try incident(form, sharing, session, now: now, labels: ["disinformation"])
        var objects = [incident]
        func lines(_ name: String, _ label: String) throws -> [String] {
            let values = (form[name] ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard values.count <= 100 else { throw PageError.badForm("\(label): at most 100 lines.") }
            guard values.allSatisfy({ $0.count <= 2000 }) else { throw PageError.badForm("\(label): each line at most 2,000 characters.") }
            return values
        }
        // Each narrative is a note on the incident; each channel (an account, a site, a group) an infrastructure it used.
        for narrative in try lines("narratives", "Narratives") {
            var note = newObject("note", sharing, session, now: now)
            note["abstract"] = .string("Narrative")
            note["content"] = .string(narrative)
            note["labels"] = .array([.string("narrative")])
            note["object_refs"] = .array([incident["id"]!])
            objects.append(note)
        }
        for channel in try lines("channels", "Channels") {
            var infrastructure = newObject("infrastructure", sharing, session, now: now)
            infrastructure["name"] = .string(channel)
            infrastructure["infrastructure_types"] = .array([.string("amplification")])
            infrastructure["labels"] = .array([.string("disinformation-channel")])
            objects.append(infrastructure)
            objects.append(relationship("related-to", incident, infrastructure["id"]!.stringValue!, sharing, session, now: now))
        }
        for technique in try await techniques(form, field: "techniques", label: "DISARM techniques", session) {
            objects.append(relationship("related-to", incident, technique, sharing, session, now: now))
        }
        return objects
    }

    func infrastructureIncident(_ form: [String: String], _ sharing: Sharing, _ session: Session) throws -> [JSONObject] {
        let now = Self.now()
        guard let assetType = form["asset_type"], Self.assets.contains(assetType) else {
            throw PageError.badForm("Choose the kind of infrastructure: \(Self.assets.joined(separator: ", ")).")
        }
        guard let cause = form["cause"], Self.causes.contains(cause) else {
            throw PageError.badForm("Choose a cause: \(Self.causes.joined(separator: ", ")).")
        }
        func coordinate(_ name: String, _ label: String, _ limit: Double) throws -> Double {
            guard let text = form[name]?.trimmingCharacters(in: .whitespaces), let value = Double(text), value.isFinite, abs(value) <= limit else {
                throw PageError.badForm("\(label) must be a number of degrees from -\(Int(limit)) to \(Int(limit)).")
            }
            return value
        }
        let latitude = try coordinate("latitude", "Latitude", 90)
        let longitude = try coordinate("longitude", "Longitude", 180)
        let slug = assetType.replacingOccurrences(of: " ", with: "-")
        var incident = try incident(form, sharing, session, now: now, labels: ["critical-infrastructure", slug])
        incident["labels"] = .array(["critical-infrastructure", slug, "cause: " + cause].map(JSONValue.string))
        var infrastructure = newObject("infrastructure", sharing, session, now: now)
        infrastructure["name"] = .string(try Self.field(form, "asset", label: "Name of the infrastructure", max: 300)!)
        infrastructure["infrastructure_types"] = .array([.string(slug)])
        infrastructure["labels"] = .array([.string("critical-infrastructure"), .string(slug)])
        var location = newObject("location", sharing, session, now: now)
        location["name"] = .string("Where: " + (infrastructure["name"]?.stringValue ?? ""))
        location["latitude"] = .number(JSONNumber(text: "\(latitude)", double: latitude, integer: nil))
        location["longitude"] = .number(JSONNumber(text: "\(longitude)", double: longitude, integer: nil))
        if let region = try Self.field(form, "country", label: "Country", required: false, max: 2) {
            guard region.count == 2, region.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                throw PageError.badForm("Country must be a two-letter ISO 3166-1 code such as NO or JP.")
            }
            location["country"] = .string(region.uppercased())
        }
        return [
            incident, infrastructure, location,
            relationship("located-at", infrastructure, location["id"]!.stringValue!, sharing, session, now: now),
            relationship("related-to", incident, infrastructure["id"]!.stringValue!, sharing, session, now: now),
            relationship("located-at", incident, location["id"]!.stringValue!, sharing, session, now: now),
        ]
    }

    // MARK: - Upload

    func uploadForm(_ session: Session, status: HTTPResponse.Status = .ok, error: String? = nil, summary: [String: Any]? = nil) async throws -> Response {
        var context = try await sharingChoices(session)
        context["csrf"] = session.csrf
        if let error { context["error"] = error }
        if let summary { context["summary"] = summary }
        context["max"] = node.configuration.maxContentLength / (1 << 20)
        return html(render("upload", context, title: "Upload", session: session), status: status)
    }

    /// A STIX bundle (or TAXII envelope) sent as a file, stored as a TAXII POST of it would be; the summary lists what
    /// was stored and what was refused with its reason.
    func upload(_ request: Request, _ session: Session) async throws -> Response {
        let limit = node.configuration.maxContentLength
        let parts: [Multipart.Part]
        do {
            parts = try await Multipart.parse(request, limit: limit + 64 << 10)
        } catch let error as PageError {
            return try await uploadForm(session, status: error.status, error: error.message)
        }
        var form: [String: String] = [:]
        for part in parts where part.filename == nil { form[part.name] = String(decoding: part.body, as: UTF8.self) }
        guard let presented = form["csrf"], Self.equal(presented, session.csrf) else { throw PageError.forgedForm }
        do {
            let sharing = try await sharing(form.merging(["tlp": "clear"]) { a, _ in a }, session)
            guard let file = parts.first(where: { $0.name == "file" && $0.filename != nil }), !file.body.isEmpty else {
                throw PageError.badForm("Choose a file: a STIX 2.1 bundle in JSON.")
            }
            guard file.body.count <= limit else { throw PageError(status: .contentTooLarge, message: "The file is larger than the node's limit of \(limit) bytes.") }
            let status: StatusResource
            do {
                status = try await node.upload(file.body, to: sharing.collection, by: session.principal)
            } catch let error as TAXIIError {
                throw PageError(status: .init(code: error.status), message: "Nothing was stored: \(error.description ?? error.title).")
            }
            let summary: [String: Any] = [
                "file": file.filename ?? "", "stored": status.successes.count, "rejected": status.failures.count,
                "failures": status.failures.prefix(100).map { ["id": $0.id, "message": $0.message ?? ""] }, "collection": sharing.collection.title,
            ]
            return try await uploadForm(session, status: status.successes.isEmpty && !status.failures.isEmpty ? .unprocessableContent : .ok,
                                        summary: summary)
        } catch let error as PageError where error.status != .forbidden {
            return try await uploadForm(session, status: error.status, error: error.message)
        }
    }
}

/// `multipart/form-data` bodies (RFC 7578): the parts' names, file names and bytes.
enum Multipart {
    struct Part {
        let name: String
        let filename: String?
        let body: [UInt8]
    }

    static func parse(_ request: Request, limit: Int) async throws -> [Part] {
        guard let type = request.headers[.contentType], type.lowercased().hasPrefix("multipart/form-data"),
              let boundaryRange = type.range(of: "boundary=")
        else { throw PageError(status: .unsupportedMediaType, message: "The upload must be sent as multipart/form-data.") }
        let boundary = type[boundaryRange.upperBound...].split(separator: ";").first.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) } ?? ""
        guard !boundary.isEmpty, boundary.count <= 70 else { throw PageError.badForm("The upload's multipart boundary is missing or too long.") }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw PageError(status: .contentTooLarge, message: "The upload is larger than the node's limit of \(limit) bytes.")
        }
        return try parse(Array(buffer: buffer), boundary: boundary)
    }

    static func parse(_ body: [UInt8], boundary: String) throws -> [Part] {
        let delimiter = Array(("--" + boundary).utf8)
        var parts: [Part] = []
        guard var start = find(delimiter, in: body, from: 0) else { throw PageError.badForm("The upload holds no part.") }
        while true {
            var cursor = start + delimiter.count
            if body.count >= cursor + 2, body[cursor] == UInt8(ascii: "-"), body[cursor + 1] == UInt8(ascii: "-") { break }  // the end
            cursor += 2  // CRLF after the delimiter
            guard let headerEnd = find(Array("\r\n\r\n".utf8), in: body, from: cursor) else { throw PageError.badForm("A part of the upload has no headers.") }
            let headers = String(decoding: body[cursor..<headerEnd], as: UTF8.self)
            guard let next = find(Array("\r\n".utf8) + delimiter, in: body, from: headerEnd + 4) else {
                throw PageError.badForm("The upload ends before its last boundary.")
            }
            var name: String?, filename: String?
            for line in headers.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
                for item in line.split(separator: ";").dropFirst() {
                    let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard kv.count == 2 else { continue }
                    let value = kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                    if kv[0] == "name" { name = value } else if kv[0] == "filename" { filename = value }
                }
            }
            guard let name else { throw PageError.badForm("A part of the upload has no name.") }
            parts.append(Part(name: name, filename: filename, body: Array(body[(headerEnd + 4)..<next])))
            start = next + 2
        }
        return parts
    }

    /// The index of `needle` in `haystack` at or after `from`, by a simple scan (first byte, then the rest).
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var i = from
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
