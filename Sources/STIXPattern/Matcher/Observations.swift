import STIX

/// The observations a pattern is matched against, prepared as the OASIS matcher prepares them.
///
/// STIX 2.1: the inputs are bundles (or objects holding an `objects` list); their objects are pooled, and each
/// observed-data becomes one observation holding itself and the objects its `object_refs` name. STIX 2.0: each
/// input is an observed-data with its cyber observables embedded in `objects`, keyed by local ids.
public struct Observations: Sendable {
    struct Observation: Sendable {
        /// The observed-data object.
        let sdo: JSONValue
        /// The objects of the observation by id (2.1) or key (2.0), in order; the observed-data itself comes first in
        /// 2.1, as in the matcher.
        let objects: [(id: String, object: JSONValue)]
        let firstObserved: Int64
        let lastObserved: Int64
        let numberObserved: Int
    }

    let items: [Observation]
    public let stixVersion: String

    /// Prepares observed-data (see above) for matching; fails as the reference matcher does on malformed input.
    public init(_ inputs: [JSONValue], stixVersion: String) throws(MatchError) {
        self.stixVersion = stixVersion
        var prepared: [(JSONValue, [(String, JSONValue)])] = []
        if stixVersion == "2.1" {
            var pooled: [JSONValue] = []
            for input in inputs {
                guard case .object(let o) = input else { throw MatchError(.evaluation, "each STIX 2.1 input must be a bundle (a JSON object)") }
                guard let objects = o["objects"] else { continue }
                guard case .array(let list) = objects else { throw MatchError(.evaluation, "a bundle's 'objects' must be a list") }
                pooled += list
            }
            guard inputs.contains(where: { $0["objects"] != nil }) else {
                throw MatchError(.evaluation, "STIX 2.1 bundle object must have 'objects' key")
            }
            var observedData: [JSONValue] = []
            var byID: [String: JSONValue] = [:]
            for object in pooled {
                guard let type = object["type"]?.stringValue else { throw MatchError(.evaluation, "an object in the bundle has no 'type'") }
                if type == "observed-data" {
                    observedData.append(object)
                } else {
                    guard let id = object["id"]?.stringValue else { throw MatchError(.evaluation, "a \(type) object in the bundle has no 'id'") }
                    byID[id] = object
                }
            }
            for sdo in observedData {
                guard let refs = sdo["object_refs"] else {
                    throw MatchError(.evaluation, "STIX v2.1 observed-data object must have 'object_refs' key")
                }
                guard let sdoID = sdo["id"]?.stringValue else { throw MatchError(.evaluation, "an observed-data object has no 'id'") }
                var objects: [(String, JSONValue)] = [(sdoID, sdo)]
                for ref in refs.arrayValue ?? [] {
                    if let id = ref.stringValue, let object = byID[id] { objects.append((id, object)) }
                }
                prepared.append((sdo, objects))
            }
        } else {
            for input in inputs {
                guard case .object(let o) = input else { throw MatchError(.evaluation, "each STIX 2.0 input must be an observed-data object") }
                var objects: [(String, JSONValue)] = []
                if case .object(let embedded)? = o["objects"] {
                    for member in embedded { objects.append((member.key, member.value)) }
                }
                prepared.append((input, objects))
            }
        }
        var items: [Observation] = []
        for (sdo, objects) in prepared {
            guard let number = sdo["number_observed"], let first = sdo["first_observed"], let last = sdo["last_observed"] else {
                throw MatchError(.evaluation, "an observed-data object must have number_observed, first_observed and last_observed")
            }
            guard let n = number.numberValue?.integer, number.numberValue?.text.contains(".") == false else {
                throw MatchError(.evaluation, "number_observed must be an integer")
            }
            guard n >= 1 else { throw MatchError(.evaluation, "SDO with invalid number_observed (must be >= 1): \(n)") }
            guard let f = first.stringValue.flatMap(MatchTimestamp.parse), let l = last.stringValue.flatMap(MatchTimestamp.parse) else {
                throw MatchError(.evaluation, "first_observed and last_observed must be timestamps")
            }
            // Distinct (id, object) pairs by id, as the matcher's per-observation dictionary keeps them: the first
            // position of an id, with the last object given for it.
            var order: [String] = []
            var latest: [String: JSONValue] = [:]
            for (id, object) in objects {
                if latest[id] == nil { order.append(id) }
                latest[id] = object
            }
            items.append(Observation(sdo: sdo, objects: order.map { ($0, latest[$0]!) }, firstObserved: f, lastObserved: l,
                                     numberObserved: Int(min(n, Int64(Int32.max)))))
        }
        self.items = items
    }
}
