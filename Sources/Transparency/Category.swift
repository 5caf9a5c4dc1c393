import STIX

/// What a shared object is about, for the public report (docs/TRANSPARENCY.md has the table). The first rule that
/// applies decides:
/// 1. `note` and `opinion` are **consultation**: partners commenting on and assessing each other's objects;
/// 2. anything from the DISARM framework (an external reference whose `source_name` is `DISARM` or whose `url`
///    names DISARM, DISARM Foundation's identity as `created_by_ref`, or DISARM Foundation's statement marking), or
///    labelled `disinformation`, `influence-operation` or `fimi`, is **disinformation**;
/// 3. anything referring to ATT&CK for ICS (`mitre-ics-attack`), labelled `critical-infrastructure`,
///    `undersea-cable` or `ics`, an `identity` in a critical sector (energy, telecommunications, transportation,
///    water, utilities, healthcare), or an `infrastructure` object whose `infrastructure_types` are none of the
///    adversary's kinds (command-and-control, botnet, staging, …) is **critical infrastructure**;
/// 4. everything else is **cyber threat**.
public enum Category: String, CaseIterable, Sendable {
    case cyberThreat = "cyber-threat"
    case disinformation
    case criticalInfrastructure = "critical-infrastructure"
    case consultation

    public var title: String {
        switch self {
        case .cyberThreat: return "Cyber threats"
        case .disinformation: return "Disinformation"
        case .criticalInfrastructure: return "Critical infrastructure"
        case .consultation: return "Consultation"
        }
    }

    static let disinformationLabels: Set<String> = ["disinformation", "influence-operation", "fimi"]
    /// DISARM Foundation's identity and its CC-BY-SA statement marking, as the DISARM STIX bundle carries them.
    static let disarmIdentity = "identity--f1a0f560-2d9e-4c5d-bf47-7e96e805de82"
    static let disarmMarking = "marking-definition--f79f25d2-8b96-4580-b169-eb7b613a7c31"
    static let infrastructureLabels: Set<String> = ["critical-infrastructure", "undersea-cable", "ics"]
    static let criticalSectors: Set<String> = ["energy", "telecommunications", "transportation", "water", "utilities", "healthcare"]
    /// STIX 2.1 infrastructure-type-ov values that describe an adversary's own infrastructure.
    static let adversaryInfrastructure: Set<String> = [
        "amplification", "anonymization", "botnet", "command-and-control", "exfiltration", "hosting-malware",
        "hosting-target-lists", "phishing", "reconnaissance", "staging",
    ]

    /// The category of `object` (a STIX object of type `type`).
    public static func of(type: String, object: JSONValue?) -> Category {
        if type == "note" || type == "opinion" { return .consultation }
        let labels = Set((object?["labels"]?.arrayValue ?? []).compactMap { $0.stringValue?.lowercased() })
        let references = object?["external_references"]?.arrayValue ?? []
        let sources = Set(references.compactMap { $0["source_name"]?.stringValue?.lowercased() })
        let fromDISARM = sources.contains("disarm")
            || references.contains { $0["url"]?.stringValue?.lowercased().contains("disarm") == true }
            || object?["created_by_ref"]?.stringValue == disarmIdentity
            || (object?["object_marking_refs"]?.arrayValue ?? []).contains { $0.stringValue == disarmMarking }
        if fromDISARM || !labels.isDisjoint(with: disinformationLabels) { return .disinformation }
        if sources.contains("mitre-ics-attack") || !labels.isDisjoint(with: infrastructureLabels) { return .criticalInfrastructure }
        if type == "identity" {
            let sectors = (object?["sectors"]?.arrayValue ?? []).compactMap { $0.stringValue?.lowercased() }
            if sectors.contains(where: criticalSectors.contains) { return .criticalInfrastructure }
        }
        if type == "infrastructure" {
            let kinds = Set((object?["infrastructure_types"]?.arrayValue ?? []).compactMap { $0.stringValue?.lowercased() })
            if kinds.isDisjoint(with: adversaryInfrastructure) { return .criticalInfrastructure }
        }
        return .cyberThreat
    }
}
