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

extension ProbeCommandTests {
  /// `daxpin probe --contract-output FILE` (the lab's guest): the misuse answers it writes are the
  /// ones `daxpin contract` prints on the same kernel, and the report still goes to stdout.
  @Suite("daxpin probe --contract-output")
  struct ProbeContractOutputTests {
    @Test(.enabled(if: isRoot, "probe needs root"))
    func writesWhatContractPrints() throws {
      let dir = NSTemporaryDirectory() + "daxpin-contract-\(getpid())"
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let file = dir + "/contract.json"
      let probe = try Run.daxpin(["probe", "--json", "--interface", "io_uring", "--kind", "anon", "--access", "rw", "--contract-output", file])
      #expect(probe.status == 0, "\(probe.stderr)")
      let report = try ReportJSON.decode(Report.self, from: probe.stdout)
      #expect(report.probes.map(\.id) == ["io_uring.anon.rw"])
      let written = try ReportJSON.decode(MisuseAnswers.self, from: String(contentsOfFile: file, encoding: .utf8))
      let contract = try Run.daxpin(["contract"])
      #expect(contract.status == 0, "\(contract.stderr)")
      #expect(!written.isEmpty)
      #expect(written == (try ReportJSON.decode(MisuseAnswers.self, from: contract.stdout)))
    }

    /// A contract file that cannot be written is said and is exit 2, after the report was printed.
    @Test(.enabled(if: isRoot, "probe needs root"))
    func anUnwritableFileIsAToolFailureAfterTheReport() throws {
      let probe = try Run.daxpin(["probe", "--json", "--interface", "io_uring", "--kind", "anon", "--access", "rw", "--contract-output", "/proc/version"])
      #expect(probe.status == 2)
      #expect(probe.stderr.contains("--contract-output"), "\(probe.stderr)")
      #expect((try? ReportJSON.decode(Report.self, from: probe.stdout)) != nil, "the report was printed")
    }
  }
}
