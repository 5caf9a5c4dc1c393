import Foundation
@testable import MeridianServer
import STIX
import Storage
import Testing

/// `meridian import` in both of its ways: a document that fits `atomicBytes` read once and stored in one transaction,
/// a larger one read twice and stored batch by batch. Each rule is checked both ways.
@Suite struct ImporterTests {
    static let config = """
        [node]
        title = "t"
        owner = "a"
        [[orgs]]
        id = "a"
        name = "A"
        [[api_roots]]
        path = "r"
        title = "r"
        [[collections]]
        id = "c0000000-0000-4000-8000-000000000001"
        api_root = "r"
        alias = "shared"
        title = "Shared"
        read = ["a"]
        write = ["a"]
        """

    /// Atomic (the default limit) and in two passes (a limit no document fits).
    static let limits = [64 << 20, 0]

    static func node() async throws -> MeridianNode {
        try await testNode(config)
    }

    static func identity(_ n: Int, name: Bool = true) -> String {
        let id = String(format: "identity--%08x-0000-4000-8000-000000000000", n)
        return #"{"type":"identity","spec_version":"2.1","id":"\#(id)","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z",\#(name ? #""name":"org \#(n)","# : "")"identity_class":"organization"}"#
    }

    static func bundle(_ objects: [String]) -> String {
        #"{"type":"bundle","id":"bundle--0a0a0a0a-0000-4000-8000-000000000000","objects":[\#(objects.joined(separator: ","))]}"#
    }

    static func file(_ text: String, gzip: Bool = false) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-import-\(UUID().uuidString).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        guard gzip else { return path }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-f", path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return path + ".gz"
    }

    static func storedCount(_ node: MeridianNode) async throws -> Int {
        let page = try await node.store.page("c0000000-0000-4000-8000-000000000001", query: ObjectQuery(versions: .all), limit: 10_000,
                                             withBytes: false, isVisible: { _ in true })
        return page.versions.count
    }

    @Test(arguments: limits) func validObjectsAreStoredInvalidOnesListedAndARepeatIsADuplicate(atomicBytes: Int) async throws {
        let node = try await Self.node()
        let path = try Self.file(Self.bundle((0..<30).map { Self.identity($0) } + [Self.identity(99, name: false)]))
        let importer = Importer(node: node, batchSize: 7, atomicBytes: atomicBytes)
        let first = try await importer.run(path, collection: "shared")
        #expect(first.stored == 30 && first.duplicates == 0)
        #expect(first.rejected.count == 1)
        #expect(first.rejected.first?.reason.contains("'name' is a required property") == true)
        let again = try await importer.run(path, collection: "shared")
        #expect(again.stored == 0 && again.duplicates == 30 && again.rejected.count == 1)
        #expect(try await Self.storedCount(node) == 30)
    }

    @Test(arguments: limits) func aDocumentMalformedAfterItsLastObjectStoresNothing(atomicBytes: Int) async throws {
        let node = try await Self.node()
        let text = Self.bundle((0..<30).map { Self.identity($0) })
        for broken in [String(text.dropLast()) + #", "x": tru}"#, String(text.dropLast(2))] {
            let path = try Self.file(broken)
            await #expect(throws: NodeConfiguration.Problem.self) {
                _ = try await Importer(node: node, batchSize: 7, atomicBytes: atomicBytes).run(path, collection: "shared")
            }
            do {
                _ = try await Importer(node: node, batchSize: 7, atomicBytes: atomicBytes).run(path, collection: "shared")
            } catch {
                #expect("\(error)".contains("nothing was imported"), "\(error)")
            }
            #expect(try await Self.storedCount(node) == 0)
        }
    }

    @Test(arguments: limits) func anObjectThatIsNotJSONFailsTheImportByItsIndexAndStoresNothing(atomicBytes: Int) async throws {
        let node = try await Self.node()
        var objects = (0..<30).map { Self.identity($0) }
        objects[23] = objects[23].replacingOccurrences(of: #""name":"org 23""#, with: #""revoked":tru"#)
        let path = try Self.file(Self.bundle(objects))
        do {
            _ = try await Importer(node: node, batchSize: 7, atomicBytes: atomicBytes).run(path, collection: "shared")
            Issue.record("the import succeeded")
        } catch {
            #expect("\(error)".contains("object #23 is not valid JSON"), "\(error)")
            #expect("\(error)".contains("nothing was imported"), "\(error)")
        }
        #expect(try await Self.storedCount(node) == 0)
    }

    @Test func aGzippedDocumentLargerThanTheAtomicLimitOnceInflatedIsImportedInTwoPasses() async throws {
        // Its file is under the limit, its objects are not: the atomic attempt stops, stores nothing, and the import
        // starts over in two passes.
        let node = try await Self.node()
        let objects = (0..<200).map { Self.identity($0) }
        let path = try Self.file(Self.bundle(objects), gzip: true)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        var totals: Set<Int> = []
        var counted: [Int] = []
        let summary = try await Importer(node: node, batchSize: 16, atomicBytes: size + 100).run(path, collection: "shared") {
            totals.insert($0.total)
            counted.append($0.objects)
        }
        #expect(summary.stored == 200 && summary.duplicates == 0 && summary.rejected.isEmpty)
        // Progress counts the file once per pass: these reports are the two passes'. Objects are counted as read.
        #expect(totals == [2 * size])
        #expect(counted.last == 200 && counted == counted.sorted())
        #expect(try await Self.storedCount(node) == 200)
    }
}
