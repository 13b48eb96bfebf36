/// What changed between two reports: the cells whose outcome or errno differ, in probe-id order
/// (`daxpin report diff OLD NEW`, and the "What changed" section of the HTML page when it shows
/// exactly two kernels). "What did the kernel upgrade change?"
///
/// A verdict that changed while the outcome and errno did not is not a change of the kernel (the
/// rule table moved), so it is not listed. A probe only one report has is a change from or to
/// `absent`. Simulated and real reports are never compared (`Report.isSimulated`), as in the
/// matrix. Both sides are `Matrix.Entry`s: capped, with nothing else of the report kept.
public struct ReportDiff: Sendable, Equatable {
  /// One side of a changed cell: what the kernel did.
  public struct State: Codable, Sendable, Equatable {
    public var outcome: Outcome
    public var errnoName: String?
    public var verdict: Verdict
    public var unsafe: Bool?

    /// `pinned`, `refused EFAULT`, `resource-limited ENOMEM`, `unsupported`.
    public var text: String {
      (errnoName.map { "\(outcome.rawValue) \($0.withVisibleControls)" } ?? outcome.rawValue)
    }
    enum CodingKeys: String, CodingKey {
      case outcome, verdict, unsafe
      case errnoName = "errno_name"
    }
  }

  public struct Change: Codable, Sendable, Equatable {
    public var id: String
    public var interface: Interface
    public var kind: MemoryKind
    public var access: Access
    /// Omitted when only the new report has this probe.
    public var old: State?
    /// Omitted when only the old report has this probe.
    public var new: State?

    /// `vfio-type1v2.pagecache-shared.rw: pinned → refused EFAULT`, and the verdicts when they
    /// changed: `[pass → fail UNSAFE]`.
    public var line: String {
      var s = "\(id): \(old?.text ?? "absent") → \(new?.text ?? "absent")"
      func v(_ st: State?) -> String { st.map { $0.unsafe == true ? "fail UNSAFE" : $0.verdict.rawValue } ?? "-" }
      if v(old) != v(new) { s += " [\(v(old)) → \(v(new))]" }
      return s
    }
  }

  /// Which kernel on which host a side is.
  public struct Side: Codable, Sendable, Equatable {
    public var release: String
    public var host: String?
    public var lab: String?
    public var pmem: String?
    init(_ i: Matrix.Entry.Identity) {
      (release, host, lab, pmem) = (i.release, i.host, i.labKernel, i.pmem)
    }
    /// `6.1.0-50-amd64 (lab debian-6.1, memmap) on host`, one line.
    public var label: String {
      var s = release
      if let lab { s += " (lab \(lab)\(pmem.map { ", \($0)" } ?? ""))" }
      if let host { s += " on \(host)" }
      return s.withVisibleControls
    }
  }

  public static let schemaName = "daxpin/diff"

  public var old: Side
  public var new: Side
  public var simulated: Bool
  /// Probes in either report.
  public var compared: Int
  public var changes: [Change]

  /// - Throws: `Matrix.MixedReports` when one report is simulated and the other real.
  public init(old: Matrix.Entry, new: Matrix.Entry) throws(Matrix.MixedReports) {
    guard old.simulated == new.simulated else { throw Matrix.MixedReports() }
    self.old = Side(old.identity)
    self.new = Side(new.identity)
    simulated = old.simulated
    func index(_ e: Matrix.Entry) -> [ProbeID: Matrix.Entry.Cell] {
      Dictionary(e.cells.map { ($0.probeID, $0) }, uniquingKeysWith: { a, _ in a })
    }
    let (a, b) = (index(old), index(new))
    let ids = Set(a.keys).union(b.keys).sorted()
    compared = ids.count
    func state(_ c: Matrix.Entry.Cell?) -> State? {
      c.map { State(outcome: $0.outcome, errnoName: $0.errnoName, verdict: $0.verdict, unsafe: $0.unsafe) }
    }
    changes = ids.compactMap { id in
      let (x, y) = (a[id], b[id])
      if let x, let y, x.outcome == y.outcome, x.errnoName == y.errnoName { return nil }
      return Change(id: id.description, interface: id.interface, kind: id.kind, access: id.access, old: state(x), new: state(y))
    }
  }

  public var changed: Bool { !changes.isEmpty }

  /// The text form: which kernels, one line per changed cell, a count.
  public func text() -> String {
    var lines: [String] = []
    if simulated { lines.append("SIMULATED: fake backend reports, not a real kernel's answers") }
    lines.append("old: \(old.label)")
    lines.append("new: \(new.label)")
    lines += changes.map(\.line)
    lines.append(
      changed
        ? "\(changes.count) of \(compared) cell\(compared == 1 ? "" : "s") changed"
        : "no cell changed (\(compared) compared)")
    return lines.joined(separator: "\n") + "\n"
  }

  enum CodingKeys: String, CodingKey {
    case schema, old, new, simulated, compared, changes
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(Self.schemaName, forKey: .schema)
    try c.encode(old, forKey: .old)
    try c.encode(new, forKey: .new)
    if simulated { try c.encode(true, forKey: .simulated) }
    try c.encode(compared, forKey: .compared)
    try c.encode(changes, forKey: .changes)
  }
}

extension ReportDiff: Encodable {}
