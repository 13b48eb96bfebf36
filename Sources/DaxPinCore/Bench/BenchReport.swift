/// One run of `daxpin bench` on one host: `schema: "daxpin/bench"`.
public struct BenchReport: Codable, Sendable, Equatable {
  public static let schemaName = "daxpin/bench"
  public static let currentVersion = Report.SchemaVersion(major: 1, minor: 0)

  public struct Summary: Codable, Sendable, Equatable {
    public var measured: Int, refused: Int, skipped: Int, failed: Int
    /// 0 every cell measured, refused or skipped with at least one measured, 1 a cell failed, 4
    /// nothing could be measured.
    public var exitCode: Int32 { failed > 0 ? 1 : measured == 0 ? 4 : 0 }
    enum CodingKeys: String, CodingKey {
      case measured, refused, skipped, failed
      case exitCode = "exit_code"
    }
    public init(measured: Int, refused: Int, skipped: Int, failed: Int) {
      (self.measured, self.refused, self.skipped, self.failed) = (measured, refused, skipped, failed)
    }
    public init(from decoder: any Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      self.init(
        measured: try c.decode(Int.self, forKey: .measured), refused: try c.decode(Int.self, forKey: .refused), skipped: try c.decode(Int.self, forKey: .skipped),
        failed: try c.decode(Int.self, forKey: .failed))
    }
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(measured, forKey: .measured)
      try c.encode(refused, forKey: .refused)
      try c.encode(skipped, forKey: .skipped)
      try c.encode(failed, forKey: .failed)
      try c.encode(exitCode, forKey: .exitCode)
    }
  }

  public var schema: String
  public var schemaVersion: Report.SchemaVersion
  public var tool: Report.Tool
  public var backend: Backend
  /// Written (true) for fake-backend runs only: simulated figures are not the kernel's.
  public var simulated: Bool?
  public var host: Report.Host
  /// The kernel release the figures are for.
  public var kernel: String
  /// `--size` and `--iterations` as asked.
  public var requestedBytes: Int
  public var iterations: Int
  public var results: [BenchResult]
  public var summary: Summary

  public init(toolVersion: String, backend: Backend, host: Report.Host, kernel: String, request: BenchRequest, results: [BenchResult]) {
    schema = Self.schemaName
    schemaVersion = Self.currentVersion
    tool = Report.Tool(name: "daxpin", version: toolVersion)
    self.backend = backend
    simulated = backend == .fake ? true : nil
    self.host = host
    self.kernel = kernel
    requestedBytes = request.size
    iterations = request.iterations
    self.results = results
    summary = Summary(
      measured: results.count { $0.status == .measured }, refused: results.count { $0.status == .refused }, skipped: results.count { $0.status == .skipped },
      failed: results.count { $0.status == .failed })
  }

  enum CodingKeys: String, CodingKey {
    case schema, tool, backend, simulated, host, kernel, iterations, results, summary
    case schemaVersion = "schema_version"
    case requestedBytes = "requested_bytes"
  }
}
