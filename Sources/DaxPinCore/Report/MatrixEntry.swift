extension Matrix {
  /// The longest host name, kernel release, lab kernel, pmem mode or errno name a matrix keeps,
  /// in UTF-8 bytes. These are repeated on every row (every `--jsonl` line), so a report with a
  /// 50 MB host name must not make the output 50 MB × probes. Linux allows 64 bytes for a host
  /// name or release (`struct utsname`), so real reports are never cut.
  public static let fieldLimit = 256

  /// The longest reason, hint, request, rule basis or path a cell's `Detail` keeps, in UTF-8
  /// bytes. Real reasons are one or two lines.
  public static let detailLimit = 1024

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
      /// The page frames before and after the pin, kept for `devdax-kmem` only (the cells
      /// whose verdict rests on them).
      public var frames: FramePlacement?
      public var probeID: ProbeID { ProbeID(interface, kind, access) }
    }

    /// What a cell shows when it is opened (`daxpin report html`): the request, the errno's
    /// number, the rule and why it applies, how the memory kind was confirmed, the reason and
    /// hint, the pinned size and the duration. Each string is capped at `Matrix.detailLimit`
    /// bytes, so a page stays O(probes) whatever a report says.
    public struct Detail: Sendable, Equatable {
      public var request: String?
      public var errno: Int32?
      public var expectation: Expectation?
      public var mapping: String
      public var size: Int
      public var path: String?
      public var confirmedBy: String?
      public var faulted: String?
      public var reason: String?
      public var hint: String?
      public var pinnedKB: Int?
      public var durationUs: Int?

      init(_ p: ProbeResult) {
        func cap(_ s: String?) -> String? { s?.capped(toBytes: Matrix.detailLimit) }
        request = cap(p.request)
        errno = p.errno
        expectation = p.expectation.map { e in
          Expectation(
            outcome: e.outcome, errno: e.errno, errnoName: e.errnoName?.capped(toBytes: Matrix.fieldLimit), origin: e.origin.capped(toBytes: Matrix.fieldLimit),
            basis: e.basis.capped(toBytes: Matrix.detailLimit))
        }
        mapping = p.memory.mapping.capped(toBytes: Matrix.fieldLimit)
        size = p.memory.size
        path = cap(p.memory.path)
        confirmedBy = cap(p.memory.confirmedBy)
        faulted = p.memory.faulted?.capped(toBytes: Matrix.fieldLimit)
        reason = cap(p.reason)
        hint = cap(p.hint)
        pinnedKB = p.pinnedKB
        durationUs = p.durationUs
      }
    }

    public var identity: Identity
    /// The release's leading `major.minor[.patch]`, for sorting.
    public var version: KernelVersion?
    /// `Report.isSimulated`.
    public var simulated: Bool
    public var cells: [Cell]
    /// One per cell, in the same order, when the entry was made with `details: true`; nil
    /// otherwise (the Markdown matrix and `--jsonl` do not need them). `Merge` compares cells
    /// only, so details never make two copies of a report differ.
    public var details: [Detail]?

    /// - Parameter details: also keep each probe's `Detail` (for the HTML page).
    public init(_ report: Report, details keepDetails: Bool = false) {
      func cap(_ s: String?) -> String? { s?.capped(toBytes: Matrix.fieldLimit) }
      let release = report.kernel.release.capped(toBytes: Matrix.fieldLimit)
      identity = Identity(host: cap(report.host.hostname), release: release, labKernel: cap(report.lab?.kernel), pmem: cap(report.lab?.pmem))
      version = KernelVersion(release: release)
      simulated = report.isSimulated
      cells = report.probes.map { p in
        Cell(
          interface: p.interface, kind: p.memory.kind, access: p.access, outcome: p.outcome, errnoName: cap(p.errnoName), verdict: p.verdict,
          unsafe: p.unsafe ? true : nil, frames: p.memory.kind == .devdaxKmem ? p.frames : nil)
      }
      details = keepDetails ? report.probes.map(Detail.init) : nil
    }
  }
}
