import ArgumentParser
import DaxPinCore
import FoundationEssentials

/// `daxpin report`: work with saved reports.
struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report", abstract: "Merge saved reports.", subcommands: [MatrixCommand.self])

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

    @Argument(help: ArgumentHelp("daxpin/report JSON files.", valueName: "FILE"))
    var files: [String]

    func run() throws {
      var reports: [Report] = []
      for f in files {
        guard let text = try? String(contentsOfFile: f, encoding: .utf8) else { throw Exit.toolFailure("cannot read \(f)") }
        do {
          let r = try ReportJSON.decode(Report.self, from: text)
          guard r.schema == Report.schemaName, r.schemaVersion.major == Report.currentVersion.major else {
            throw Exit.toolFailure("\(f) is \(r.schema) \(r.schemaVersion.major).\(r.schemaVersion.minor), not \(Report.schemaName) \(Report.currentVersion.major).x")
          }
          reports.append(r)
        } catch let e as ExitCode {
          throw e
        } catch {
          throw Exit.toolFailure("\(f) is not a daxpin report: \(Self.describe(error))")
        }
      }
      let matrix: Matrix
      do { matrix = try Matrix(reports: reports) } catch { throw Exit.toolFailure("\(error)") }
      try Stdout.write(jsonl ? try matrix.jsonLines() : matrix.markdown())
    }

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
}
