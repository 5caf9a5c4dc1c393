import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MeridianServer
import Mustache
import NIOCore
import STIX
import Storage

/// The analysts' web pages under `/ui/` (docs/UI.md): server-rendered HTML, no scripts, signed in with the node's
/// accounts. Every object shown, counted or linked by name is read through `MeridianNode.read` as the signed-in user.
///
/// A sign-in session is a token of kind `session` (`meridian token list` shows it, `token revoke` ends it) whose text
/// is the `HttpOnly`, `SameSite=Strict` cookie `mrd_session`; it expires after ``sessionSeconds``. Every form carries a
/// CSRF token: for a signed-in user an HMAC of the session's secret, for the sign-in form a random value also set as
/// a cookie (double submit). A POST whose token does not match is refused with 403 and does nothing.
public struct WebUI: NodeSurface {
    let node: MeridianNode
    let templates: MustacheLibrary
    /// Whether the node serves TLS, so cookies are marked `Secure`.
    let secureCookies: Bool
    let logger = Logger(label: "meridian.ui")

    public static let sessionSeconds: Int64 = 8 * 3600
    static let sessionCookie = "mrd_session"
    static let loginCookie = "mrd_login"
    /// The largest form body read (sign-in, notes); larger ones get 413.
    static let maxFormBytes = 64 << 10

    /// `secureCookies`: the node serves HTTPS, so cookies are sent over it only.
    public init(node: MeridianNode, secureCookies: Bool) throws {
        self.node = node
        self.templates = try Templates.library()
        self.secureCookies = secureCookies
    }

    public func register(on router: Router<MeridianRequestContext>) {
        router.get("/ui/static/style.css") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/css; charset=utf-8"
            headers[.cacheControl] = "public, max-age=3600"
            headers[.xContentTypeOptions] = "nosniff"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: Templates.style)))
        }
        router.get("/ui/login") { request, context in await signInForm(request, context) }
        router.post("/ui/login") { request, context in await signIn(request, context) }
        router.post("/ui/logout") { request, context in
            await page(request, context) { session in
                try await requireCSRF(request, session)
                if let token = APIToken(session.token) { try await node.accounts.removeToken(token.id) }
                try await node.audit.record(AuditTrail.event("ui.sign-out", by: session.principal, [:]))
                var response = redirect("/ui/login")
                response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.sessionCookie, "", maxAge: 0)))
                return response
            }
        }
        router.get("/ui/") { request, context in
            if !request.uri.path.hasSuffix("/") { return redirect("/ui/") }
            return await page(request, context) { session in try await home(session) }
        }
        router.get("/ui/collections/") { request, context in
            await page(request, context) { session in try collections(session) }
        }
        router.get("/ui/collections/:collection/") { request, context in
            await page(request, context) { session in
                try await collection(context.parameters.require("collection"), query: Form.query(request), session)
            }
        }
        router.get("/ui/objects/:object") { request, context in
            await page(request, context) { session in
                try await object(context.parameters.require("object"), query: Form.query(request), session)
            }
        }
        router.get("/ui/matrices/") { request, context in
            await page(request, context) { session in try await matrices(session) }
        }
        router.get("/ui/matrices/:matrix") { request, context in
            await page(request, context) { session in try await matrix(context.parameters.require("matrix"), session) }
        }
        router.post("/ui/objects/:object/consult") { request, context in
            await page(request, context) { session in try await consult(context.parameters.require("object"), request, session) }
        }
        router.get("/ui/report/") { request, context in
            await page(request, context) { session in reports(session) }
        }
        router.get("/ui/report/:kind") { request, context in
            await page(request, context) { session in try await reportForm(context.parameters.require("kind"), session) }
        }
        router.post("/ui/report/:kind") { request, context in
            await page(request, context) { session in try await fileReport(context.parameters.require("kind"), request, session) }
        }
        router.get("/ui/upload") { request, context in
            await page(request, context) { session in try await uploadForm(session) }
        }
        router.post("/ui/upload") { request, context in
            await page(request, context) { session in try await upload(request, session) }
        }
        router.get("/ui/search") { request, context in
            await page(request, context) { session in try await search(Form.query(request), session) }
        }
    }

    // MARK: - Sessions

    /// A signed-in user: who, with which session token, and the CSRF token of their forms.
    struct Session {
        let principal: Principal
        let token: String
        let csrf: String

        init(principal: Principal, token: String) {
            self.principal = principal
            self.token = token
            csrf = WebUI.csrfToken(for: token)
        }
    }

    static func csrfToken(for sessionToken: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("meridian-ui-csrf".utf8), using: SymmetricKey(data: Data(sessionToken.utf8)))
        return Data(mac).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether two secrets are equal, in time that depends only on their lengths.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    func cookie(_ name: String, _ value: String, maxAge: Int64) -> String {
        "\(name)=\(value); Path=/ui; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secureCookies ? "; Secure" : "")
    }

    static func cookies(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for field in request.headers[values: .cookie] {
            for pair in field.split(separator: ";") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { continue }
                out[kv[0].trimmingCharacters(in: .whitespaces)] = kv[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return out
    }

    /// The session of the request's cookie, or nil (none, expired, revoked, or its user disabled or removed).
    func session(_ request: Request, _ context: MeridianRequestContext) async -> Session? {
        guard let token = Self.cookies(request)[Self.sessionCookie], let parsed = APIToken(token),
            let stored = try? await node.accounts.token(parsed.id), stored.isSession,
            let principal = try? await node.authenticator.principal(authorization: "Bearer \(token)", from: context.clientAddress),
            !principal.isAnonymous
        else { return nil }
        return Session(principal: principal, token: token)
    }

    func requireCSRF(_ request: Request, _ session: Session) async throws {
        let form = try await Form.body(request)
        guard let presented = form["csrf"], Self.equal(presented, session.csrf) else { throw PageError.forgedForm }
    }

    // MARK: - Sign-in

    func signInForm(_ request: Request, _ context: MeridianRequestContext, error: String? = nil, username: String = "",
                    status: HTTPResponse.Status = .ok) async -> Response {
        if error == nil, await session(request, context) != nil { return redirect("/ui/") }
        let nonce = Self.randomHex(32)
        var values: [String: Any] = ["csrf": nonce, "username": username]
        if let error { values["error"] = error }
        var response = html(render("login", values, title: "Sign in", session: nil),
                            status: status)
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.loginCookie, nonce, maxAge: 3600)))
        return response
    }

    func signIn(_ request: Request, _ context: MeridianRequestContext) async -> Response {
        let address = context.clientAddress
        let form: [String: String]
        do {
            form = try await Form.body(request)
        } catch {
            return errorPage(error as? PageError ?? .badForm("the form could not be read"), session: nil)
        }
        let username = form["username"] ?? ""
        guard let nonce = Self.cookies(request)[Self.loginCookie], let presented = form["csrf"], Self.equal(nonce, presented) else {
            return errorPage(.forgedForm, session: nil)
        }
        guard !username.isEmpty, let password = form["password"], !password.isEmpty else {
            return await signInForm(request, context, error: "Give a user name and a password.", username: username, status: .badRequest)
        }
        do {
            try await node.limiter.admit(address: address, presenting: username)
        } catch {
            var response = await signInForm(request, context, error: "Too many attempts: \(error.reason). Try again in \(error.retryAfter) seconds.",
                                            username: username, status: .tooManyRequests)
            response.headers[.retryAfter] = String(error.retryAfter)
            return response
        }
        let basic = "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        do {
            let principal = try await node.authenticator.principal(authorization: basic, from: address)
            guard let user = principal.user else { throw PageError.internal }
            await node.limiter.signInSucceeded(name: username, address: address)
            let token = try await APIToken.issue(for: user, in: node.accounts, expiresAt: SQLiteObjectStore.now() + Self.sessionSeconds * 1_000_000,
                                                 isSession: true)
            try await node.audit.record(AuditTrail.event("ui.sign-in", by: principal, ["address": .string(address)]))
            var response = redirect("/ui/")
            response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.sessionCookie, token, maxAge: Self.sessionSeconds)))
            response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.loginCookie, "", maxAge: 0)))
            return response
        } catch let refused as Authenticator.Refused {
            logger.warning("sign-in refused", metadata: ["attempted": "\(refused.attempted)", "address": "\(address)"])
            await node.limiter.signInFailed(name: username, address: address)
            return await signInForm(request, context, error: "Sign-in failed: the user name or the password is wrong, or the account is disabled.",
                                    username: username, status: .unauthorized)
        } catch {
            logger.error("sign-in failed: \(String(describing: type(of: error)))")
            return errorPage(.internal, session: nil)
        }
    }

    // MARK: - Pages

    /// Answers a page for a signed-in user: limits applied, the configuration refreshed, the session checked (else
    /// to the sign-in page), then `handler`; any failure as an error page with its status.
    func page(_ request: Request, _ context: MeridianRequestContext, _ handler: (Session) async throws -> Response) async -> Response {
        let address = context.clientAddress
        do {
            try await node.limiter.admit(address: address)
        } catch {
            return errorPage(.tooManyRequests(error.reason, retryAfter: error.retryAfter), session: nil)
        }
        var signedIn: Session?
        do {
            try await node.refreshConfiguration()
            guard let session = await session(request, context) else {
                var response = redirect("/ui/login")
                if Self.cookies(request)[Self.sessionCookie] != nil {
                    response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.sessionCookie, "", maxAge: 0)))
                }
                return response
            }
            signedIn = session
            let account = "\(session.principal.org ?? "")\u{1}\(session.principal.user ?? "")"
            do {
                try await node.limiter.admit(account: account, signedInAs: session.principal.user, from: address)
            } catch {
                throw PageError.tooManyRequests(error.reason, retryAfter: error.retryAfter)
            }
            do {
                let response = try await handler(session)
                await node.limiter.finish(account: account)
                return response
            } catch {
                await node.limiter.finish(account: account)
                throw error
            }
        } catch let error as PageError {
            return errorPage(error, session: signedIn)
        } catch is MeridianNode.ReadRefused {
            return errorPage(PageError(status: .forbidden, message: "You may not write to that collection."), session: signedIn)
        } catch where StorageError.isDiskFull(error) {
            return errorPage(PageError(status: .serviceUnavailable, message: "The node cannot store anything now (its disk is full); nothing was stored."),
                             session: signedIn)
        } catch {
            logger.error("page failed: \(String(describing: type(of: error)))")
            return errorPage(.internal, session: signedIn)
        }
    }

    func render(_ template: String, _ values: [String: Any], title: String, session: Session?, query: String = "") -> String {
        let content = templates.render(values, withTemplate: template) ?? ""
        var layout: [String: Any] = ["title": title, "node": node.configuration.node.title, "content": content, "query": query]
        if let session {
            layout["user"] = ["name": session.principal.user ?? "", "org": orgName(session.principal.org), "csrf": session.csrf]
        }
        return templates.render(layout, withTemplate: "layout") ?? ""
    }

    func html(_ page: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        // No script runs on these pages: none is served, and the policy forbids any that an object might smuggle in.
        headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
    }

    func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    func errorPage(_ error: PageError, session: Session?) -> Response {
        var response = html(render("error", ["status": Int(error.status.code), "reason": error.status.reasonPhrase, "message": error.message],
                                   title: error.status.reasonPhrase, session: session), status: error.status)
        if let retryAfter = error.retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    func orgName(_ id: String?) -> String {
        guard let id else { return "" }
        return node.configuration.orgs.first { $0.id == id }?.name ?? id
    }

    static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// Why a page could not be shown: the status and a message for the person reading it.
struct PageError: Error {
    let status: HTTPResponse.Status
    let message: String
    var retryAfter: Int? = nil

    static let notFound = PageError(status: .notFound, message: "There is no such page or object here, or you may not see it.")
    static let forgedForm = PageError(status: .forbidden, message: "The form was refused: it did not carry this session's security token. Reload the page and send it again.")
    static let `internal` = PageError(status: .internalServerError, message: "The node could not complete the request.")
    static func badForm(_ message: String) -> PageError { PageError(status: .badRequest, message: message) }
    static func tooManyRequests(_ reason: String, retryAfter: Int?) -> PageError {
        PageError(status: .tooManyRequests, message: "Too many requests: \(reason).", retryAfter: retryAfter)
    }
}

/// Query strings and `application/x-www-form-urlencoded` bodies.
enum Form {
    static func query(_ request: Request) throws -> [String: String] {
        try decode(request.uri.query ?? "")
    }

    static func body(_ request: Request) async throws -> [String: String] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: WebUI.maxFormBytes)
        } catch {
            throw PageError(status: .contentTooLarge, message: "The form is larger than \(WebUI.maxFormBytes / 1024) KiB.")
        }
        // An empty body is an empty form, whatever its type says.
        guard buffer.readableBytes > 0 else { return [:] }
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
            throw PageError(status: .unsupportedMediaType, message: "The form must be sent as application/x-www-form-urlencoded.")
        }
        return try decode(String(buffer: buffer))
    }

    /// Names and values percent-decoded (`+` is a space); a repeated name keeps its first value.
    static func decode(_ text: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = unescape(kv[0]), let value = kv.count > 1 ? unescape(kv[1]) : "" else {
                throw PageError.badForm("The form or query is not valid percent-encoded UTF-8.")
            }
            if out[name] == nil { out[name] = value }
        }
        return out
    }

    /// `+` as a space and `%XX` as a byte; nil for a `%` without two hex digits or bytes that are not UTF-8.
    static func unescape(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var i = text.utf8.startIndex
        let utf8 = text.utf8
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while i < utf8.endIndex {
            let b = utf8[i]
            if b == UInt8(ascii: "%") {
                let h = utf8.index(after: i)
                guard h < utf8.endIndex, utf8.index(after: h) < utf8.endIndex, let hi = hex(utf8[h]), let lo = hex(utf8[utf8.index(after: h)]) else {
                    return nil
                }
                bytes.append(hi << 4 | lo)
                i = utf8.index(i, offsetBy: 3)
            } else {
                bytes.append(b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
                i = utf8.index(after: i)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
