/// Many reports merged: one table per interface, rows = kernels (× pmem mode), columns = memory
/// kinds, cells = `rw / ro` each ✔ pinned, ✘ errno, ! contradicts the expectation (prefix),
/// ? not exercised, – skipped. Simulated reports never mix with real ones (`Report.isSimulated`).
///
/// Reports come from other hosts and are not trusted: what they say is capped at `fieldLimit`
/// bytes per field (`Entry`) and escaped in every Markdown cell (`MarkdownCell`), so no report
/// can break a table or make the output larger than O(probes). Reports without probes add
/// nothing; with none left, there is no output at all. `Merge` decides about repeats.
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
    /// `devdax-kmem`: `migrated` or `in-place` (the page frames before and after the pin).
    public var placement: FramePlacement.Placement?
    enum CodingKeys: String, CodingKey {
      case kernel, lab, pmem, host, interface, kind, access, outcome, verdict, unsafe, simulated, placement
      case errnoName = "errno_name"
    }
  }

  /// Some reports are simulated and some real (`Merge.Conflict.mixed` names them).
  public struct MixedReports: Error, CustomStringConvertible {
    public var description: String { "cannot merge simulated (fake backend) reports with real ones: merge each kind separately" }
  }

  /// The reports that have probes, oldest kernel first (then release, pmem mode, host).
  public let entries: [Entry]
  public let simulated: Bool

  /// - Throws: `MixedReports` when some reports are simulated (`Report.isSimulated`) and some
  ///   are real.
  public init(reports: [Report]) throws {
    try self.init(entries: reports.map { Entry($0) })
  }

  /// Reports with no probes are dropped: they have no cell to show.
  public init(entries: [Entry]) throws {
    let kinds = Set(entries.map(\.simulated))
    guard kinds.count <= 1 else { throw MixedReports() }
    self.entries = entries.filter { !$0.cells.isEmpty }.sorted { a, b in
      let (ia, ib) = (a.identity, b.identity)
      return (a.version ?? KernelVersion(0, 0), ia.release, ia.pmem ?? "", ia.host ?? "")
        < (b.version ?? KernelVersion(0, 0), ib.release, ib.pmem ?? "", ib.host ?? "")
    }
    simulated = kinds.first ?? false
  }

  /// `release · pmem` for a lab report, `release · host` otherwise; each part escaped.
  func rowLabel(_ e: Entry) -> String {
    let i = e.identity
    return [i.release, i.pmem, i.labKernel == nil ? i.host : nil].compactMap { $0 }.map(MarkdownCell.escape).joined(separator: " · ")
  }

  static func symbol(_ p: Entry.Cell?) -> String {
    guard let p else { return "" }
    let base: String
    switch p.outcome {
    case .pinned: base = "✔"
    case .refused: base = "✘ " + MarkdownCell.escape(p.errnoName ?? "")
    case .notExercised: base = "?"
    case .waited: base = "waited"
    case .completed: base = "completed"
    case .onDemand: base = "~"
    default: base = "–"
    }
    if let f = p.frames, p.outcome == .pinned { return (p.verdict == .fail ? "!" : "") + base + " " + f.placement.rawValue }
    if p.unsafe == true { return "!UNSAFE " + base }
    return p.verdict == .fail ? "!" + base : base
  }

  /// The tables; empty when no report has a probe.
  public func markdown() -> String {
    guard !entries.isEmpty else { return "" }
    var out = ["# daxpin compatibility matrix\(simulated ? " (SIMULATED: fake backend)" : "")", ""]
    let hosts = Set(entries.compactMap(\.identity.host))
    out.append("\(entries.count) report\(entries.count == 1 ? "" : "s") from \(hosts.count) host\(hosts.count == 1 ? "" : "s"). Cells: `rw / ro`; ✔ pinned (devdax-kmem: `migrated` out of ZONE_MOVABLE or `in-place`), ✘ refused with errno, ! contradicts the expectation, ? not exercised (no IOMMU domain), ~ registered on demand (RDMA ODP: no pin), – skipped (absent here); truncate-held: `waited` for the held page or `completed` while it was held.")
    for interface in Interface.allCases {
      let rows = entries.filter { e in e.cells.contains { $0.interface == interface && $0.outcome != .unsupported } }
      out += ["", "## \(interface.rawValue)", ""]
      if rows.isEmpty {
        out.append("Not available on any kernel here.")
        continue
      }
      out.append("| kernel | " + MemoryKind.allCases.map(\.rawValue).joined(separator: " | ") + " |")
      out.append("|---|" + MemoryKind.allCases.map { _ in "---" }.joined(separator: "|") + "|")
      for e in rows {
        let byID = Dictionary(e.cells.map { ($0.probeID, $0) }, uniquingKeysWith: { a, _ in a })
        let cells = MemoryKind.allCases.map { kind in
          Access.allCases.map { Self.symbol(byID[ProbeID(interface, kind, $0)]) }.joined(separator: " / ")
        }
        out.append("| \(rowLabel(e)) | " + cells.joined(separator: " | ") + " |")
      }
    }
    out += framesTable()
    return out.joined(separator: "\n") + "\n"
  }

  /// `devdax-kmem`: each pinned cell's first page frame, node and zone before and after the pin.
  func framesTable() -> [String] {
    let rows = entries.flatMap { e in e.cells.compactMap { c in c.frames.map { (e, c, $0) } } }
    guard !rows.isEmpty else { return [] }
    var out = ["", "## devdax-kmem page frames", "", "| kernel | probe | before | after | pages moved | in ZONE_MOVABLE before → after |", "|---|---|---|---|---|---|"]
    func sample(_ s: FrameSample) -> String {
      let pfn = s.pfn.map { "0x" + String($0, radix: 16) } ?? "?"
      return MarkdownCell.escape("\(pfn) node \(s.node.map(String.init) ?? "?") \(s.zone ?? "?")")
    }
    for (e, c, f) in rows {
      out.append(
        "| \(rowLabel(e)) | \(c.interface.rawValue).\(c.access.rawValue) | \(sample(f.before)) | \(sample(f.after)) | \(f.moved)/\(f.pages) | \(f.movableBefore) → \(f.movableAfter)\(c.verdict == .fail ? " !" : "") |")
    }
    return out
  }

  /// One row per probe of every report: the `--jsonl` lines.
  public var rows: [Row] {
    entries.flatMap { e in
      e.cells.map { c in
        Row(
          kernel: e.identity.release, lab: e.identity.labKernel, pmem: e.identity.pmem, host: e.identity.host, interface: c.interface,
          kind: c.kind, access: c.access, outcome: c.outcome, errnoName: c.errnoName, verdict: c.verdict, unsafe: c.unsafe,
          simulated: e.simulated ? true : nil, placement: c.frames?.placement)
      }
    }
  }

  /// One compact JSON object per line; empty when no report has a probe.
  public func jsonLines() throws -> String {
    try rows.map { try ReportJSON.encodeLine($0) + "\n" }.joined()
  }
}
