// The ceiling of the paging benchmark (issue 3, (b)): a Hummingbird server on the same stack as Meridian that does
// no work at all but send a page it already holds. `GET /shared` sends the same buffer every time (no copy);
// `GET /copied` first copies it into a new buffer, the least any server that reads a page from storage must do.
// Run by bench/taxii.sh with the bytes of a real Meridian page: `page-ceiling FILE PORT`.
import Foundation
import Hummingbird
import NIOCore

let arguments = CommandLine.arguments
guard arguments.count == 3, let data = FileManager.default.contents(atPath: arguments[1]), let port = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: page-ceiling FILE PORT\n".utf8))
    exit(2)
}
let page = ByteBuffer(bytes: data)
let headers: HTTPFields = [.contentType: "application/taxii+json;version=2.1"]
let router = Router()
router.get("/shared") { _, _ in Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: page)) }
router.get("/copied") { _, _ in
    var copy = ByteBuffer()
    copy.reserveCapacity(page.readableBytes)
    copy.writeImmutableBuffer(page)
    return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: copy))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
