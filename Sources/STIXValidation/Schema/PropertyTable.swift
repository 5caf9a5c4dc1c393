/// A schema's `properties`, looked up by a member's name without Swift's seeded hashing: an open-addressing table on
/// an FNV-1a hash of the name's UTF-8 bytes. Every member of every object is looked up in each schema that applies to
/// it, which made `Dictionary`'s SipHash a tenth of schema checking.
struct PropertyTable: Sendable {
    private let hashes: [UInt64]
    private let names: [String]
    private let schemas: [Schema?]
    private let mask: Int

    init(_ properties: [String: Schema]) {
        var size = 4
        while size < properties.count * 2 { size *= 2 }
        var hashes = [UInt64](repeating: 0, count: size)
        var names = [String](repeating: "", count: size)
        var schemas = [Schema?](repeating: nil, count: size)
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

    var isEmpty: Bool { schemas.allSatisfy { $0 == nil } }

    subscript(name: String) -> Schema? {
        let hash = PropertyTable.hash(name)
        var i = Int(truncatingIfNeeded: hash) & mask
        while let schema = schemas[i] {
            if hashes[i] == hash && names[i] == name { return schema }
            i = (i + 1) & mask
        }
        return nil
    }

    static func hash(_ name: String) -> UInt64 {
        SchemaPattern.withUTF8(name) { bytes in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
            return h
        }
    }
}
