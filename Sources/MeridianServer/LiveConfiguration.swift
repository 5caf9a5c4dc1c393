import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(CDispatch)
import CDispatch  // where this toolchain's module map puts `struct stat` (needed with MemberImportVisibility)
#endif
import Logging
import Policy
import Synchronization

/// The node's configuration as its file says now: every process that opens the node reads `meridian.toml`, and a
/// running server reads it again as soon as it changes (its size, modification time or inode), before it decides the
/// next request, so that a changed group, kind or read list is never decided on an old copy. A file that no longer
/// parses is refused with an error in the log, and the configuration in force stays.
final class LiveConfiguration: Sendable {
    struct Current: Sendable {
        let configuration: NodeConfiguration
        let partnership: Partnership
        let stamp: FileStamp?
    }

    /// What tells that a file changed without reading it.
    struct FileStamp: Sendable, Equatable {
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let seconds: Int
        let nanoseconds: Int

        init?(_ path: String) {
            var s = stat()
            guard stat(path, &s) == 0 else { return nil }
            device = UInt64(s.st_dev)
            inode = UInt64(s.st_ino)
            size = Int64(s.st_size)
            #if os(Linux)
            seconds = Int(s.st_mtim.tv_sec)
            nanoseconds = Int(s.st_mtim.tv_nsec)
            #else
            seconds = Int(s.st_mtimespec.tv_sec)
            nanoseconds = Int(s.st_mtimespec.tv_nsec)
            #endif
        }
    }

    /// The file, when the configuration came from one (nil: fixed, as in tests).
    let path: String?
    private let state: Mutex<Current>
    /// The stamp of a file already refused, so it is reported once.
    private let refused = Mutex<FileStamp?>(nil)
    private let logger = Logger(label: "meridian.configuration")

    init(_ configuration: NodeConfiguration, path: String?) {
        self.path = path
        state = Mutex(Current(configuration: configuration, partnership: configuration.partnership, stamp: path.flatMap(FileStamp.init)))
    }

    var current: Current { state.withLock { $0 } }

    /// Whether the file changed since it was last read (or refused): one `stat`, no reading.
    var changed: Bool {
        guard let path, let stamp = FileStamp(path) else { return false }
        return stamp != current.stamp && refused.withLock({ $0 }) != stamp
    }

    /// Reads the file again when it changed since it was last read; returns the configuration that replaced the one
    /// in force, or nil when nothing changed (or the new file is refused).
    func refresh() -> NodeConfiguration? {
        guard let path, let stamp = FileStamp(path) else { return nil }
        guard stamp != current.stamp, refused.withLock({ $0 }) != stamp else { return nil }
        let configuration: NodeConfiguration
        do {
            configuration = try NodeConfiguration.load(path)
        } catch {
            refused.withLock { $0 = stamp }
            logger.error("the changed configuration is refused; the one in force stays until the file is corrected",
                         metadata: ["problem": .string(String(describing: error))])
            return nil
        }
        state.withLock { $0 = Current(configuration: configuration, partnership: configuration.partnership, stamp: stamp) }
        logger.info("configuration reloaded", metadata: ["file": .string(path)])
        return configuration
    }
}
