import SystemPackage

/// One input line as `daxpin explain` answers it: whether it was recognised, what it says, and
/// its causes ranked. JSON: absent facts omitted, `causes` and `distinguish` always arrays.
public struct ExplainedLine: Codable, Sendable, Equatable {
  /// `argument N`, a file's path, or `-`.
  public var input: String
  /// 1-based, within its input.
  public var number: Int
  /// The line as read (at most 64 KiB; bytes that are not UTF-8 replaced by U+FFFD).
  public var line: String
  /// Present, and true, only when the line was longer than 64 KiB and was cut.
  public var truncated: Bool?
  public var recognised: Bool
  /// The recogniser that matched.
  public var source: Recogniser?
  /// The errno the line reports (not one its words merely imply).
  public var errno: Int32?
  public var errnoName: String?
  /// The errno the message's words imply when it reports none (`RLIMIT_MEMLOCK … exceeded`:
  /// ENOMEM).
  public var impliedErrnoName: String?
  /// QEMU's region name (`pc.ram`, `0000:41:00.0 BAR 1 mmaps[0]`).
  public var region: String?
  /// `guest-ram`, `mmio`, or `mmio-guess` (only QEMU's `PCI BAR?`).
  public var memory: FailedMemory?
  /// The words that made `memory` what it is (`region name`, `IOVA 0x100000000, x86 RAM above 4 GiB`).
  public var memoryEvidence: String?
  /// Ranked, most likely first; empty when the line was not recognised.
  public var causes: [RankedCause]
  /// One sentence per ambiguity among the causes: how to tell them apart.
  public var distinguish: [String]
  /// Later lines explained exactly as this one (a retry loop, the same error every second):
  /// how many, counted here instead of each repeating this whole explanation.
  public var sameCount: Int? = nil
  /// Where the first `ExplainSession.namedRepeats` of those lines are (`vm.log:40`).
  public var sameAt: [String]? = nil

  /// The most likely cause.
  public var top: RankedCause? { causes.first }

  /// `argument 2`, `vm.log:17`, `stdin:3`.
  public var location: String { ExplainInput.location(input: input, number: number) }

  enum CodingKeys: String, CodingKey {
    case input, number, line, truncated, recognised, source, errno, region, memory, causes, distinguish
    case errnoName = "errno_name"
    case impliedErrnoName = "implied_errno_name"
    case memoryEvidence = "memory_evidence"
    case sameCount = "same_count"
    case sameAt = "same_at"
  }
}

extension ExplainedLine {
  /// A line no recogniser matched: what it was, and nothing else.
  init(unrecognised line: ExplainInput.Line) {
    self.init(
      input: line.input, number: line.number, line: String(decoding: line.bytes, as: UTF8.self),
      truncated: line.truncated ? true : nil, recognised: false, source: nil, errno: nil, errnoName: nil,
      impliedErrnoName: nil, region: nil, memory: nil, memoryEvidence: nil, causes: [], distinguish: [])
  }
}

/// The `daxpin explain --json` document.
public struct ExplainReport: Codable, Sendable, Equatable {
  public static let schemaName = "daxpin/explain"
  public static let currentVersion = Report.SchemaVersion(major: 1, minor: 1)

  /// The kernel the lines were judged against.
  public struct Kernel: Codable, Sendable, Equatable {
    public var release: String
    /// `major.minor`; omitted when the release cannot be parsed.
    public var version: String?
    /// `running` (this host's kernel) or `option` (`--kernel`).
    public var from: String
    public init(release: String, version: String?, from: String) {
      self.release = release
      self.version = version
      self.from = from
    }
  }

  public struct Summary: Codable, Sendable, Equatable {
    public var lines: Int
    public var recognised: Int
    public var unrecognised: Int
    /// Where the first lines that were not recognised are (`vm.log:17`), at most
    /// `Summary.named` of them.
    public var notRecognised: [String]
    /// 0 when at least one line was recognised, 4 when none was.
    public var exitCode: Int32
    /// How many unrecognised lines the summary names.
    public static let named = 10

    public init(lines: Int, recognised: Int, notRecognised: [String], exitCode: Int32) {
      self.lines = lines
      self.recognised = recognised
      self.unrecognised = lines - recognised
      self.notRecognised = notRecognised
      self.exitCode = exitCode
    }
    enum CodingKeys: String, CodingKey {
      case lines, recognised, unrecognised
      case notRecognised = "not_recognised"
      case exitCode = "exit_code"
    }
  }

  public var schema: String
  public var schemaVersion: Report.SchemaVersion
  public var kernel: Kernel
  public var lines: [ExplainedLine]
  public var summary: Summary

  /// A report of `lines`, every input line among them (a test's, a few arguments').
  public init(kernel: Kernel, lines: [ExplainedLine]) {
    var session = ExplainSession(explainer: Explainer(kernel: nil), keepUnrecognised: true)
    for l in lines { session.add(l) }
    self = session.report(kernel: kernel)
  }

  public init(kernel: Kernel, lines: [ExplainedLine], summary: Summary) {
    schema = Self.schemaName
    schemaVersion = Self.currentVersion
    self.kernel = kernel
    self.lines = lines
    self.summary = summary
  }

  enum CodingKeys: String, CodingKey {
    case schema, kernel, lines, summary
    case schemaVersion = "schema_version"
  }
}
