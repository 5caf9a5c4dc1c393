import FuzzSupport
import STIX

// The JSON parser and the envelope skim on arbitrary bytes: parse and check agree; a document that parses is skimmed
// to the same objects; nothing crashes.
fuzz { bytes in
    let parser = JSONParser(limits: JSONLimits(maxDepth: 64, maxStringBytes: 1 << 20))
    let parsed = Result { () throws(JSONParseError) in try parser.parse(bytes) }
    let checked = Result { () throws(JSONParseError) in try parser.check(bytes, range: 0..<bytes.count) }
    switch (parsed, checked) {
    case (.success, .success), (.failure, .failure): break
    default: preconditionFailure("parse and check disagree")
    }
    let skimmed = try? parser.skimDocument(bytes)
    if case .success = parsed, let whole = try? parser.parseDocument(bytes, retainElements: false) {
        precondition(skimmed?.elementRanges == whole.elementRanges, "the skim found other objects than the parser")
    }
}
