import STIX

/// A schema's `properties`, looked up by a member's name without Swift's seeded hashing: an open-addressing table on
/// a hash of the name's length and end bytes (``hash(_:)``). Every member of every object is looked up in each schema that applies to
/// it, which made `Dictionary`'s SipHash a tenth of schema checking.
struct PropertyTable: Sendable {
    private let hashes: [UInt64]
    private let names: [String]
    private let schemas: [SchemaLink?]
    private let mask: Int

    init(_ properties: [String: SchemaLink]) {
        var size = 4
        while size < properties.count * 2 { size *= 2 }
        var hashes = [UInt64](repeating: 0, count: size)
        var names = [String](repeating: "", count: size)
        var schemas = [SchemaLink?](repeating: nil, count: size)
        for (name, schema) in properties {
            let hash = PropertyTable.hash(name)
            var i = Int(truncatingIfNeeded: hash) & (size - 1)
            while schemas[i] != nil { i = (i + 1) & (size - 1) }
            (hashes[i], names[i], schemas[i]) = (hash, name, schema)
        }
        self.hashes = hashes
        self.names = names
        self.schemas = schemas
        mask = size - 1
    }

    subscript(name: String) -> SchemaLink? {
        let hash = PropertyTable.hash(name)
        var i = Int(truncatingIfNeeded: hash) & mask
        while let schema = schemas[i] {
            if hashes[i] == hash && names[i] == name { return schema }
            i = (i + 1) & mask
        }
        return nil
    }

    /// The length and the first two and last two bytes, mixed: enough to tell apart the property names of any one
    /// schema (a collision only costs a comparison), and cheaper than hashing every byte.
    static func hash(_ name: String) -> UInt64 {
        name.withUTF8Bytes { b in
            let n = b.count
            guard n > 0 else { return 0 }
            var h = UInt64(n) &* 0x9E37_79B9_7F4A_7C15
            h ^= UInt64(b[0]) | UInt64(b[min(1, n - 1)]) << 8 | UInt64(b[n - 1]) << 16 | UInt64(b[max(0, n - 2)]) << 24
            h = (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
            return h ^ (h >> 32)
        }
    }
}
