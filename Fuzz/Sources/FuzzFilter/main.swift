import FuzzSupport
import TAXII

// The TAXII filter parser on arbitrary query parameters (the input split on & and =): each set is accepted or refused
// with a TAXII error, on every endpoint, never a crash.
fuzz { bytes in
    guard let text = text(bytes) else { return }
    let parameters = text.split(separator: "&", omittingEmptySubsequences: false).map { pair -> (String, String) in
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }
    for endpoint in [Filter.Endpoint.objects, .manifest, .object, .versions, .delete] {
        _ = try? Filter(parameters, endpoint: endpoint, defaultLimit: 100, maxLimit: 1000)
    }
}
