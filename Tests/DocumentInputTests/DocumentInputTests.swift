import DocumentInput
import Foundation
import TestSupport
import Testing

@Suite struct DocumentInputTests {
    static let dataRoot = TestData.url("data")

    func temporaryFile(_ bytes: [UInt8]) throws -> String {
        try TestData.temporaryFile(bytes, suffix: "")
    }

    @Test func readsGzippedFilesTransparently() throws {
        let bytes = try DocumentInput().read(Self.dataRoot.appendingPathComponent("disarm/DISARM.json.gz").path)
        #expect(bytes.count == 680_507)
        #expect(bytes.first == UInt8(ascii: "{"))
    }

    @Test func readsPlainFilesAsTheyAre() throws {
        let path = try temporaryFile(Array("{\"a\":1}".utf8))
        #expect(try DocumentInput().read(path) == Array("{\"a\":1}".utf8))
    }

    @Test func refusesInputsOverTheLimit() throws {
        let path = try temporaryFile([UInt8](repeating: 0x20, count: 5000))
        #expect(throws: InputError.self) { try DocumentInput(maxBytes: 4096).read(path) }
    }

    @Test func refusesAGzipBombBeyondTheLimit() throws {
        // DISARM decompresses to 680 kB; with a 100 kB limit the reader must stop, not expand it all.
        let path = Self.dataRoot.appendingPathComponent("disarm/DISARM.json.gz").path
        do {
            _ = try DocumentInput(maxBytes: 100_000).read(path)
            Issue.record("expanded past the limit")
        } catch {
            #expect(error.reason.contains("decompresses to more than"))
        }
    }

    @Test func refusesTruncatedOrCorruptGzip() throws {
        let gz = Array(try Data(contentsOf: Self.dataRoot.appendingPathComponent("disarm/DISARM.json.gz")))
        #expect(throws: InputError.self) { try DocumentInput().read(self.temporaryFile(Array(gz.prefix(5000)))) }
        var corrupt = gz
        for i in 100..<200 { corrupt[i] ^= 0xFF }
        #expect(throws: InputError.self) { try DocumentInput().read(self.temporaryFile(corrupt)) }
    }

    static func readChunked(_ path: String, chunkSize: Int) throws -> [UInt8] {
        let input = try ChunkedInput(path: path, chunkSize: chunkSize)
        var out: [UInt8] = []
        while let chunk = try input.next() {
            #expect(chunk.count <= chunkSize)
            out += chunk
        }
        #expect(input.consumed == input.size)
        return out
    }

    @Test func chunkedReadsGiveTheSameBytesPlainOrGzipped() throws {
        let gzPath = Self.dataRoot.appendingPathComponent("disarm/DISARM.json.gz").path
        let whole = try DocumentInput().read(gzPath)
        for size in [1000, 65536, 1 << 20] {
            #expect(try Self.readChunked(gzPath, chunkSize: size) == whole)
        }
        let plain = try temporaryFile(whole)
        #expect(try Self.readChunked(plain, chunkSize: 4096) == whole)
        #expect(try Self.readChunked(try temporaryFile([]), chunkSize: 4096) == [])
    }

    @Test func chunkedReadsRefuseTruncatedOrCorruptGzip() throws {
        let gz = Array(try Data(contentsOf: Self.dataRoot.appendingPathComponent("disarm/DISARM.json.gz")))
        #expect(throws: InputError.self) { _ = try Self.readChunked(self.temporaryFile(Array(gz.prefix(5000))), chunkSize: 4096) }
        var corrupt = gz
        for i in 100..<200 { corrupt[i] ^= 0xFF }
        #expect(throws: InputError.self) { _ = try Self.readChunked(self.temporaryFile(corrupt), chunkSize: 4096) }
        #expect(throws: InputError.self) { _ = try ChunkedInput(path: "/nonexistent/bundle.json") }
    }

    @Test func namesAMissingFileOrADirectory() {
        do {
            _ = try DocumentInput().read("/nonexistent/bundle.json")
        } catch {
            #expect(error.description == "/nonexistent/bundle.json: no such file")
        }
        #expect(throws: InputError.self) { try DocumentInput().read("/tmp") }
    }

    @Test func expandsFoldersIntoTheirJSONFilesInOrder() {
        let files = DocumentInput.expand([Self.dataRoot.appendingPathComponent("attack").path, "-"])
        #expect(files.map { ($0 as NSString).lastPathComponent } == [
            "enterprise-attack-18.1.json.gz", "ics-attack-18.1.json.gz", "mobile-attack-17.1.json.gz", "-",
        ])
    }
}
