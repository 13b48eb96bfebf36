/// `daxpin bench` as a table: one row per interface × memory, then each reduction and skip
/// reason under the table.
public enum BenchText {
  public static func render(_ report: BenchReport) -> String {
    var out = ""
    if report.simulated == true { out += "SIMULATED: fake backend; the figures are not a kernel's\n" }
    out += "daxpin bench: kernel \(report.kernel) on \(report.host.hostname ?? "?"), \(ByteCount(report.requestedBytes)) asked, "
    out += "\(report.iterations) timed rounds of pin + unpin per cell\n"
    let header = ["interface", "memory", "size", "GiB/s", "pin median", "pin p99", "unpin median", "status"]
    var rows: [[String]] = [header]
    var notes: [String] = []
    var previous: String?
    for r in report.results {
      let id = "\(r.interface.rawValue).\(r.memory.rawValue)"
      var status = r.status.rawValue
      if let name = r.errnoName { status += " \(name)" }
      if let share = r.hugePageShare, r.memory == .thp || share > 0 { status += ", \(percent(share)) huge" }
      rows.append([
        r.interface.rawValue, r.memory.rawValue, r.bytes.map { "\(ByteCount($0))" } ?? "-", r.gibPerSecond.map(gib) ?? "-",
        r.pinNs.map { duration($0.median) } ?? "-", r.pinNs.map { duration($0.p99) } ?? "-", r.unpinNs.map { duration($0.median) } ?? "-",
        status,
      ])
      for reduction in r.reductions { notes.append("\(id): \(reduction)") }
      if r.status != .measured, let reason = r.reason {
        let note = "\(reason)" + (r.hint.map { " (hint: \($0))" } ?? "")
        // An interface that could not be opened says so once for all its memories.
        let whole = "\(r.interface.rawValue).*: \(note)"
        if notes.last == whole { continue }
        if let last = notes.last, last == "\(r.interface.rawValue).\(previous ?? ""): \(note)" {
          notes[notes.count - 1] = whole
        } else {
          notes.append("\(id): \(note)")
        }
      }
      previous = r.memory.rawValue
    }
    let widths = header.indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
    for row in rows {
      var line = ""
      for (i, cell) in row.enumerated() {
        let pad = String(repeating: " ", count: widths[i] - cell.count)
        // Text left, figures right.
        line += i < 2 || i == row.count - 1 ? cell + pad : pad + cell
        if i < row.count - 1 { line += "  " }
      }
      out += line.trimmingTrailingSpaces() + "\n"
    }
    for n in notes { out += "  \(n)\n" }
    let s = report.summary
    out += "\(s.measured) measured, \(s.refused) refused, \(s.skipped) skipped, \(s.failed) failed\n"
    return out
  }

  static func gib(_ v: Double) -> String { fixed(v, v < 10 ? 2 : 1) }
  static func percent(_ share: Double) -> String { "\(Int((share * 100).rounded()))%" }

  /// `812 ns`, `12.3 µs`, `85.1 ms`, `1.23 s`.
  static func duration(_ ns: UInt64) -> String {
    let v = Double(ns)
    if ns < 1_000 { return "\(ns) ns" }
    if ns < 1_000_000 { return fixed(v / 1e3, 1) + " µs" }
    if ns < 1_000_000_000 { return fixed(v / 1e6, 1) + " ms" }
    return fixed(v / 1e9, 2) + " s"
  }

  /// `v` with `digits` decimals, without Foundation's formatting.
  static func fixed(_ v: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let n = Int((v * scale).rounded())
    let whole = n / Int(scale)
    let frac = String(n % Int(scale))
    return digits == 0 ? "\(whole)" : "\(whole)." + String(repeating: "0", count: digits - frac.count) + frac
  }
}

extension String {
  fileprivate func trimmingTrailingSpaces() -> String {
    var s = Substring(self)
    while s.last == " " { s = s.dropLast() }
    return String(s)
  }
}
