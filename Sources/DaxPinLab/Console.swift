/// What a guest printed on its serial console, taken apart.
public struct LabConsole: Equatable, Sendable {
  /// Sections between `===DAXPIN-BEGIN name===` and `===DAXPIN-END name rc=N===`.
  public var sections: [String: String] = [:]
  public var exitCodes: [String: Int] = [:]
  /// `DAXPIN-LAB-ERROR:` lines from the guest's init.
  public var errors: [String] = []
  public var panicked = false
  public var lines: [String] = []

  public static func parse(_ text: String) -> LabConsole {
    var c = LabConsole()
    var current: String?
    var buffer: [String] = []
    for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
      let line = String(raw.filter { $0 != "\r" })
      c.lines.append(line)
      if line.contains("Kernel panic - not syncing") { c.panicked = true }
      if let r = line.firstRange(of: "DAXPIN-LAB-ERROR: ") { c.errors.append(String(line[r.upperBound...])) }
      if line.hasPrefix("===DAXPIN-BEGIN "), line.hasSuffix("===") {
        current = String(line.dropFirst("===DAXPIN-BEGIN ".count).dropLast(3))
        buffer = []
      } else if let name = current, line.hasPrefix("===DAXPIN-END \(name)") {
        c.sections[name] = buffer.joined(separator: "\n")
        if let rc = line.split(separator: "rc=").last.flatMap({ Int($0.prefix { $0.isNumber }) }) { c.exitCodes[name] = rc }
        current = nil
      } else if current != nil, !isKernelLog(line) {
        buffer.append(line)
      }
    }
    return c
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
