import STIX

/// A TAXII error resource (§3.6.1) with its HTTP status: the one form every failure takes on the wire.
///
/// Messages name the parameter or rule at fault and never echo object content, tokens or passwords.
public struct TAXIIError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let title: String
    public let errorDescription: String?
    /// Seconds the client should wait before trying again (`Retry-After`), for 429 and 503.
    public var retryAfter: Int? = nil

    public init(status: Int, title: String, description: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.title = title
        self.errorDescription = description
        self.retryAfter = retryAfter
    }

    /// A limit of `[limits]` was reached.
    public static func tooManyRequests(_ reason: String, retryAfter: Int) -> TAXIIError {
        TAXIIError(status: 429, title: "Too many requests", description: "\(reason); retry after \(retryAfter) s", retryAfter: retryAfter)
    }

    public var description: String { "\(status) \(title)" + (errorDescription.map { ": " + $0 } ?? "") }

    /// The error resource's JSON.
    public var json: String {
        var o = JSONObject()
        o["title"] = .string(title)
        if let errorDescription { o["description"] = .string(errorDescription) }
        o["http_status"] = .string(String(status))
        return JSONValue.object(o).serialized()
    }

    public static func badRequest(_ description: String) -> TAXIIError {
        TAXIIError(status: 400, title: "Bad request", description: description)
    }

    public static let unauthorized = TAXIIError(status: 401, title: "Authentication required",
                                                description: "send HTTP Basic credentials or a bearer token")
    /// Credentials were sent but not accepted; which part was wrong is not said (nor whether the user exists).
    public static let refusedCredentials = TAXIIError(status: 401, title: "Credentials refused",
                                                      description: "the credentials sent were not accepted: a wrong user name or password, or a token that is unknown, expired or revoked, or a disabled user")
    public static let forbidden = TAXIIError(status: 403, title: "Forbidden",
                                             description: "your organisation may not perform this operation on this collection")

    /// Used alike for what does not exist and what the caller may not know exists.
    public static let notFound = TAXIIError(status: 404, title: "Not found", description: "no such resource")

    public static let notAcceptable = TAXIIError(status: 406, title: "Not acceptable",
                                                 description: "the Accept header must include application/taxii+json;version=2.1")
    public static func tooLarge(_ max: Int) -> TAXIIError {
        TAXIIError(status: 413, title: "Request too large", description: "the body exceeds max_content_length of \(max) bytes")
    }

    public static let unsupportedMediaType = TAXIIError(status: 415, title: "Unsupported media type",
                                                        description: "the Content-Type must be application/taxii+json;version=2.1")
    public static func unprocessable(_ description: String) -> TAXIIError {
        TAXIIError(status: 422, title: "Unprocessable content", description: description)
    }
}
