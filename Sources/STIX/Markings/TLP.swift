/// Traffic Light Protocol markings, TLP 1.0 (built into STIX 2.1) and TLP 2.0 (the OASIS extension), by fixed id.
///
/// Related: STIX 2.1 §7.2.1.4 and the TLP 2.0 extension-definition in oasis-open/cti-stix-common-objects.
public enum TLP: String, Sendable, CaseIterable, Comparable {
    case clear
    case green
    case amber
    case amberStrict = "amber+strict"
    case red

    /// The TLP 2.0 extension-definition id (`extension_type: property-extension`, property `tlp_2_0`).
    public static let extensionDefinitionID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

    /// TLP 1.0 marking-definition ids (created 2017-01-20T00:00:00.000Z).
    public static let v1IDs: [String: TLP] = [
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": .clear,  // TLP:WHITE
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": .green,
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": .amber,
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": .red,
    ]

    /// TLP 2.0 marking-definition ids (created 2022-10-01T00:00:00.000Z).
    public static let v2IDs: [String: TLP] = [
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": .clear,
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": .green,
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": .amber,
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": .amberStrict,
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": .red,
    ]

    /// The TLP level a marking-definition id stands for, or nil when it is not a TLP id.
    public init?(markingID: String) {
        guard let level = TLP.v2IDs[markingID] ?? TLP.v1IDs[markingID] else { return nil }
        self = level
    }

    /// The TLP 2.0 marking-definition id of this level.
    public var v2ID: String {
        TLP.v2IDs.first { $0.value == self }!.key
    }

    /// The TLP 1.0 id of this level; AMBER+STRICT has none.
    public var v1ID: String? {
        TLP.v1IDs.first { $0.value == self }?.key
    }

    /// The label used on the wire (`TLP:AMBER+STRICT`).
    public var name: String { "TLP:" + rawValue.uppercased() }

    /// True when `id` is one of the nine fixed TLP ids, which no object may redefine.
    public static func isReserved(_ id: String) -> Bool {
        v1IDs[id] != nil || v2IDs[id] != nil
    }

    private var rank: Int {
        switch self {
        case .clear: return 0
        case .green: return 1
        case .amber: return 2
        case .amberStrict: return 3
        case .red: return 4
        }
    }

    /// Ordered from least to most restrictive.
    public static func < (lhs: TLP, rhs: TLP) -> Bool { lhs.rank < rhs.rank }
}

extension TLP {
    /// Why a marking-definition object that uses one of the nine fixed TLP ids is not that TLP marking, or nil when
    /// it is (or does not use a TLP id). No object may redefine a TLP id.
    public static func redefinition(in object: JSONObject) -> String? {
        guard object["type"]?.stringValue == "marking-definition", let id = object["id"]?.stringValue else { return nil }
        if let level = v1IDs[id] {
            let color = level == .clear ? "white" : level.rawValue
            guard object["definition_type"]?.stringValue == "tlp", object["definition"]?["tlp"]?.stringValue == color,
                object["extensions"] == nil
            else { return "\(id) is the fixed id of TLP:\(color.uppercased()) (TLP 1.0); an object may not redefine it" }
        } else if let level = v2IDs[id] {
            guard object["definition_type"] == nil, object["definition"] == nil,
                object["extensions"]?[extensionDefinitionID]?["tlp_2_0"]?.stringValue == level.rawValue
            else { return "\(id) is the fixed id of \(level.name) (TLP 2.0); an object may not redefine it" }
        }
        return nil
    }
}
