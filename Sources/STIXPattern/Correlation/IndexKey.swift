import STIX

/// A key of the correlation index: an object type (or `*` when reached through a reference), a property path with
/// every list index written `[*]`, and a value in a canonical form, folded into 64 bits (FNV-1a). Two keys that
/// collide only cost a needless evaluation; they never decide a match.
struct IndexKey: Hashable {
    let hash: UInt64

    static let anyType = "*"

    init(type: String, path: String, value: String) {
        var h = FNV()
        h.field(type)
        h.field(path)
        h.field(value)
        hash = h.state
    }

    init(hash: UInt64) { self.hash = hash }

    /// FNV-1a over the key's fields, each closed by a 0xff byte (which UTF-8 never contains), so that a path can be
    /// hashed piece by piece as an object is walked, without building its text.
    struct FNV {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325

        @inline(__always) mutating func byte(_ b: UInt8) {
            state ^= UInt64(b)
            state = state &* 0x100_0000_01b3
        }

        @inline(__always) mutating func bytes(_ s: String) {
            var s = s
            s.withUTF8 { for b in $0 { byte(b) } }
        }

        mutating func field(_ s: String) {
            bytes(s)
            byte(0xff)
        }
    }

    /// The key every object of a type gives: patterns anchored only on their object type use it.
    static func type(_ type: String) -> IndexKey { IndexKey(type: type, path: "", value: "t:") }

    /// The key of a CIDR block (`address/length`, address masked to the block).
    static func block(type: String, path: String, address: UInt32, length: Int) -> IndexKey {
        let mask: UInt32 = length == 32 ? .max : ~(UInt32.max >> UInt32(length))
        return IndexKey(type: type, path: path, value: "c:\(length):\(address & mask)")
    }

    /// The canonical text of a number, as equality in the matcher sees it: by value, 42 and 42.0 alike. (JSON leaves
    /// are hashed by `CorrelationIndex.KeyEmitter`: strings as `s:` and their code points, booleans as `b:true` or
    /// `b:false` and also as `n:1` or `n:0`, since IN compares them with numbers.)
    static func number(_ d: Double, integer: Int64?) -> String {
        if let i = integer { return "n:\(i)" }
        if d.rounded() == d, abs(d) < 9.0e18 { return "n:\(Int64(d))" }
        return "n:\(d)"
    }

    /// The canonical text of a pattern constant, or nil when equality with it cannot be anchored on a JSON value
    /// (binary and timestamp constants compare after conversions).
    static func canonical(_ literal: Literal) -> String? {
        switch literal {
        case .string(let s): return "s:" + s
        case .integer(let text):
            if let i = Int64(text) { return "n:\(i)" }
            return nil
        case .float(let d, _): return number(d, integer: nil)
        case .bool(let b): return b ? "b:true" : "b:false"
        case .binary, .hex, .timestamp: return nil
        }
    }
}
