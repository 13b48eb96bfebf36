import FoundationEssentials

/// What a guest printed on its serial console, taken apart.
public struct LabConsole: Equatable, Sendable {
  /// Sections between `===DAXPIN-BEGIN name===` and `===DAXPIN-END name rc=N===`. A section
  /// opened as `===DAXPIN-BEGIN name gzip-base64===` holds base64 of gzip; it is decoded here
  /// (and kept as it came when it does not decode, so it fails as JSON).
  public var sections: [String: String] = [:]
  public var exitCodes: [String: Int] = [:]
  /// A gzip-base64 section's bytes as they were in the guest (`sections` holds them as text).
  public var data: [String: [UInt8]] = [:]
  /// The `key=value` words of each section's END line (`rc`, and `bytes`, `timedout` for exec).
  public var endFields: [String: [String: String]] = [:]
  /// `DAXPIN-LAB-ERROR:` lines from the guest's init.
  public var errors: [String] = []
  public var panicked = false
  public var lines: [String] = []

  public static func parse(_ text: String) -> LabConsole {
    var c = LabConsole()
    var current: String?
    var encoding: String?
    var buffer: [String] = []
    for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
      let line = String(raw.filter { $0 != "\r" })
      c.lines.append(line)
      if line.contains("Kernel panic - not syncing") { c.panicked = true }
      if let r = line.firstRange(of: "DAXPIN-LAB-ERROR: ") { c.errors.append(String(line[r.upperBound...])) }
      if line.hasPrefix("===DAXPIN-BEGIN "), line.hasSuffix("===") {
        let words = line.dropFirst("===DAXPIN-BEGIN ".count).dropLast(3).split(separator: " ")
        current = words.first.map(String.init)
        encoding = words.dropFirst().first.map(String.init)
        buffer = []
      } else if let name = current, line.hasPrefix("===DAXPIN-END \(name)") {
        if encoding == "gzip-base64" {
          let bytes = Self.gunzipBase64Bytes(buffer.joined())
          c.data[name] = bytes
          c.sections[name] = bytes.map { String(decoding: $0, as: UTF8.self) } ?? buffer.joined(separator: "\n")
        } else {
          c.sections[name] = buffer.joined(separator: "\n")
        }
        if let rc = line.split(separator: "rc=").last.flatMap({ Int($0.prefix { $0.isNumber }) }) { c.exitCodes[name] = rc }
        var fields: [String: String] = [:]
        for word in line.dropFirst("===DAXPIN-END ".count).split(separator: " ") {
          let w = word.hasSuffix("===") ? word.dropLast(3) : word
          if let eq = w.firstIndex(of: "=") { fields[String(w[..<eq])] = String(w[w.index(after: eq)...]) }
        }
        c.endFields[name] = fields
        current = nil
      } else if current != nil, !isKernelLog(line) {
        buffer.append(line)
      }
    }
    return c
  }

  /// The bytes in base64 of gzip; nil when either layer does not decode.
  static func gunzipBase64Bytes(_ text: String) -> [UInt8]? {
    guard let data = Data(base64Encoded: text.filter { !$0.isWhitespace }) else { return nil }
    return Gzip.decompress([UInt8](data))
  }

  /// `[   12.345678] ...`: a printk line that landed inside a section.
  static func isKernelLog(_ line: String) -> Bool {
    guard line.first == "[", let close = line.firstIndex(of: "]") else { return false }
    let inner = line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: " ")
    return !inner.isEmpty && inner.allSatisfy { $0.isNumber || $0 == "." }
  }

  /// The last `n` lines, for an error report.
  public func tail(_ n: Int = 30) -> String {
    var all = lines[...]
    while all.last?.isEmpty == true { all = all.dropLast() }
    return all.suffix(n).joined(separator: "\n")
  }
}
