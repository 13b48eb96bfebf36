import DaxPinCore

/// Reads the machine's own apt configuration to find the Debian mirror it already uses, so the
/// lab can fetch other suites through it without naming a mirror host anywhere in the code.
public enum AptSources {
  /// One `deb` source: its URI and suites.
  public struct Source: Equatable, Sendable {
    public var uri: String
    public var suites: [String]
  }

  /// Sources from a one-line `sources.list` (`deb [opts] URI suite component...`).
  public static func parseList(_ text: String) -> [Source] {
    text.split(separator: "\n").compactMap { raw in
      var line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
      line = line.trimmingCharacters(in: " \t")
      guard line.hasPrefix("deb ") else { return nil }
      var fields = line.dropFirst(4).split(separator: " ", omittingEmptySubsequences: true).map(String.init)
      if fields.first?.hasPrefix("[") == true {
        while let f = fields.first, !f.hasSuffix("]") { fields.removeFirst() }
        if !fields.isEmpty { fields.removeFirst() }
      }
      guard fields.count >= 2 else { return nil }
      return Source(uri: fields[0], suites: [fields[1]])
    }
  }

  /// Sources from deb822 `.sources` stanzas (`Types: deb`, `URIs:`, `Suites:`).
  public static func parseDeb822(_ text: String) -> [Source] {
    var out: [Source] = []
    for stanza in text.split(separator: "\n\n", omittingEmptySubsequences: true) {
      var fields: [String: String] = [:]
      for line in stanza.split(separator: "\n") where !line.hasPrefix("#") {
        guard let colon = line.firstIndex(of: ":") else { continue }
        fields[String(line[..<colon]).lowercased()] = String(line[line.index(after: colon)...]).trimmingCharacters(in: " \t")
      }
      guard fields["types"]?.split(separator: " ").contains("deb") == true, fields["enabled"] != "no",
        let uris = fields["uris"], let suites = fields["suites"]
      else { continue }
      for uri in uris.split(separator: " ") {
        out.append(Source(uri: String(uri), suites: suites.split(separator: " ").map(String.init)))
      }
    }
    return out
  }

  /// The URI serving Debian's main archive: a source whose suites are Debian releases (not
  /// `-security`), preferring one whose path ends in `/debian`.
  public static func debianMirror(in sources: [Source]) -> String? {
    let releases = Set(DebianKernel.allSuites + ["buster", "stable", "testing", "unstable", "oldstable"])
    let candidates = sources.filter { s in
      !s.uri.contains("security") && s.suites.contains { releases.contains($0.split(separator: "-").first.map(String.init) ?? $0) && !$0.hasSuffix("-security") }
    }
    return (candidates.first { $0.uri.hasSuffix("/debian") || $0.uri.hasSuffix("/debian/") } ?? candidates.first)?.uri
  }
}
