extension Matrix {
  /// The longest host name, kernel release, lab kernel, pmem mode or errno name a matrix keeps,
  /// in UTF-8 bytes. These are repeated on every row (every `--jsonl` line), so a report with a
  /// 50 MB host name must not make the output 50 MB × probes. Linux allows 64 bytes for a host
  /// name or release (`struct utsname`), so real reports are never cut.
  public static let fieldLimit = 256

  /// One report reduced to what the matrix shows: which kernel (and lab pmem mode) on which
  /// host, and one cell per probe. Strings are capped at `fieldLimit` bytes (`…` marks a cut),
  /// and nothing else of the report is kept, so the memory a matrix holds is O(probes).
  public struct Entry: Sendable, Equatable {
    /// The host, kernel release, lab kernel and pmem mode: two reports with the same identity
    /// describe the same row of the matrix.
    public struct Identity: Sendable, Hashable {
      public var host: String?
      public var release: String
      public var labKernel: String?
      public var pmem: String?
    }

    /// One probe as the matrix shows it. The report's probe `id` is not kept: a cell is found
    /// by its interface, memory kind and access.
    public struct Cell: Sendable, Equatable {
      public var interface: Interface
      public var kind: MemoryKind
      public var access: Access
      public var outcome: Outcome
      public var errnoName: String?
      public var verdict: Verdict
      public var unsafe: Bool?
      public var probeID: ProbeID { ProbeID(interface, kind, access) }
    }

    public var identity: Identity
    /// The release's leading `major.minor[.patch]`, for sorting.
    public var version: KernelVersion?
    /// `Report.isSimulated`.
    public var simulated: Bool
    public var cells: [Cell]

    public init(_ report: Report) {
      func cap(_ s: String?) -> String? { s?.capped(toBytes: Matrix.fieldLimit) }
      let release = report.kernel.release.capped(toBytes: Matrix.fieldLimit)
      identity = Identity(host: cap(report.host.hostname), release: release, labKernel: cap(report.lab?.kernel), pmem: cap(report.lab?.pmem))
      version = KernelVersion(release: release)
      simulated = report.isSimulated
      cells = report.probes.map { p in
        Cell(
          interface: p.interface, kind: p.memory.kind, access: p.access, outcome: p.outcome, errnoName: cap(p.errnoName), verdict: p.verdict,
          unsafe: p.unsafe ? true : nil)
      }
    }
  }
}
