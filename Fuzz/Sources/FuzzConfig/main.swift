import FuzzSupport
import MeridianServer

// The configuration reader (TOML, then the strict shape and the rules) on arbitrary text: a configuration is accepted
// or refused with a problem naming the line, never a crash.
fuzz { bytes in
    guard let text = text(bytes) else { return }
    _ = try? NodeConfiguration.parse(text)
}
