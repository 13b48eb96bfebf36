import ArgumentParser
import DaxPinCore
import DaxPinLinux
import FoundationEssentials

/// `daxpin report`: work with saved reports.
struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report", abstract: "Merge, compare and convert saved reports.",
    subcommands: [MatrixCommand.self, HTMLCommand.self, DiffCommand.self, JUnitCommand.self, KTAPCommand.self])

  struct MatrixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "matrix",
      abstract: "Merge reports from hosts and kernels into one matrix (Markdown, or JSON lines).",
      discussion: """
        Example:
          daxpin report matrix lab-out/*.json > matrix.md
          daxpin report matrix --jsonl hostA.json hostB.json
        """)

    @Flag(help: "One JSON object per kernel × pmem × interface × memory kind × access.")
    var jsonl = false

    @Argument(
      help: ArgumentHelp(
        "daxpin/report JSON files (- for standard input; pipes such as <(...) work). A report given twice, or a copy of one, counts once; two reports of one host and kernel that disagree are an error.",
        valueName: "FILE"))
    var files: [String]

    func run() throws {
      let input = ReportFiles(command: "report matrix")
      let merge = try input.merge(files).merge
      let matrix: Matrix
      do { matrix = try Matrix(entries: merge.entries) } catch { throw input.failure("\(error)") }
      try Stdout.write(jsonl ? try matrix.jsonLines() : matrix.markdown())
    }
  }
}

/// Reading saved reports for a `daxpin report` subcommand: each FILE read with a byte cap, decoded,
/// its schema checked, and merged by `Matrix.Merge`'s rules (a repeat counted once with a note,
/// two reports of one host and kernel that disagree an error, simulated and real never mixed).
/// Every problem is one line, `daxpin: report <command>: …`, exit 2.
struct ReportFiles {
  /// `report matrix`, `report html`: how messages begin.
  var command: String

  /// The most bytes read from one FILE: a report is ~150 KB, and a bigger input is refused
  /// before it is decoded, so memory stays bounded whatever the input (even `/dev/zero`).
  static let byteLimit = 64 << 20

  /// The merged entries (with each cell's details when `details`), and the reports kept (the
  /// first of each repeat), in the order given.
  func merge(_ files: [String], details: Bool = false, keepReports: Bool = false) throws -> (merge: Matrix.Merge, reports: [Report]) {
    var merge = Matrix.Merge()
    var reports: [Report] = []
    var given: Set<String> = []
    for path in files {
      // The same argument twice is one input; `-` or a pipe could not be read a second time.
      guard given.insert(path).inserted else {
        note("\(RawPath.display(path).withVisibleControls) repeats \(RawPath.display(path).withVisibleControls); counted once")
        continue
      }
      let report = try load(path)
      do {
        switch try merge.add(Matrix.Entry(report, details: details), from: path) {
        case .repeats(let first): note("\(RawPath.display(path).withVisibleControls) repeats \(RawPath.display(first).withVisibleControls); counted once")
        case .added: if keepReports { reports.append(report) }
        case .empty: break
        }
      } catch {
        throw failure(error.description)
      }
    }
    return (merge, reports)
  }

  /// Reads and decodes one FILE (`-`: standard input), or fails with one line that says why.
  func load(_ path: String) throws -> Report {
    let shown = RawPath.display(path).withVisibleControls
    let bytes: [UInt8]
    switch BoundedRead.read(path, limit: Self.byteLimit) {
    case .success(let b): bytes = b
    case .failure(.errno(let e)): throw failure("\(shown): \(e.name)")
    case .failure(.tooLarge(let limit)): throw failure("\(shown): larger than \(limit >> 20) MiB, not a daxpin report")
    }
    let r: Report
    do {
      r = try ReportJSON.decode(Report.self, from: bytes)
    } catch {
      throw failure("\(shown): not a daxpin report: \(Self.untrusted(Self.describe(error)))")
    }
    guard r.schema == Report.schemaName, r.schemaVersion.major == Report.currentVersion.major else {
      throw failure(
        "\(shown): \(Self.untrusted(r.schema)) \(r.schemaVersion.major).\(r.schemaVersion.minor), not \(Report.schemaName) \(Report.currentVersion.major).x")
    }
    return r
  }

  /// Text taken from the input (a key, a schema name) as it may appear in a message: one line,
  /// at most 512 bytes.
  static func untrusted(_ s: String) -> String { s.capped(toBytes: 512).withVisibleControls }

  /// `daxpin: report <command>: MESSAGE` on stderr, exit 2.
  func failure(_ message: String) -> ExitCode { Exit.toolFailure("\(command): \(message)") }

  /// `daxpin: report <command>: MESSAGE` on stderr; the command goes on.
  func note(_ message: String) { Stderr.line("daxpin: \(command): \(message)") }

  /// A decoding error as one line: what was missing or wrong, and where.
  static func describe(_ error: Error) -> String {
    switch error {
    case DecodingError.keyNotFound(let key, let ctx):
      "missing \"\(key.stringValue)\" at \(path(ctx))"
    case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
      "\(ctx.debugDescription) at \(path(ctx))"
    case DecodingError.dataCorrupted(let ctx):
      ctx.codingPath.isEmpty ? "not valid JSON" : "\(ctx.debugDescription) at \(path(ctx))"
    default: "\(error)"
    }
  }

  static func path(_ ctx: DecodingError.Context) -> String {
    ctx.codingPath.isEmpty ? "the top level" : ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
  }
}
