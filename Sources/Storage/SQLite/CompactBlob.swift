import CZlib

/// Large JSON kept compressed at rest: a status resource of thousands of failures repeats the same few reasons, which
/// deflate stores once. A compressed blob starts with a zero byte (JSON never does), then the original length (eight
/// bytes, little-endian) and the zlib stream; anything else is kept as it is.
enum CompactBlob {
    /// Below this size a blob is stored as it is.
    static let threshold = 4096

    static func pack(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= threshold else { return bytes }
        var length = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: 9 + Int(length))
        let code = out.withUnsafeMutableBufferPointer { buffer in
            compress2(buffer.baseAddress! + 9, &length, bytes, uLong(bytes.count), Z_BEST_SPEED)
        }
        guard code == Z_OK, Int(length) + 9 < bytes.count else { return bytes }
        out.removeLast(out.count - 9 - Int(length))
        var size = UInt64(bytes.count)
        for i in 1...8 {
            out[i] = UInt8(truncatingIfNeeded: size)
            size >>= 8
        }
        return out
    }

    /// The original bytes of a blob `pack` made (or the blob itself when it was stored as it is); nil when damaged.
    static func unpack(_ blob: [UInt8]) -> [UInt8]? {
        guard blob.first == 0 else { return blob }
        guard blob.count > 9 else { return nil }
        var size: UInt64 = 0
        for i in (1...8).reversed() { size = size << 8 | UInt64(blob[i]) }
        guard size <= 1 << 32 else { return nil }
        var out = [UInt8](repeating: 0, count: Int(size))
        var length = uLong(size)
        let code = out.withUnsafeMutableBufferPointer { buffer in
            blob.withUnsafeBufferPointer { source in
                uncompress(buffer.baseAddress!, &length, source.baseAddress! + 9, uLong(blob.count - 9))
            }
        }
        guard code == Z_OK, length == uLong(size) else { return nil }
        return out
    }
}
