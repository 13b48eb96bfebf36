/// Many reports merged: one table per interface, rows = kernels (× pmem mode), columns = memory
/// kinds, cells = `rw / ro` each ✔ pinned, ✘ errno, ! contradicts the expectation (prefix),
/// ? not exercised, – skipped. Simulated reports never mix with real ones.
public struct Matrix {
  public struct Row: Codable, Sendable, Equatable {
    public var kernel: String
    /// The lab's name for the kernel (`debian-6.1`, `source-7.3`); omitted outside the lab.
    public var lab: String?
    public var pmem: String?
    public var host: String?
    public var interface: Interface
    public var kind: MemoryKind
    public var access: Access
    public var outcome: Outcome
    public var errnoName: String?
    public var verdict: Verdict
    public var unsafe: Bool?
    public var simulated: Bool?
    enum CodingKeys: String, CodingKey {
      case kernel, lab, pmem, host, interface, kind, access, outcome, verdict, unsafe, simulated
      case errnoName = "errno_name"
    }
  }

  public struct MixedReports: Error, CustomStringConvertible {
    public var description: String { "cannot merge simulated (fake backend) reports with real ones: merge each kind separately" }
  }

  public let reports: [Report]
  public let simulated: Bool

  public init(reports: [Report]) throws {
    let kinds = Set(reports.map(\.isSimulated))
    guard kinds.count <= 1 else { throw MixedReports() }
    self.reports = reports.sorted { a, b in
      let va = a.kernel.version2 ?? KernelVersion(0, 0)
      let vb = b.kernel.version2 ?? KernelVersion(0, 0)
      return (va, a.kernel.release, a.lab?.pmem ?? "") < (vb, b.kernel.release, b.lab?.pmem ?? "")
    }
    simulated = kinds.first ?? false
  }

  func rowLabel(_ r: Report) -> String {
    [r.kernel.release, r.lab?.pmem, r.lab == nil ? r.host.hostname : nil].compactMap { $0 }.joined(separator: " · ")
  }

  static func symbol(_ p: ProbeResult?) -> String {
    guard let p else { return "" }
    let base: String
    switch p.outcome {
    case .pinned: base = "✔"
    case .refused: base = "✘ \(p.errnoName ?? "")"
    case .notExercised: base = "?"
    default: base = "–"
    }
    if p.unsafe == true { return "!UNSAFE " + base }
    return p.verdict == .fail ? "!" + base : base
  }

  public func markdown() -> String {
    var out = ["# daxpin compatibility matrix\(simulated ? " (SIMULATED: fake backend)" : "")", ""]
    let hosts = Set(reports.compactMap(\.host.hostname))
    out.append("\(reports.count) report\(reports.count == 1 ? "" : "s") from \(hosts.count) host\(hosts.count == 1 ? "" : "s"). Cells: `rw / ro`; ✔ pinned, ✘ refused with errno, ! contradicts the expectation, ? not exercised (no IOMMU domain), – skipped (absent here).")
    for interface in Interface.allCases {
      let rows = reports.filter { r in r.probes.contains { $0.interface == interface && $0.outcome != .unsupported } }
      out += ["", "## \(interface.rawValue)", ""]
      if rows.isEmpty {
        out.append("Not available on any kernel here.")
        continue
      }
      out.append("| kernel | " + MemoryKind.allCases.map(\.rawValue).joined(separator: " | ") + " |")
      out.append("|---|" + MemoryKind.allCases.map { _ in "---" }.joined(separator: "|") + "|")
      for r in rows {
        let byID = Dictionary(r.probes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let cells = MemoryKind.allCases.map { kind in
          Access.allCases.map { Self.symbol(byID[ProbeID(interface, kind, $0).description]) }.joined(separator: " / ")
        }
        out.append("| \(rowLabel(r)) | " + cells.joined(separator: " | ") + " |")
      }
    }
    return out.joined(separator: "\n") + "\n"
  }

  public var rows: [Row] {
    reports.flatMap { r in
      r.probes.map { p in
        Row(
          kernel: r.kernel.release, lab: r.lab?.kernel, pmem: r.lab?.pmem, host: r.host.hostname, interface: p.interface, kind: p.memory.kind,
          access: p.access, outcome: p.outcome, errnoName: p.errnoName, verdict: p.verdict, unsafe: p.unsafe ? true : nil,
          simulated: r.isSimulated ? true : nil)
      }
    }
  }

  /// One compact JSON object per line.
  public func jsonLines() throws -> String {
    try rows.map { try ReportJSON.encodeLine($0) }.joined(separator: "\n") + "\n"
  }
}
