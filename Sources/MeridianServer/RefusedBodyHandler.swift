import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Ends a connection once it has answered a request whose body the server will not read (413: too large; 408: too
/// slow), instead of reading the rest of that body however long it is. After the answer it closes its side for
/// writing, so the client sees the end of the answer, and discards what the client still sends for a short while
/// (a lingering close: closing at once would reset the connection and could destroy the answer before the client
/// reads it); then it closes the connection.
final class RefusedBodyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// How long what the client still sends is read and discarded before the connection is closed.
    static let linger = TimeAmount.seconds(2)

    private var refusing = false
    private var closing = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Once the answer is on its way, nothing more of the request reaches the server.
        if closing { return }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            refusing = response.status.code == 413 || response.status.code == 408
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard refusing else {
                context.write(data, promise: promise)
                return
            }
            closing = true
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: written)
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.futureResult.whenComplete { _ in
                let context = loopBound.value
                context.close(mode: .output, promise: nil)
                context.eventLoop.assumeIsolated().scheduleTask(in: Self.linger) {
                    context.close(promise: nil)
                }
            }
        }
    }
}
