extension String {
    /// Calls `body` with the string's UTF-8 bytes, without copying them when the string stores them contiguously (a
    /// native string does, as the parser's do); otherwise with a copy. The byte-level checks that run on every
    /// property of every object read strings this way rather than through `utf8`'s generic index walk. (Inlinable, so
    /// that callers in other modules get it specialized rather than as a generic call.)
    @inlinable public func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let r = utf8.withContiguousStorageIfAvailable(body) { return r }
        return Array(utf8).withUnsafeBufferPointer(body)
    }
}
