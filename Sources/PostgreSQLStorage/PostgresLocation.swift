import Foundation
import Logging
import PostgresNIO

/// Where a node's PostgreSQL database is and how to reach it: `[storage]` in meridian.toml, or a
/// `postgresql://user[:password]@host[:port]/database[?sslmode=disable|prefer|require|verify-full]` URL.
///
/// The password is best kept out of the URL (and so out of the configuration file): `passwordFile` names a file that
/// holds it, readable by the node's user alone.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Equatable, CaseIterable {
        /// No TLS (a database on loopback or a Unix socket).
        case disable
        /// TLS when the server offers it.
        case prefer
        /// TLS always, without checking the server's certificate.
        case require
        /// TLS always, with the server's certificate checked against the system's roots and the host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// The most connections this process opens.
    public var poolSize: Int

    public init(host: String, port: Int = 5432, user: String, password: String? = nil, database: String,
                tls: TLSMode = .prefer, poolSize: Int = 16) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
        self.poolSize = poolSize
    }

    /// Why a location cannot be used; the message names the setting and never repeats a password.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Reads a `postgresql://` (or `postgres://`) URL.
    public init(url text: String) throws(Problem) {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            scheme == "postgresql" || scheme == "postgres"
        else {
            throw Problem(description: "the database URL must look like postgresql://user@host:5432/database")
        }
        guard let host = components.host, !host.isEmpty else { throw Problem(description: "the database URL names no host") }
        guard let user = components.user, !user.isEmpty else { throw Problem(description: "the database URL names no user") }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !database.isEmpty, !database.contains("/") else {
            throw Problem(description: "the database URL names no database (postgresql://user@host:5432/DATABASE)")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw Problem(description: "the database URL's port \(port) is not from 1 to 65535")
        }
        var tls = TLSMode.prefer
        var poolSize = 16
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw Problem(description: "the database URL's sslmode must be one of "
                        + TLSMode.allCases.map(\.rawValue).joined(separator: ", "))
                }
                tls = mode
            case "pool_size":
                guard let n = item.value.flatMap(Int.init), (1...1000).contains(n) else {
                    throw Problem(description: "the database URL's pool_size must be a number from 1 to 1000")
                }
                poolSize = n
            default:
                throw Problem(description: "the database URL has a parameter '\(item.name)' Meridian does not know (sslmode, pool_size)")
            }
        }
        self.init(host: host, port: components.port ?? 5432, user: user.removingPercentEncoding ?? user,
                  password: components.password.map { $0.removingPercentEncoding ?? $0 }, database: database, tls: tls,
                  poolSize: poolSize)
    }

    /// The URL without its password, for messages and logs.
    public var description: String {
        "postgresql://\(user)@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)"
    }

    /// The settings of one connection, for the check a store makes before it starts its pool.
    /// The TLS configuration of `tls` (nil: no TLS) and whether the connection must use it.
    var tlsConfiguration: (configuration: TLSConfiguration, required: Bool)? {
        var c = TLSConfiguration.makeClientConfiguration()
        switch tls {
        case .disable: return nil
        case .verifyFull: return (c, true)
        case .prefer, .require:
            c.certificateVerification = .none
            return (c, tls == .require)
        }
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tlsSetting: PostgresConnection.Configuration.TLS = try tlsConfiguration.map { tls in
            let context = try NIOSSLContext(configuration: tls.configuration)
            return tls.required ? .require(context) : .prefer(context)
        } ?? .disable
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password,
                                                             database: database, tls: tlsSetting)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    var clientConfiguration: PostgresClient.Configuration {
        let tlsSetting: PostgresClient.Configuration.TLS = tlsConfiguration.map { tls in
            tls.required ? .require(tls.configuration) : .prefer(tls.configuration)
        } ?? .disable
        var configuration = PostgresClient.Configuration(host: host, port: port, username: user, password: password,
                                                         database: database, tls: tlsSetting)
        configuration.options.maximumConnections = poolSize
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}

extension PostgresLocation {
    /// Creates the database `name` on the server of this location (which must name a database to connect to
    /// first, such as `postgres`) and returns its location: for tests and tools that start from an empty server.
    package func creatingDatabase(_ name: String, logger: Logger = Logger(label: "meridian.postgresql")) async throws -> PostgresLocation {
        precondition(name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }, "a plain database name")
        let connection = try await PostgresConnection.connect(configuration: connectionConfiguration(), id: 0, logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        var created = self
        created.database = name
        return created
    }
}
