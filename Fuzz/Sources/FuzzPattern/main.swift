import FuzzSupport
import STIX
import STIXPattern

// The STIX pattern parser and matcher on arbitrary text: a pattern either parses or is refused with an error, and a
// pattern that parses is matched against a fixed observation without crashing.
let observation: [JSONValue] = [try! JSONParser().parse(Array("""
    {"type":"observed-data","spec_version":"2.1","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
     "created":"2016-04-06T19:58:16.000Z","modified":"2016-04-06T19:58:16.000Z","first_observed":"2015-12-21T19:00:00Z",
     "last_observed":"2015-12-21T19:00:00Z","number_observed":1,
     "objects":{"0":{"type":"ipv4-addr","value":"198.51.100.7"},"1":{"type":"domain-name","value":"c2.example"},
                "2":{"type":"file","name":"a.exe","size":25536,"hashes":{"SHA-256":"aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"}}}}
    """.utf8))]

fuzz { bytes in
    guard let text = text(bytes) else { return }
    _ = try? Pattern(text)
    if let matcher = try? PatternMatcher(text, stixVersion: "2.0") { _ = try? matcher.matches(observation) }
}
