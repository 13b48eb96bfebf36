import DaxPinCore
import Foundation
import Testing

/// docs/bench.schema.json (JSON Schema draft 2020-12) holds every bench report daxpin writes: the
/// fake backend's for every profile, a real `daxpin bench` on this machine's kernel (io_uring
/// needs no device), and a lab guest's (`daxpin lab --bench`, debian-6.12 with VFIO, a fixture
/// from a real run), validated by python3-jsonschema. The schema refuses what daxpin never writes.
@Suite("docs/bench.schema.json")
struct BenchSchemaTests {
  static let schema = repositoryRoot.appendingPathComponent("docs/bench.schema.json").path
  static let labFixture = repositoryRoot.appendingPathComponent("Tests/daxpinTests/Fixtures/lab-bench-debian-6.12-memmap.json").path

  static func object(_ text: String) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  /// `json` with `results[index]` edited by `body`.
  static func editResult(_ json: [String: Any], _ index: Int, _ body: (inout [String: Any]) -> Void) throws -> [String: Any] {
    try MatrixFiles.edit(json, "results", index, body)
  }

  @Test(.enabled(if: External.pythonWithJSONSchema != nil, "python3 with jsonschema is not installed (scripts/setup.sh installs python3-jsonschema)"))
  func everyBenchReportIsValid() throws {
    let files = try MatrixFiles()
    var paths: [String] = []
    for profile in ReportSchemaTests.profiles {
      let r = try Run.daxpin(["bench", "--backend", "fake", "--profile", profile, "--size", "64M", "--iterations", "2", "--json"])
      #expect([0, 1, 4].contains(r.status), "\(profile): \(r.stderr)")
      paths.append(try files.write("fake-\(profile).json", r.stdout))
    }
    // The real kernel: io_uring on anonymous memory, THP and memfd pins on any Linux machine.
    let real = try Run.daxpin(["bench", "--interface", "io_uring", "--size", "8M", "--iterations", "2", "--json"])
    #expect(real.status == 0, "\(real.stderr)")
    let decoded = try ReportJSON.decode(BenchReport.self, from: real.stdout)
    #expect(decoded.backend == .linux && decoded.simulated == nil && decoded.results.contains { $0.status == .measured })
    paths.append(try files.write("real.json", real.stdout))
    paths.append(Self.labFixture)
    let v = try External.validateJSON(schema: Self.schema, files: paths)
    #expect(v.status == 0, "\(v.stdout)")
    #expect(v.stdout.contains("valid \(paths.count)"))
  }

  /// The schema is not vacuous: each edit below makes a report daxpin never writes, and each
  /// must be refused; the unedited report must pass.
  @Test(.enabled(if: External.pythonWithJSONSchema != nil, "python3 with jsonschema is not installed (scripts/setup.sh installs python3-jsonschema)"))
  func schemaRefusesWhatDaxpinNeverWrites() throws {
    let files = try MatrixFiles()
    let good = try Self.object(try String(contentsOfFile: Self.labFixture, encoding: .utf8))
    let results = try #require(good["results"] as? [[String: Any]])
    let measured = try #require(results.firstIndex { $0["status"] as? String == "measured" })
    let skipped = try #require(results.firstIndex { $0["status"] as? String == "skipped" })
    var bad: [(String, [String: Any])] = []
    var json = good
    json["simulated"] = true
    bad.append(("real report marked simulated", json))
    json = good
    json["backend"] = "fake"
    bad.append(("fake report without simulated", json))
    json = good
    json["results"] = NSNull()
    bad.append(("null results", json))
    bad.append(("measured without pin figures", try Self.editResult(good, measured) { $0["pin_ns"] = nil }))
    bad.append(("measured with an errno", try Self.editResult(good, measured) { $0["errno"] = 95; $0["errno_name"] = "EOPNOTSUPP" }))
    bad.append(("errno without its name", try Self.editResult(good, skipped) { $0["errno"] = 95 }))
    bad.append(("skipped without a reason", try Self.editResult(good, skipped) { $0["reason"] = nil }))
    bad.append(("refused without an errno", try Self.editResult(good, skipped) { $0["status"] = "refused" }))
    bad.append(("unknown memory", try Self.editResult(good, measured) { $0["memory"] = "fsdax" }))
    bad.append(("interface bench does not time", try Self.editResult(good, measured) { $0["interface"] = "rdma" }))
    bad.append(("unknown field", try Self.editResult(good, measured) { $0["colour"] = "red" }))
    bad.append(("huge page share above 1", try Self.editResult(good, measured) { $0["huge_page_share"] = 1.5 }))
    try files.expectSchema(Self.schema, refuses: bad, accepts: good)
  }
}
