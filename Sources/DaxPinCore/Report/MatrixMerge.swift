extension Matrix {
  /// Reports added one at a time, each named by where it came from, before they become one
  /// matrix: what `daxpin report matrix` does with a report it has already seen.
  ///
  /// - A report that *repeats* an earlier one is counted once (`Outcome.repeats`): the same
  ///   identity (host, kernel release, lab kernel and pmem mode) and the same cells in the same
  ///   order, i.e. the same `--jsonl` lines. That is the same file given twice, a copy of it, or
  ///   a rerun that found exactly the same. Fields the matrix does not show (timings, inventory,
  ///   reasons) are not compared.
  /// - A report with the identity of an earlier one but other cells is an error
  ///   (`Conflict.disagrees`): the matrix has one row for that kernel on that host, and daxpin
  ///   will not pick one of two answers. Merge only the report you trust.
  /// - Simulated and real reports never mix (`Conflict.mixed`, `Report.isSimulated`).
  /// - A report with no probes adds nothing (`Outcome.empty`).
  public struct Merge: Sendable {
    public enum Outcome: Sendable, Equatable {
      case added
      /// Same identity and cells as the report that came from this path: counted once.
      case repeats(String)
      /// No probes, so no cell to show.
      case empty
    }

    public enum Conflict: Error, Sendable, Equatable, CustomStringConvertible {
      /// The report from `path` is simulated (or real, `simulated: false`); the one from
      /// `other` is the opposite.
      case mixed(path: String, simulated: Bool, other: String)
      /// The reports from `path` and `other` have one identity (`label`) but differ, first at
      /// `probe` (a probe id, or the number of probes).
      case disagrees(path: String, other: String, label: String, probe: String)

      public var description: String {
        switch self {
        case .mixed(let path, let simulated, let other):
          let (a, b) = simulated ? ("simulated (fake backend)", "real") : ("real", "simulated (fake backend)")
          return "\(RawPath.display(path)) is \(a) but \(RawPath.display(other)) is \(b): cannot merge them, merge each kind separately"
        case .disagrees(let path, let other, let label, let probe):
          return "\(RawPath.display(path)) and \(RawPath.display(other)) both report \(label) but differ at \(probe): merge only one of them"
        }
      }
    }

    /// The reports kept, in the order they were added.
    public private(set) var entries: [Entry] = []
    /// Where each of `entries` came from.
    public private(set) var sources: [String] = []
    private var byIdentity: [Entry.Identity: Int] = [:]
    /// Whether the first report was simulated, and where it came from.
    private var kind: (simulated: Bool, path: String)?

    public init() {}

    public mutating func add(_ report: Report, from path: String) throws(Conflict) -> Outcome {
      try add(Entry(report), from: path)
    }

    public mutating func add(_ entry: Entry, from path: String) throws(Conflict) -> Outcome {
      if let kind, kind.simulated != entry.simulated {
        throw .mixed(path: path, simulated: entry.simulated, other: kind.path)
      }
      kind = kind ?? (entry.simulated, path)
      if entry.cells.isEmpty { return .empty }
      guard let i = byIdentity[entry.identity] else {
        byIdentity[entry.identity] = entries.count
        entries.append(entry)
        sources.append(path)
        return .added
      }
      let first = entries[i]
      if first.cells == entry.cells { return .repeats(sources[i]) }
      let at = zip(first.cells, entry.cells).first { $0 != $1 }.map { a, _ in a.probeID.description }
        ?? "the number of probes (\(entry.cells.count) vs \(first.cells.count))"
      throw .disagrees(path: path, other: sources[i], label: Self.label(entry.identity), probe: at)
    }

    /// `6.1.0-50-amd64 (lab debian-6.1, memmap) on host`, one line.
    static func label(_ i: Entry.Identity) -> String {
      var s = i.release
      if let lab = i.labKernel { s += " (lab \(lab)\(i.pmem.map { ", \($0)" } ?? ""))" }
      if let host = i.host { s += " on \(host)" }
      return s.withVisibleControls
    }
  }
}
