import DaxPinCore
import Foundation
import Testing

/// Real probes sweep dead runs' `.daxpin-*` directories: nested in the serialized
/// ProbeCommandTests so the sweep never takes a directory another probe test planted.
extension ProbeCommandTests {
  /// `daxpin probe --hostname NAME`: the report names the host as the caller does (a fleet's
  /// inventory name), so two hosts whose kernels call themselves alike never merge as one.
  @Suite("daxpin probe --hostname")
  struct ProbeHostnameTests {
    @Test(.enabled(if: isRoot, "probe needs root"))
    func reportsNamedApartMergeAsTwoRows() throws {
      let dir = NSTemporaryDirectory() + "daxpin-hostname-\(getpid())"
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(atPath: dir) }
      var files: [String] = []
      for name in ["node-a", "node-b"] {
        let file = "\(dir)/\(name).json"
        let r = try Run.daxpin(["probe", "--hostname", name, "--interface", "io_uring", "--kind", "anon", "--output", file, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try ReportJSON.decode(Report.self, from: String(contentsOfFile: file, encoding: .utf8))
        #expect(report.host.hostname == name)
        files.append(file)
      }
      let merged = try Run.daxpin(["report", "matrix", "--jsonl"] + files)
      #expect(merged.status == 0, "\(merged.stderr)")
      #expect(merged.stdout.contains("\"node-a\"") && merged.stdout.contains("\"node-b\""))
      let table = try Run.daxpin(["report", "matrix"] + files)
      #expect(table.stdout.contains("node-a") && table.stdout.contains("node-b"))
      #expect(!table.stderr.contains("counted once"), "two named hosts are no repeat")
    }

    @Test func aBadNameIsAUsageError() throws {
      for args in [["--hostname", ""], ["--hostname", "a\nb"], ["--hostname", String(repeating: "x", count: 256)],
                   ["--backend", "fake", "--hostname", "node-a"]] {
        let r = try Run.daxpin(["probe"] + args)
        #expect(r.status == 64, "\(args)")
        #expect(r.stderr.contains("--hostname"), "\(args): \(r.stderr)")
        #expect(r.stdout.isEmpty)
      }
    }
  }
}
